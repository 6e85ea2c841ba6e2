"""The CLI's edges around apply and errors (issue #16), in-process against the in-process
sandbox: warnings for options a saved plan ignores, and the key never in an error line, even
one raised before the command ran."""

from __future__ import annotations

from pathlib import Path

from clirun import run

KEY = "pk_live_cli_edge_0123456789"


def _env(tmp_path: Path) -> dict[str, str]:
    return {"ADAPTER_API_URL": f"sandbox:{tmp_path / 'sandbox.db'}", "ADAPTER_API_KEY": KEY,
            "NO_COLOR": "1"}


def _saved_plan(tmp_path: Path) -> str:
    cfg = tmp_path / "connectors.yaml"
    cfg.write_text("connectors:\n  team-a-one: {name: One}\n  team-b-two: {name: Two}\n")
    out = str(tmp_path / "plan.json")
    made = run(["plan", "--out", out, str(cfg)], _env(tmp_path))
    assert made.code == 0, made.err
    return out


def test_apply_plan_warns_that_prune_is_ignored(tmp_path: Path) -> None:
    plan_file = _saved_plan(tmp_path)
    done = run(["apply", "--plan", plan_file, "--prune"], _env(tmp_path))
    assert done.code == 0, done.err
    assert "Warning: --prune is ignored with --plan" in done.err


def test_apply_plan_warns_that_a_selection_is_ignored(tmp_path: Path) -> None:
    plan_file = _saved_plan(tmp_path)
    done = run(["apply", "--plan", plan_file, "--include", "team-b-*"], _env(tmp_path))
    assert done.code == 0, done.err
    assert "Warning: --include/--exclude are ignored with --plan" in done.err
    assert "2 done" in done.out  # the saved plan's selection (all), not --include's


def test_the_error_line_never_shows_the_key(tmp_path: Path) -> None:
    bad = tmp_path / f"{KEY}.json"
    bad.write_text("{not json")
    failed = run(["show", str(bad)], _env(tmp_path))
    assert failed.code == 1
    assert "Error: " in failed.err and "not a plan file" in failed.err
    assert KEY not in failed.err and "***.json" in failed.err


def test_an_error_before_the_command_ran_never_shows_the_key(tmp_path: Path) -> None:
    failed = run(["--max-attempts", KEY, "plan"], _env(tmp_path))
    assert failed.code == 1 and "--max-attempts" in failed.err
    assert KEY not in failed.err and "***" in failed.err


def test_debug_tracebacks_are_redacted_too(tmp_path: Path) -> None:
    bad = tmp_path / f"{KEY}.json"
    bad.write_text("{not json")
    failed = run(["--debug", "show", str(bad)], _env(tmp_path))
    assert failed.code == 1 and "Traceback" in failed.err and KEY not in failed.err
