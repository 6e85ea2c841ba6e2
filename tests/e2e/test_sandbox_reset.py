"""``adapter-sync sandbox reset [PATH]`` and the ``Sandbox state:`` line (issue #16), the real
CLI in-process: the per-user sandbox no longer carries one walkthrough's connectors into the
next, and the state file is named only by a command that reached the sandbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from clirun import run

CONFIG = "connectors:\n  a: {name: A}\n  b: {name: B}\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> dict[str, str | None]:
    """An environment whose per-user sandbox lives under tmp_path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "connectors.yaml").write_text(CONFIG)
    return {"XDG_STATE_HOME": str(tmp_path / "state"), "ADAPTER_API_URL": None,
            "ADAPTER_API_KEY": None, "NO_COLOR": "1"}


def _default_db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "adapter-sync" / "sandbox.db"


def test_reset_empties_the_per_user_sandbox_and_says_so(home, tmp_path: Path) -> None:
    sandbox = {**home, "ADAPTER_API_URL": "sandbox:"}
    assert run(["apply", "--auto-approve"], sandbox).code == 0
    assert "2 to create" not in run(["plan"], sandbox).out

    done = run(["sandbox", "reset"], home)
    assert done.code == 0, done.err
    assert done.out == f"Sandbox reset: removed 2 connectors from {_default_db(tmp_path)}.\n"
    assert "2 to create" in run(["plan"], sandbox).out  # a fresh walkthrough starts empty
    assert run(["import"], sandbox).out.endswith("connectors: {}\n")


@pytest.mark.parametrize("spelling", ["{db}", "sandbox:{db}", "env"])
def test_reset_a_chosen_file(home, tmp_path: Path, spelling: str) -> None:
    db = tmp_path / "demo.db"
    sandbox = {**home, "ADAPTER_API_URL": f"sandbox:{db}"}
    assert run(["apply", "--auto-approve"], sandbox).code == 0
    other = {**home, "ADAPTER_API_URL": "sandbox:"}
    assert run(["apply", "--auto-approve"], other).code == 0  # the per-user one: untouched

    args = ["sandbox", "reset"] if spelling == "env" else [
        "sandbox", "reset", spelling.format(db=db)]
    done = run(args, sandbox if spelling == "env" else home)
    assert done.code == 0, done.err
    assert done.out == f"Sandbox reset: removed 2 connectors from {db}.\n"
    assert "2 to create" in run(["plan"], sandbox).out
    assert "No changes" in run(["plan"], other).out


def test_reset_of_a_missing_file_creates_nothing(home, tmp_path: Path) -> None:
    done = run(["sandbox", "reset", str(tmp_path / "none.db")], home)
    assert done.code == 0
    assert done.out == f"Sandbox state {tmp_path / 'none.db'} does not exist: nothing to reset.\n"
    assert not (tmp_path / "none.db").exists()


def test_reset_refuses_a_file_that_is_no_sandbox_database(home, tmp_path: Path) -> None:
    config = tmp_path / "connectors.yaml"
    other = tmp_path / "app.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    before = other.read_bytes()
    for path in (config, other):
        done = run(["sandbox", "reset", str(path)], home)
        assert done.code == 1
        assert done.err == (f"Error: {path} is not a sandbox state file (an SQLite database "
                            "with the sandbox's connectors table); nothing reset\n")
    assert config.read_text() == CONFIG and other.read_bytes() == before


@pytest.mark.parametrize("args", [["validate"], ["schema"], ["plan", "bad.yaml"],
                                  ["apply", "--auto-approve", "bad.yaml"], ["show", "p.json"]])
def test_no_sandbox_line_from_a_command_that_did_not_reach_it(home, tmp_path: Path,
                                                               args: list[str]) -> None:
    (tmp_path / "bad.yaml").write_text("connectors:\n  Bad: {name: B}\n")
    sandbox = {**home, "ADAPTER_API_URL": "sandbox:"}
    assert run(["plan", "--out", "p.json"], sandbox).code == 0
    done = run(args, sandbox)
    assert "Sandbox state" not in done.err, done.err


@pytest.mark.parametrize("args", [["plan"], ["import"], ["apply", "--auto-approve"]])
def test_the_sandbox_line_from_a_command_that_reached_it(home, tmp_path: Path,
                                                          args: list[str]) -> None:
    done = run(args, {**home, "ADAPTER_API_URL": "sandbox:"})
    assert done.code == 0, done.err
    assert done.err.splitlines()[0] == f"Sandbox state: {_default_db(tmp_path)}"
