"""Every option's environment variable follows the README's rule, is shown in --help, and is
named when its value is bad (issue #16).

The rule: ``ADAPTER_SYNC_<COMMAND>_<OPTION>`` (``<COMMAND>`` the command's path, e.g.
``SANDBOX_SERVE``), ``ADAPTER_SYNC_<OPTION>`` for the global options, ``<OPTION>`` the long
flag upper-cased with ``-`` → ``_``. The tree is walked, so an option added later is checked
too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from adapter_sync.cli import cli
from clirun import run

NETWORK = {"--api-url", "--max-attempts", "--deadline", "--max-rps", "--rate-share",
           "--allow-http"}
OFFLINE = ("validate", "schema", "show")


def _walk(command: click.Command, path: tuple[str, ...] = (),
          parent: click.Context | None = None) -> Iterator[tuple[tuple[str, ...],
                                                               click.Command, click.Context]]:
    if parent is None:
        ctx = click.Context(command, info_name="adapter-sync", **command.context_settings)
    else:
        ctx = click.Context(command, info_name=path[-1], parent=parent)
    yield path, command, ctx
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _walk(sub, (*path, name), ctx)


def _options() -> list[tuple[tuple[str, ...], click.Option, click.Context]]:
    found = []
    for path, command, ctx in _walk(cli):
        for param in command.params:
            if isinstance(param, click.Option) and param.expose_value and param.name not in (
                    "help", "version"):
                found.append((path, param, ctx))
    return found


def _rule(path: tuple[str, ...], option: click.Option) -> str:
    flag = next(o for o in option.opts if o.startswith("--"))
    return "_".join(["ADAPTER_SYNC", *(p.upper().replace("-", "_") for p in path),
                     flag[2:].upper().replace("-", "_")])


def _help(path: tuple[str, ...]) -> str:
    done = run([*path, "--help"])
    assert done.code == 0, done.err
    return " ".join(done.out.split())  # unwrapped


def _squeezed(path: tuple[str, ...]) -> str:
    """The help without any whitespace: a long variable name wrapped in two is whole again."""
    return "".join(_help(path).split())


OPTIONS = _options()


def test_the_walk_finds_every_command_and_the_renamed_options() -> None:
    names = {(p, o.opts[0]) for p, o, _ in OPTIONS}
    assert {(("apply",), "--plan"), (("import",), "--split"), (("sandbox", "serve"), "--db"),
            ((), "--api-url"), (("plan",), "--base")} <= names
    assert len({p for p, _, _ in OPTIONS}) == 6  # the group, plan, apply, import, show, serve


@pytest.mark.parametrize(("path", "option", "ctx"), OPTIONS,
                         ids=[f"{' '.join(p) or 'global'} {o.opts[0]}" for p, o, _ in OPTIONS])
def test_each_option_reads_the_variable_the_rule_names(path, option, ctx, monkeypatch) -> None:
    name = _rule(path, option)
    for other in (_rule(path, o) for p, o, _ in OPTIONS if p == path):
        monkeypatch.delenv(other, raising=False)
    monkeypatch.delenv("ADAPTER_API_URL", raising=False)
    monkeypatch.setenv(name, "from-the-rule")
    assert option.resolve_envvar_value(ctx) == "from-the-rule"
    if not option.hidden:
        assert re.search(rf"\[envvar:(?:\w+,)*{name}[;,\]]", _squeezed(path)), name


@pytest.mark.parametrize("command", ["plan", "apply", "import"])
def test_a_command_shows_the_global_options_variables(command: str) -> None:
    text = _help((command,))
    assert "--max-attempts INTEGER RANGE" in text
    assert "[env var: ADAPTER_SYNC_MAX_ATTEMPTS;" in text
    assert "[env var: ADAPTER_API_URL, ADAPTER_SYNC_API_URL]" in text


@pytest.mark.parametrize("command", OFFLINE)
def test_commands_that_reach_no_api_list_no_network_option(command: str) -> None:
    text = _help((command,))
    assert not [flag for flag in NETWORK if flag in text], text
    assert "--debug" in text


def test_an_offline_command_still_accepts_a_network_option(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("connectors:\n  a: {name: A}\n")
    done = run(["validate", "--api-url", "sandbox:", "--max-attempts", "3", str(cfg)])
    assert done.code == 0, done.err


@pytest.mark.parametrize(("args", "var", "value", "flag"), [
    (["apply"], "ADAPTER_SYNC_APPLY_CONCURRENCY", "abc", "--concurrency"),
    (["apply"], "ADAPTER_SYNC_APPLY_PRUNE", "maybe", "--prune"),
    (["plan"], "ADAPTER_SYNC_PLAN_FORMAT", "yaml", "--format"),
    (["plan"], "ADAPTER_SYNC_MAX_ATTEMPTS", "0", "--max-attempts"),
    (["sandbox", "serve"], "ADAPTER_SYNC_SANDBOX_SERVE_PORT", "http", "--port"),
])
def test_a_bad_value_from_a_variable_names_the_variable(args, var, value, flag) -> None:
    done = run(args, {var: value})
    assert done.code == 1
    assert f"Error: Invalid value for {var} (the environment variable for {flag}): " in done.err
    assert f"'{flag}'" not in done.err  # never only the option the CI user never typed


def test_the_command_line_still_names_its_option() -> None:
    done = run(["apply", "--concurrency", "x"], {"ADAPTER_SYNC_APPLY_CONCURRENCY": "abc"})
    assert "Invalid value for '--concurrency': 'x'" in done.err


def _sandbox_env(tmp_path: Path) -> dict[str, str | None]:
    return {"ADAPTER_API_URL": f"sandbox:{tmp_path / 's.db'}", "ADAPTER_API_KEY": None,
            "NO_COLOR": "1", "ADAPTER_SYNC_IMPORT_SPLIT": None,
            "ADAPTER_SYNC_IMPORT_SPLIT_DIR": None}


@pytest.mark.parametrize(("var", "deprecated"), [("ADAPTER_SYNC_IMPORT_SPLIT", False),
                                                 ("ADAPTER_SYNC_IMPORT_SPLIT_DIR", True)])
def test_import_split_by_its_variable_and_the_old_name_with_a_warning(
        tmp_path: Path, var: str, deprecated: bool) -> None:
    env = _sandbox_env(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("connectors:\n  a: {name: A}\n")
    assert run(["apply", "--auto-approve", str(cfg)], env).code == 0
    done = run(["import"], {**env, var: str(tmp_path / "out")})
    assert done.code == 0, done.err
    assert (tmp_path / "out" / "a.yaml").exists()
    warning = ("Warning: ADAPTER_SYNC_IMPORT_SPLIT_DIR is deprecated; set "
               "ADAPTER_SYNC_IMPORT_SPLIT instead (the variable of --split).")
    assert (warning in done.err.splitlines()) is deprecated


@pytest.mark.parametrize(("var", "deprecated"), [("ADAPTER_SYNC_APPLY_PLAN", False),
                                                 ("ADAPTER_SYNC_APPLY_PLAN_FILE", True)])
def test_apply_plan_by_its_variable_and_the_old_name_with_a_warning(
        tmp_path: Path, var: str, deprecated: bool) -> None:
    env = _sandbox_env(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("connectors:\n  a: {name: A}\n")
    saved = tmp_path / "plan.json"
    assert run(["plan", "--out", str(saved), str(cfg)], env).code == 0
    done = run(["apply"], {**env, var: str(saved)})  # no prompt: a saved plan is applied
    assert done.code == 0, done.err
    assert "1 done" in done.out
    assert ("ADAPTER_SYNC_APPLY_PLAN_FILE is deprecated" in done.err) is deprecated


def test_the_new_name_wins_over_the_old_one(tmp_path: Path) -> None:
    env = _sandbox_env(tmp_path)
    done = run(["import"], {**env, "ADAPTER_SYNC_IMPORT_SPLIT": str(tmp_path / "new"),
                            "ADAPTER_SYNC_IMPORT_SPLIT_DIR": str(tmp_path / "old")})
    assert done.code == 0, done.err
    assert "ADAPTER_SYNC_IMPORT_SPLIT_DIR is deprecated and ignored" in done.err
    assert not (tmp_path / "old").exists()


FLOAT_OPTIONS = [(path, option) for path, option, _ in OPTIONS
                 if isinstance(option.type, click.FloatRange)]


@pytest.mark.parametrize(("path", "option"), FLOAT_OPTIONS,
                         ids=[" ".join((*p, o.name or "")) for p, o in FLOAT_OPTIONS])
@pytest.mark.parametrize("value", ["nan", "-nan"])
def test_not_a_number_is_refused_by_every_number_option(path, option, value: str) -> None:
    """NaN compares false with every bound, so a range alone let it through: ``--deadline nan``
    ran with no deadline and ``--rate-share nan`` ended in "unexpected ValueError"."""
    flag = next(o for o in option.opts if o.startswith("--"))
    done = run([*path, flag, value] if path else [flag, value, "plan"])
    assert done.code == 1
    assert f"Invalid value for '{flag}'" in done.err and "not a number" in done.err
    assert "unexpected" not in done.err and "Traceback" not in done.err
    var = _rule(path, option)  # the same from its variable, which names itself
    by_var = run([*path] if path else ["plan"], {var: value})
    assert by_var.code == 1 and f"Invalid value for {var}" in by_var.err
    assert "not a number" in by_var.err
