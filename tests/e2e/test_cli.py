"""The CLI against the in-process sandbox: plan, apply, saved plans, safety, exit codes."""

from __future__ import annotations

import json
import textwrap

import pytest

from clirun import run

CONFIG = """\
version: 1
defaults:
  metadata: {env: test}
connectors:
  acme-crm:
    name: Acme CRM
    accepted_kinds: [email, page]
    metadata: {pipeline: acme-crm@v2}
  billing:
    name: Billing
  retired:
    name: Retired
    active: false
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.delenv("ADAPTER_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "connectors.yaml").write_text(CONFIG)
    return {"ADAPTER_API_URL": f"sandbox:{tmp_path / 'sandbox.db'}", "NO_COLOR": "1"}


def write(path, text: str) -> None:
    path.write_text(textwrap.dedent(text))


def test_plan_apply_plan_round_trip(env):
    first = run(["plan", "--detailed-exitcode"], env)
    assert first.code == 2, first.err
    assert "acme-crm" in first.out and "billing" in first.out
    assert "retired" not in first.out  # declared inactive and absent: nothing to do
    assert "2 to create" in first.out

    applied = run(["apply", "--auto-approve"], env)
    assert applied.code == 0, applied.err
    assert "2 done" in applied.out

    again = run(["plan", "--detailed-exitcode"], env)
    assert again.code == 0, again.err
    assert "No changes" in again.out


def test_plan_json_is_the_only_thing_on_stdout(env):
    result = run(["plan", "--format", "json"], env)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["format_version"] == "2.0" and doc["kind"] == "adapter-sync-plan"
    assert doc["summary"] == {"create": 2, "update": 0, "reactivate": 0, "deactivate": 0,
                              "total": 2}
    create = next(a for a in doc["actions"] if a["source_name"] == "acme-crm")
    assert create["action"] == "create" and create["connector_id"] is None
    assert create["changes"]["metadata"]["after"] == {"env": "test", "pipeline": "acme-crm@v2"}


def test_plan_json_and_the_saved_plan_are_one_document_byte_for_byte(env, tmp_path):
    saved = tmp_path / "plan.json"
    result = run(["plan", "--format", "json", "--out", str(saved)], env)
    assert result.code == 0, result.err
    assert saved.read_text(encoding="utf-8") == result.out
    assert result.out.count("\n") == 1 and result.out.isascii()  # compact, one line
    shown = run(["show", str(saved), "--format", "json"], env)
    assert shown.code == 0 and shown.out == result.out
    doc = json.loads(result.out)
    assert doc["provenance"]["selection"] == {"include": [], "exclude": []}
    assert doc["safety"] == {**doc["safety"], "needs_force": False, "blocked": False}


def test_plan_markdown(env):
    result = run(["plan", "--format", "markdown"], env)
    assert result.code == 0 and "acme-crm" in result.out and "|" in result.out


def test_apply_without_tty_or_auto_approve_refuses_and_writes_nothing(env):
    refused = run(["apply"], env)
    assert refused.code == 1
    assert "--auto-approve" in refused.err
    assert run(["plan", "--detailed-exitcode"], env).code == 2  # still everything to create


def test_update_deactivate_reactivate(env, tmp_path):
    assert run(["apply", "--auto-approve"], env).code == 0
    write(tmp_path / "connectors.yaml", """\
        connectors:
          acme-crm:
            name: Acme CRM (renamed)
          billing:
            name: Billing
            active: false
        """)
    plan = run(["plan", "--format", "json"], env)
    actions = {a["source_name"]: a for a in json.loads(plan.out)["actions"]}
    assert actions["acme-crm"]["action"] == "update"
    assert actions["acme-crm"]["changes"]["name"]["after"] == "Acme CRM (renamed)"
    assert actions["acme-crm"]["changes"]["accepted_kinds"]["after"] == []
    assert actions["billing"]["action"] == "deactivate"
    assert run(["apply", "--auto-approve"], env).code == 0
    assert run(["plan", "--detailed-exitcode"], env).code == 0

    write(tmp_path / "connectors.yaml", """\
        connectors:
          acme-crm: {name: Acme CRM (renamed)}
          billing: {name: Billing}
        """)
    plan = json.loads(run(["plan", "--format", "json"], env).out)
    assert [(a["action"], a["source_name"]) for a in plan["actions"]] == [("reactivate", "billing")]
    assert run(["apply", "--auto-approve"], env).code == 0
    assert run(["plan", "--detailed-exitcode"], env).code == 0


def test_unmanaged_are_listed_not_touched_and_prune_deactivates(env, tmp_path):
    assert run(["apply", "--auto-approve"], env).code == 0
    write(tmp_path / "connectors.yaml", "connectors:\n  acme-crm: {name: Acme CRM}\n")
    (tmp_path / "connectors.yaml").write_text(
        CONFIG.replace("  billing:\n    name: Billing\n", ""))
    plan = json.loads(run(["plan", "--format", "json"], env).out)
    assert plan["unmanaged"] == ["billing"] and plan["actions"] == []
    pruned = json.loads(run(["plan", "--prune", "--format", "json"], env).out)
    assert [(a["action"], a["source_name"]) for a in pruned["actions"]] == [
        ("deactivate", "billing")]
    assert run(["apply", "--auto-approve"], env).code == 0
    assert json.loads(run(["plan", "--format", "json"], env).out)["unmanaged"] == ["billing"]
    assert run(["apply", "--prune", "--auto-approve"], env).code == 0
    assert json.loads(run(["plan", "--format", "json"], env).out)["unmanaged"] == []


def test_mass_deactivation_is_refused_without_force(env, tmp_path):
    many = "connectors:\n" + "".join(f"  c{i}: {{name: C{i}}}\n" for i in range(10))
    (tmp_path / "connectors.yaml").write_text(many)
    assert run(["apply", "--auto-approve"], env).code == 0
    (tmp_path / "connectors.yaml").write_text(
        "prune: true\nconnectors:\n" + "".join(f"  c{i}: {{name: C{i}}}\n" for i in range(6)))
    refused = run(["apply", "--auto-approve"], env)
    assert refused.code == 1
    assert "4 of 10" in refused.err and "--force" in refused.err
    assert run(["plan", "--detailed-exitcode"], env).code == 2  # nothing was deactivated
    assert run(["apply", "--auto-approve", "--force"], env).code == 0
    assert run(["plan", "--detailed-exitcode"], env).code == 0


def test_saved_plan_applies_exactly_and_refuses_when_stale(env, tmp_path):
    saved = tmp_path / "plan.json"
    assert run(["plan", "--out", str(saved)], env).code == 0
    text = saved.read_text()
    assert "sandbox:" in text
    assert run(["apply", "--plan", str(saved)], env).code == 0  # no prompt for saved plans
    assert run(["plan", "--detailed-exitcode"], env).code == 0

    # a saved plan whose connector changed live since is refused as a whole
    write(tmp_path / "connectors.yaml", "connectors:\n  acme-crm: {name: One}\n  new-one: {name: New one}\n")
    assert run(["plan", "--out", str(saved)], env).code == 0
    write(tmp_path / "connectors.yaml", "connectors:\n  acme-crm: {name: Two}\n")
    assert run(["apply", "--auto-approve"], env).code == 0
    stale = run(["apply", "--plan", str(saved)], env)
    assert stale.code == 1 and "stale" in stale.err and "acme-crm" in stale.err
    doc = json.loads(run(["plan", "--format", "json"], env).out)
    assert doc["actions"] == []  # the stale plan wrote nothing: new-one was not created


def test_saved_plan_against_another_api_is_refused(env, tmp_path):
    saved = tmp_path / "plan.json"
    assert run(["plan", "--out", str(saved)], env).code == 0
    other = {**env, "ADAPTER_API_URL": f"sandbox:{tmp_path / 'other.db'}"}
    refused = run(["apply", "--plan", str(saved)], other)
    assert refused.code == 1 and "stale" in refused.err


def test_invalid_config_sends_no_request(env, tmp_path):
    (tmp_path / "connectors.yaml").write_text("connectors:\n  Bad_Slug: {name: x}\n")
    # an API that cannot be reached: if a request were sent we would see a network error
    result = run(["plan"], {**env, "ADAPTER_API_URL": "http://127.0.0.1:9/v1",
                            "ADAPTER_API_KEY": "pk_live_x"})
    assert result.code == 1
    assert "connectors.yaml:2:3" in result.err
    assert "Error:" not in result.err  # only the config problems, no network error


def test_missing_key_is_named_and_nothing_sent(env):
    result = run(["plan"], {**env, "ADAPTER_API_URL": "https://api.adapter.com/v1"})
    assert result.code == 1 and "ADAPTER_API_KEY" in result.err
    assert "Traceback" not in result.err


def test_plain_http_refused_except_loopback(env):
    result = run(["plan"], {**env, "ADAPTER_API_URL": "http://api.adapter.com/v1",
                            "ADAPTER_API_KEY": "pk_live_x"})
    assert result.code == 1 and "https://" in result.err


def test_usage_errors_exit_1_not_2(env):
    assert run(["plan", "--no-such-flag"], env).code == 1
    assert run(["no-such-command"], env).code == 1
    assert run(["plan", "--format", "xml"], env).code == 1


def test_version_and_help():
    assert run(["--version"]).code == 0
    for command in ([], ["validate"], ["plan"], ["apply"], ["import"], ["sandbox", "serve"]):
        result = run([*command, "--help"])
        assert result.code == 0 and "Usage:" in result.out


def test_github_annotations_escape_file_names_and_messages(env, tmp_path):
    odd = tmp_path / "a,b:c.yaml"
    odd.write_text("connectors:\n  x: {name: X, extra: 1}\n")
    result = run(["validate", str(odd)], {**env, "GITHUB_ACTIONS": "true"})
    assert result.code == 1
    (line,) = [x for x in result.out.splitlines() if x.startswith("::error")]
    assert "a%2Cb%3Ac.yaml,line=2,col=" in line and "::connectors.x: unknown key" in line


def test_saved_plan_safety_is_checked_against_live_state_at_apply_time(env, tmp_path):
    cfg = tmp_path / "connectors.yaml"
    cfg.write_text("connectors:\n" + "".join(f"  c{i:02d}: {{name: C{i}}}\n" for i in range(20)))
    assert run(["apply", "--auto-approve"], env).code == 0
    cfg.write_text("prune: true\nconnectors:\n"
                   + "".join(f"  c{i:02d}: {{name: C{i}}}\n" for i in range(5, 20)))
    saved = tmp_path / "plan.json"
    assert run(["plan", "--out", str(saved)], env).code == 0  # 5 of 20: allowed
    # meanwhile, everything else is deactivated (by another change, forced)
    cfg.write_text("connectors:\n" + "".join(
        f"  c{i:02d}: {{name: C{i}, active: {str(i < 5).lower()}}}\n" for i in range(20)))
    assert run(["apply", "--auto-approve", "--force"], env).code == 0
    refused = run(["apply", "--plan", str(saved)], env)
    # the live state the plan was made from moved (its live digest): refused as stale
    assert refused.code == 1 and "saved plan is stale" in refused.err
    assert "the live connectors changed since the plan was made" in refused.err
    still = json.loads(run(["plan", "--format", "json"], env).out)
    assert still["actions"] == []  # c00-c04 are still active: nothing was written


def test_a_sandbox_path_that_cannot_be_opened_is_one_clear_line(env, tmp_path):
    result = run(["plan"], {**env, "ADAPTER_API_URL": f"sandbox:{tmp_path}"})  # a folder
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines == [f"Sandbox state: {tmp_path}", lines[1]]  # where it looked, then why not
    assert lines[1].startswith("Error: cannot open the sandbox database")
    assert "unexpected" not in result.err


@pytest.mark.parametrize(("env", "colour"), [
    ({}, False),                                      # not a terminal
    ({"FORCE_COLOR": "1"}, True),                     # asked for anyway
    ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),   # NO_COLOR wins
    ({"FORCE_COLOR": "1", "TERM": "dumb"}, False),    # so does a dumb terminal
])
def test_colour_follows_no_color_force_color_and_term(env, colour, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("connectors:\n  a: {name: A}\n")
    base = {"ADAPTER_API_URL": f"sandbox:{tmp_path / 's.db'}", "NO_COLOR": None, "TERM": None}
    result = run(["plan", str(cfg)], {**base, **env})
    assert result.code == 0, result.err
    assert ("\x1b[" in result.out) is colour
    if colour:
        flagged = run(["--no-color", "plan", str(cfg)], {**base, **env})
        assert "\x1b[" not in flagged.out


def test_a_bad_fault_value_is_a_usage_error():
    result = run(["sandbox", "serve", "--latency", "-1"])
    assert result.code == 1 and "Invalid value for '--latency'" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("out", ["connectors.yaml", "./connectors.yaml", "link.yaml"])
def test_plan_out_never_overwrites_a_config_it_read(env, tmp_path, out) -> None:
    """``plan --out connectors.yaml`` replaced the config with the plan document: plan writes
    nothing but its plan file, and never over its own input (a link to it included)."""
    (tmp_path / "link.yaml").symlink_to(tmp_path / "connectors.yaml")
    done = run(["plan", "connectors.yaml", "--out", out], env)
    assert done.code == 1
    assert f"--out {out}" in done.err and "config" in done.err
    assert (tmp_path / "connectors.yaml").read_text() == CONFIG


def test_plan_out_dash_is_refused_not_a_file_named_dash(env, tmp_path) -> None:
    done = run(["plan", "--out", "-"], env)
    assert done.code == 1 and "--format json" in done.err
    assert len(done.err.strip().splitlines()) == 1
    assert not (tmp_path / "-").exists()
