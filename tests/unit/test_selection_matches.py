"""A selection (--include/--exclude) that matches no connector is an error on plan and apply,
as on import: a mistyped glob must not plan "No changes" and let a CI deploy pass having done
nothing."""

from __future__ import annotations

from pathlib import Path

from clirun import run


def _setup(tmp_path: Path) -> tuple[str, str]:
    config = tmp_path / "connectors.yaml"
    config.write_text("connectors:\n  svc-a:\n    name: A\n", encoding="utf-8")
    return f"sandbox:{tmp_path / 's.db'}", str(config)


def test_plan_and_apply_refuse_a_selection_that_matches_nothing(tmp_path: Path) -> None:
    url, config = _setup(tmp_path)
    env = {"ADAPTER_API_KEY": None}
    for command in (["plan"], ["apply", "--auto-approve"]):
        result = run(["--api-url", url, *command, config, "--include", "svc-typo*"], env=env)
        assert result.code == 1, result
        assert "--include 'svc-typo*' matches no connector" in result.err
        assert "No changes" not in result.out and "Traceback" not in result.err
    # nothing was created by the refused apply
    assert "1 to create" in run(["--api-url", url, "plan", config], env=env).out


def test_a_selection_matching_a_declared_or_a_live_connector_is_fine(tmp_path: Path) -> None:
    url, config = _setup(tmp_path)
    env = {"ADAPTER_API_KEY": None}
    assert run(["--api-url", url, "plan", config, "--include", "svc-*"], env=env).code == 0
    assert run(["--api-url", url, "apply", "--auto-approve", config], env=env).code == 0
    Path(config).write_text("connectors: {}\n", encoding="utf-8")
    # declared nowhere now, but live: the selection names something; it stays unmanaged
    result = run(["--api-url", url, "plan", config, "--include", "svc-a"], env=env)
    assert result.code == 0 and "svc-a" in result.out
