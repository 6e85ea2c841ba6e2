"""Pull-request review that tells the truth (issue #12): the real CLI against the sandbox over
real HTTP. Three-way plans against a base folder or a git revision, safety in the plan,
selection, show, the published JSON schema, options from the environment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from clirun import run_process
from conftest import API_KEY

# subprocesses and servers: end to end, over a second each (pytest -m 'not slow' skips)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PLAN_SCHEMA = Draft7Validator(json.loads((ROOT / "schemas" / "plan.schema.json").read_text()))


def _env(server, **extra: str) -> dict[str, str]:
    return {"ADAPTER_API_URL": server.url, "ADAPTER_API_KEY": API_KEY, "NO_COLOR": "1",
            **extra}


def _write(path: Path, connectors: dict[str, str], **settings: object) -> Path:
    lines = [f"{k}: {json.dumps(v)}" for k, v in settings.items()]
    lines.append("connectors:" if connectors else "connectors: {}")
    lines += [f"  {slug}: {{name: {json.dumps(name)}}}" for slug, name in connectors.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _json_plan(args: list[str], env: dict[str, str], cwd: Path | None = None) -> dict:
    done = run_process(["plan", "--format", "json", *args], env, cwd=cwd)
    assert done.code == 0, done.err
    doc = json.loads(done.out)
    assert list(PLAN_SCHEMA.iter_errors(doc)) == []  # every JSON plan validates
    return doc


# What the base (main) declares, what the live state holds, what the pull request declares:
#   same       main = live = PR                    -> nothing
#   renamed    main = live, PR renames it          -> update, a change
#   hand-edit  main declares "Hand", live "Edited by hand", PR keeps main's -> update, drift
#   adopted    main declares "Main", live "Live", PR declares "Live" -> drift resolved
#   new        only the PR declares it             -> create, a change
BASE = {"same": "Same", "renamed": "Before", "hand-edit": "Hand", "adopted": "Main"}
HEAD = {"same": "Same", "renamed": "After", "hand-edit": "Hand", "adopted": "Live",
        "new": "New"}
LIVE = {"same": "Same", "renamed": "Before", "hand-edit": "Edited by hand", "adopted": "Live"}


def _seed_live(server) -> None:
    server.seed([{"source_name": slug, "name": name} for slug, name in LIVE.items()])


def _check_labels(doc: dict) -> None:
    origins = {a["source_name"]: (a["action"], a["origin"]) for a in doc["actions"]}
    assert origins == {"renamed": ("update", "change"), "hand-edit": ("update", "drift"),
                       "new": ("create", "change")}
    assert doc["drift_resolved"] == ["adopted"]
    assert doc["provenance"]["base"] is not None


def test_plan_base_folder_labels_changes_drift_and_drift_resolved(reused_sandbox_server,
                                                                 tmp_path: Path) -> None:
    server = reused_sandbox_server
    _seed_live(server)
    base = _write(tmp_path / "base" / "connectors.yaml", BASE)
    head = _write(tmp_path / "head" / "connectors.yaml", HEAD)
    _check_labels(_json_plan(["--base", str(base), str(head)], _env(server)))
    text = run_process(["plan", "--base", str(base), str(head)], _env(server)).out
    drift_at = text.index("Drift: the live state differs from the configuration already merged")
    assert text.index("~ update renamed") < drift_at < text.index("~ update hand-edit")
    assert "Drift resolved by this change (live kept as it is): adopted" in text
    md = run_process(["plan", "--format", "markdown", "--base", str(base), str(head)],
                     _env(server)).out
    assert "### Changes from this configuration (2)" in md and "### Drift (1)" in md
    without = _json_plan([str(head)], _env(server))
    assert all(a["origin"] is None for a in without["actions"])  # no base: no drift called


def test_plan_base_git_revision_reads_the_same_paths(reused_sandbox_server,
                                                     tmp_path: Path) -> None:
    server = reused_sandbox_server
    _seed_live(server)
    repo = tmp_path / "repo"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(repo)]
    repo.mkdir()
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    _write(repo / "connectors" / "all.yaml", BASE)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)
    _write(repo / "connectors" / "all.yaml", HEAD)  # the pull request's working tree
    _check_labels(_json_plan(["--base", "main", "connectors"], _env(server), cwd=repo))
    bad = run_process(["plan", "--base", "no-such-rev", "connectors"], _env(server), cwd=repo)
    assert bad.code == 1 and "neither a file or folder nor a git revision" in bad.err


def test_a_plan_that_needs_force_says_so_in_all_three_formats(reused_sandbox_server,
                                                             tmp_path: Path) -> None:
    server = reused_sandbox_server
    server.seed([{"source_name": f"c{i:02d}", "name": "C"} for i in range(12)])
    few = _write(tmp_path / "few.yaml", {"c00": "C", "c01": "C"}, prune=True)
    env = _env(server)
    text = run_process(["plan", str(few)], env).out
    assert "Warning: apply will refuse this plan without --force: refusing to deactivate 10" \
        in text
    md = run_process(["plan", "--format", "markdown", str(few)], env).out
    assert md.index("[!CAUTION]") < md.index("| Action |")
    doc = _json_plan([str(few)], env)
    assert doc["safety"]["needs_force"] is True and doc["safety"]["blocked"] is False
    (finding,) = doc["safety"]["findings"]
    assert finding["code"] == "deactivate_share" and finding["effect"] == "needs_force"
    assert (finding["numbers"]["deactivating"], finding["numbers"]["live_active"]) == (10, 12)
    refused = run_process(["apply", "--auto-approve", str(few)], env)
    assert refused.code == 1 and "re-run with --force" in refused.err
    assert sum(c["is_active"] for c in server.state()) == 12


def test_selection_limits_plan_apply_import_and_saved_plans(reused_sandbox_server,
                                                           tmp_path: Path) -> None:
    server = reused_sandbox_server
    server.seed([{"source_name": "team-a-one", "name": "old"},
                 {"source_name": "team-b-one", "name": "old"},
                 {"source_name": "team-a-stray", "name": "stray"}])
    cfg = _write(tmp_path / "c.yaml", {"team-a-one": "New", "team-b-one": "New",
                                       "team-a-two": "Two"})
    env = _env(server)
    only_a = ["--include", "team-a-*", "--exclude", "*-two"]
    doc = _json_plan([*only_a, str(cfg)], env)
    assert [a["source_name"] for a in doc["actions"]] == ["team-a-one"]
    assert doc["unmanaged"] == ["team-a-stray"]
    assert doc["provenance"]["selection"] == {"include": ["team-a-*"], "exclude": ["*-two"]}
    saved = tmp_path / "plan.json"
    assert run_process(["plan", *only_a, "--out", str(saved), str(cfg)], env).code == 0
    # someone edits a connector outside the selection: the saved plan is still good
    server.set_faults()
    subprocess_env = {**env, "ADAPTER_SYNC_APPLY_INCLUDE": "team-b-*"}  # ignored with --plan
    applied = run_process(["apply", "--plan", str(saved)], subprocess_env)
    assert applied.code == 0, applied.err
    assert "are ignored with --plan" in applied.err
    names = {c["source_name"]: c["name"] for c in server.state()}
    assert names["team-a-one"] == "New" and names["team-b-one"] == "old"
    assert "team-a-two" not in names
    # apply with a selection from the environment (every option has one)
    applied = run_process(["apply", "--auto-approve", str(cfg)],
                          {**env, "ADAPTER_SYNC_APPLY_INCLUDE": "team-b-*"})
    assert applied.code == 0, applied.err
    names = {c["source_name"]: c["name"] for c in server.state()}
    assert names["team-b-one"] == "New" and "team-a-two" not in names
    imported = run_process(["import", "--include", "team-a-*"], env)
    assert "team-a-one" in imported.out and "team-b-one" not in imported.out


def test_show_renders_a_saved_plan_exactly_as_plan_did(reused_sandbox_server,
                                                      tmp_path: Path) -> None:
    server = reused_sandbox_server
    server.seed([{"source_name": "a", "name": "Old"}, {"source_name": "gone", "name": "G"}])
    cfg = _write(tmp_path / "c.yaml", {"a": "New", "b": "B"}, prune=True)
    env = _env(server)
    for fmt in ("text", "markdown", "json"):
        saved = tmp_path / f"plan-{fmt}.json"
        made = run_process(["plan", "--format", fmt, "--out", str(saved), str(cfg)], env)
        shown = run_process(["show", "--format", fmt, str(saved)],
                            {"ADAPTER_API_URL": "http://127.0.0.1:9/v1", "NO_COLOR": "1"})
        assert shown.code == 0, shown.err  # no API needed, no key either
        assert shown.out == made.out


def test_global_options_are_accepted_after_the_command(reused_sandbox_server,
                                                      tmp_path: Path) -> None:
    server = reused_sandbox_server
    cfg = _write(tmp_path / "c.yaml", {"a": "A"})
    env = {"ADAPTER_API_KEY": API_KEY, "NO_COLOR": "1"}
    done = run_process(["plan", "--api-url", server.url, "--max-attempts", "2", str(cfg)], env)
    assert done.code == 0 and "1 to create" in done.out, done.err
    help_text = run_process(["plan", "--help"], env).out
    assert "ADAPTER_SYNC_PLAN_FORMAT" in help_text and "ADAPTER_SYNC_PLAN_BASE" in help_text
    assert "ADAPTER_API_URL" in run_process(["--help"], env).out


def test_schema_prints_the_config_schema(tmp_path: Path) -> None:
    done = run_process(["schema"], {})
    assert done.code == 0
    assert json.loads(done.out) == json.loads(
        (ROOT / "schemas" / "connectors.schema.json").read_text())


@pytest.mark.parametrize("flag", ["--plan"])
def test_apply_plan_warns_that_paths_are_ignored(reused_sandbox_server, tmp_path: Path,
                                                 flag: str) -> None:
    server = reused_sandbox_server
    cfg = _write(tmp_path / "c.yaml", {"a": "A"})
    saved = tmp_path / "p.json"
    assert run_process(["plan", "--out", str(saved), str(cfg)], _env(server)).code == 0
    done = run_process(["apply", flag, str(saved), str(cfg)], _env(server))
    assert done.code == 0 and "PATHS are ignored with --plan" in done.err


def test_protected_connectors_survive_prune_and_force(reused_sandbox_server,
                                                     tmp_path: Path) -> None:
    server = reused_sandbox_server
    server.seed([{"source_name": n, "name": n} for n in
                 ("billing-eu", "billing-us", "keep", "stray-1", "stray-2")])
    cfg = tmp_path / "c.yaml"
    cfg.write_text('prune: true\nprotect: ["billing-*"]\n'
                   "safety: {max_deactivate_percent: 100, min_active: 1}\n"
                   "connectors:\n  keep: {name: keep}\n")
    env = _env(server)
    doc = _json_plan([str(cfg)], env)
    assert [a["source_name"] for a in doc["actions"]] == ["stray-1", "stray-2"]
    assert doc["protected"] == ["billing-eu", "billing-us"]
    assert "Protected (not declared, kept by protect): billing-eu, billing-us" in run_process(
        ["plan", str(cfg)], env).out
    applied = run_process(["apply", "--auto-approve", "--force", str(cfg)], env)
    assert applied.code == 0, applied.err
    active = {c["source_name"] for c in server.state() if c["is_active"]}
    assert active == {"billing-eu", "billing-us", "keep"}


def test_a_protected_connector_declared_inactive_blocks_the_apply_force_or_not(
        reused_sandbox_server, tmp_path: Path) -> None:
    server = reused_sandbox_server
    server.seed([{"source_name": "billing-eu", "name": "B"}, {"source_name": "other",
                                                              "name": "Old"}])
    cfg = tmp_path / "c.yaml"
    cfg.write_text('protect: ["billing-*"]\nconnectors:\n'
                   "  billing-eu: {name: B, active: false}\n  other: {name: New}\n")
    env = _env(server)
    doc = _json_plan([str(cfg)], env)
    assert doc["safety"]["blocked"] is True and doc["safety"]["needs_force"] is False
    assert doc["safety"]["findings"] == [{"code": "protected_inactive", "effect": "blocked",
                                          "subjects": ["billing-eu"], "numbers": {}}]
    assert "Blocked: apply will refuse this plan, --force or not: billing-eu is protected" \
        in run_process(["plan", str(cfg)], env).out
    assert "**Blocked, `--force` or not:**" in run_process(
        ["plan", "--format", "markdown", str(cfg)], env).out
    for extra in ([], ["--force"]):
        refused = run_process(["apply", "--auto-approve", *extra, str(cfg)], env)
        assert refused.code == 1 and "billing-eu is protected" in refused.err
        assert "--force or not" in refused.err
    state = {c["source_name"]: c for c in server.state()}
    assert state["billing-eu"]["is_active"] and state["other"]["name"] == "Old"  # no write


def test_configured_safety_thresholds_decide_when_force_is_needed(reused_sandbox_server,
                                                                 tmp_path: Path) -> None:
    server = reused_sandbox_server
    server.seed([{"source_name": f"c{i}", "name": "C"} for i in range(5)])
    cfg = tmp_path / "c.yaml"
    cfg.write_text("prune: true\nsafety: {max_deactivate_percent: 20, min_active: 5}\n"
                   "connectors:\n" + "".join(f"  c{i}: {{name: C}}\n" for i in range(3)))
    doc = _json_plan([str(cfg)], _env(server))
    assert doc["safety"]["needs_force"] is True  # 2 of 5 (40%) > 20%, with 5 active
    assert doc["safety"]["findings"][0]["numbers"]["max_deactivate_percent"] == 20
    assert doc["safety"]["rules"]["min_active"] == 5
    relaxed = tmp_path / "r.yaml"
    relaxed.write_text(cfg.read_text().replace("max_deactivate_percent: 20",
                                               "max_deactivate_percent: 50"))
    assert _json_plan([str(relaxed)], _env(server))["safety"]["needs_force"] is False


def test_validate_mentions_connectors_declared_inactive(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("connectors:\n  a: {name: A, active: false}\n  b: {name: B}\n")
    done = run_process(["validate", str(cfg)], {})
    assert done.code == 0
    assert done.out == ("OK: 2 connectors in 1 file valid. 1 declared active: false (a): plan "
                        "deactivates them where live and active, never creates them.\n")


def test_an_unquoted_glob_gets_a_quote_it_hint(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("ignore: [*-legacy]\nconnectors: {}\n")
    done = run_process(["validate", str(cfg)], {})
    assert done.code == 1
    assert f"{cfg}:1:10: YAML syntax error: found undefined alias; a value starting with '*' " \
        'is read as a YAML alias: quote it, as "*-legacy"' in done.err


def test_plain_http_to_a_named_host_needs_an_explicit_opt_in(reused_sandbox_server,
                                                            tmp_path: Path) -> None:
    # A CI job reaches its sandbox service by name (http://sandbox:PORT/v1). Here no such
    # name resolves, so what is shown is the URL check: refused without the opt-in, passed
    # with it (the run then fails on the name lookup, not on the check).
    cfg = _write(tmp_path / "c.yaml", {"a": "A"})
    port = reused_sandbox_server.url.rsplit(":", 1)[1].split("/")[0]
    named = f"http://sandbox-service:{port}/v1"
    refused = run_process(["--api-url", named, "plan", str(cfg)], {"ADAPTER_API_KEY": API_KEY})
    assert refused.code == 1
    assert "refusing to send the API key over plain http to sandbox-service" in refused.err
    assert "--allow-http sandbox-service" in refused.err
    allowed = run_process(["plan", "--allow-http", "sandbox-service", str(cfg)],
                          {"ADAPTER_API_KEY": API_KEY, "ADAPTER_API_URL": named,
                           "ADAPTER_SYNC_BACKOFF_BASE": "0.01"})
    # the opt-in passes the URL check; the name does not resolve here, so the error is DNS's
    assert "refusing" not in allowed.err and allowed.code == 1
    assert "sandbox-service" in allowed.err


def test_markdown_of_a_20000_action_plan_stays_under_the_comment_limit(reused_sandbox_server,
                                                                      tmp_path: Path) -> None:
    server = reused_sandbox_server
    server.seed([{"source_name": f"old-{i:05d}", "name": "Old"} for i in range(2_000)])
    cfg = tmp_path / "c.yaml"
    cfg.write_text("prune: true\nsafety: {max_deactivate_percent: 100}\nconnectors:\n" + "".join(
        f"  new-{i:05d}: {{name: New connector {i}, metadata: {{team: t{i % 7}}}}}\n"
        for i in range(18_000)))
    done = run_process(["plan", "--format", "markdown", str(cfg)], _env(server))
    assert done.code == 0, done.err
    md = done.out
    assert len(md) < 65_000
    assert "**Plan: 18000 to create, 0 to update, 0 to reactivate, 2000 to deactivate.**" in md
    assert "| - deactivate | 2000 |" in md and "| + create | 18000 |" in md  # counts, first
    assert md.index("### - Deactivate (2000)") < md.index("more actions not shown here")
    import re

    shown = len(re.findall(r"^\| (?:old|new)-\d{5} \|", md, re.M))
    left_out = int(re.search(r"\*\*(\d+) more actions not shown here\*\*", md).group(1))
    assert shown + left_out == 20_000  # counted, never silently cut
