"""``import`` at the edges (issue #16), the real CLI in-process against the sandbox in-process:

- a hostile live set (a source_name that is no slug, more metadata keys than a config allows, a
  name too long or empty, an unknown kind) is imported into a file that ``validate`` accepts;
  each connector left out is named with its reason;
- a selection that matches nothing says so, writes nothing and exits 1;
- ``-o -`` writes to stdout, never to a file named ``-``.

The sandbox's API refuses such connectors (it validates like the real one), so the hostile
ones are put straight into its store, as connectors made before the API had its rules.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapter_sync.sandbox.store import Store
from clirun import run

GOOD = [{"source_name": "crm", "name": "CRM"},
        {"source_name": "wiki", "name": "Wiki", "metadata": {f"k{i}": "v" for i in range(20)}},
        {"source_name": "svc-off", "name": "Off", "is_active": False}]
HOSTILE = [
    {"source_name": "Bad_Name", "name": "Upper and underscore"},
    {"source_name": "-edge", "name": "Leading hyphen"},
    {"source_name": "x" * 65, "name": "Too long a slug"},
    {"source_name": "many-keys", "name": "Many", "metadata": {f"k{i}": "v" for i in range(21)}},
    {"source_name": "long-name", "name": "n" * 256},
    {"source_name": "no-name", "name": ""},
    {"source_name": "new-kind", "name": "New kind", "accepted_kinds": ["email", "video"]},
]


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "sandbox.db"
    store = Store(db)
    store.seed(GOOD + HOSTILE)
    store.close()
    return {"ADAPTER_API_URL": f"sandbox:{db}", "ADAPTER_API_KEY": None, "NO_COLOR": "1",
            "ADAPTER_SYNC_DEBUG": None}


def test_a_hostile_live_set_imports_into_a_file_that_validates(sandbox, tmp_path: Path) -> None:
    out = tmp_path / "connectors.yaml"
    done = run(["import", "-o", str(out)], sandbox)
    assert done.code == 0, done.err
    checked = run(["validate", str(out)], sandbox)
    assert checked.code == 0, checked.err
    assert checked.out.startswith("OK: 2 connectors in 1 file valid.")
    warnings = [line for line in done.err.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == len(HOSTILE)
    reasons = {
        '"-edge"': "its source_name is not a slug a config can declare",
        '"Bad_Name"': "its source_name is not a slug a config can declare",
        f'"{"x" * 65}"': "its source_name is not a slug a config can declare",
        '"long-name"': "its name is 256 characters long; a config allows 1-255",
        '"many-keys"': "it has 21 metadata keys; a config allows at most 20",
        '"new-kind"': 'it accepts kind(s) "video" that adapter-sync does not know',
        '"no-name"': "its name is 0 characters long; a config allows 1-255",
    }
    for warning, (name, reason) in zip(warnings, sorted(reasons.items()), strict=True):
        assert warning.startswith(f"Warning: {name}: not imported: {reason}"), warning
        assert warning.endswith("; it stays unmanaged")
    assert done.err.splitlines()[-1] == f"Wrote 2 connectors to {out}."


def test_split_leaves_out_the_same_connectors_and_each_file_validates(sandbox,
                                                                      tmp_path: Path) -> None:
    target = tmp_path / "connectors"
    done = run(["import", "--split", str(target), "--include-inactive"], sandbox)
    assert done.code == 0, done.err
    assert sorted(p.name for p in target.iterdir()) == ["crm.yaml", "svc-off.yaml", "wiki.yaml"]
    assert run(["validate", str(target)], sandbox).code == 0


@pytest.mark.parametrize("args", [["-o", "out.yaml"], ["--split", "out"], []])
def test_a_selection_that_matches_nothing_says_so_and_writes_nothing(
        sandbox, tmp_path: Path, monkeypatch, args: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = run(["import", "--include", "svc-*x", *args], sandbox)
    assert done.code == 1
    assert done.err.splitlines()[-1] == (
        "Error: nothing to import: no live connector matches --include 'svc-*x' "
        "(10 live connectors listed); nothing written")
    assert done.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_selection_of_inactive_or_undeclarable_connectors_says_why(sandbox) -> None:
    inactive = run(["import", "--include", "svc-*"], sandbox)
    assert inactive.code == 1 and inactive.out == ""
    assert inactive.err.splitlines()[-1] == (
        "Error: nothing to import: of the 1 live connector matching --include 'svc-*', "
        "1 inactive (add --include-inactive to import them); nothing written")
    assert run(["import", "--include", "svc-*", "--include-inactive"], sandbox).code == 0
    bad = run(["import", "--include", "many-*"], sandbox)
    assert bad.code == 1
    assert ("of the 1 live connector matching --include 'many-*', 1 that a config cannot "
            'declare ("many-keys": not imported: it has 21 metadata keys') in bad.err


def test_dash_is_stdout(sandbox, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    to_stdout = run(["import", "-o", "-"], sandbox)
    assert to_stdout.code == 0, to_stdout.err
    assert not (tmp_path / "-").exists()
    assert to_stdout.out == run(["import"], sandbox).out
    assert "  crm:\n" in to_stdout.out and "Wrote" not in to_stdout.err
    both = run(["import", "-o", "-", "--split", "out"], sandbox)
    assert both.code == 1 and "--output and --split cannot be used together" in both.err


def test_a_connector_holding_the_key_is_left_out_not_masked(tmp_path: Path) -> None:
    """A config holding the key is refused, and a masked copy ("***") would plan an update
    that overwrites the live value: such a connector is left out, the key never shown."""
    key = "pk_live_import_edge_secret_0123456789"
    db = tmp_path / "sandbox.db"
    store = Store(db)
    store.seed([{"source_name": "crm", "name": "CRM"},
                {"source_name": "leaky", "name": "Leaky", "metadata": {"token": key}}])
    store.close()
    env = {"ADAPTER_API_URL": f"sandbox:{db}", "ADAPTER_API_KEY": key, "NO_COLOR": "1"}
    out = tmp_path / "connectors.yaml"
    done = run(["import", "-o", str(out)], env)
    assert done.code == 0, done.err
    assert "leaky" not in out.read_text() and "***" not in out.read_text()
    assert ('Warning: "leaky": not imported: its name or metadata holds the API key '
            "(ADAPTER_API_KEY), which a config must never hold; it stays unmanaged"
            in done.err.splitlines())
    assert key not in done.out + done.err
    plan = run(["plan", str(out)], env)
    assert plan.code == 0 and "No changes" in plan.out, plan.out + plan.err


def test_split_into_dash_is_refused_not_a_folder_named_dash(sandbox, tmp_path: Path,
                                                            monkeypatch) -> None:
    """``-`` is stdout to ``-o``; to ``--split`` (one file per connector) it can mean nothing
    else, so it is refused rather than made a folder named ``-``."""
    monkeypatch.chdir(tmp_path)
    done = run(["import", "--split", "-"], sandbox)
    assert done.code == 1
    assert "--split" in done.err and "-o -" in done.err and len(done.err.splitlines()) == 1
    assert not (tmp_path / "-").exists()


def test_a_saved_plan_touching_a_connector_that_holds_the_key_applies(tmp_path: Path) -> None:
    """The plan file is redacted ("***" for the key), so comparing its copy of the live
    connector with the live one said "changed live (name "has *** inside" -> "has ***
    inside")": such a plan could never be applied, and the reason contradicted itself."""
    key = "pk_live_saved_plan_secret_0123456789"
    db = tmp_path / "sandbox.db"
    store = Store(db)
    store.seed([{"source_name": "leaky", "name": f"has {key} inside",
                 "metadata": {"token": key}}])
    store.close()
    env = {"ADAPTER_API_URL": f"sandbox:{db}", "ADAPTER_API_KEY": key, "NO_COLOR": "1"}
    config = tmp_path / "c.yaml"
    config.write_text("connectors:\n  leaky: {name: Clean}\n")
    saved = tmp_path / "plan.json"
    planned = run(["plan", str(config), "--out", str(saved)], env)
    assert planned.code == 0, planned.err
    assert key not in saved.read_text() and key not in planned.out + planned.err
    applied = run(["apply", "--plan", str(saved), "--auto-approve"], env)
    assert applied.code == 0, applied.err
    assert key not in applied.out + applied.err
    assert "No changes" in run(["plan", str(config)], env).out
    # a real change to it since is still caught
    store = Store(db)
    store.seed([{"source_name": "leaky2", "name": f"{key}"}])
    store.close()
    config.write_text("connectors:\n  leaky: {name: Clean}\n  leaky2: {name: Two}\n")
    assert run(["plan", str(config), "--out", str(saved)], env).code == 0
    store = Store(db)
    conn = next(c for c in store.all() if c["source_name"] == "leaky2")
    store.update(conn["connector_id"], {"name": f"{key} edited"})
    store.close()
    stale = run(["apply", "--plan", str(saved), "--auto-approve"], env)
    assert stale.code == 1 and "leaky2 changed live" in stale.err and key not in stale.err
