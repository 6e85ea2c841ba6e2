"""The Action's own GitHub side (#17): the pull-request comment it keeps per environment, the
drift issue, the outputs machines gate on (blocked, counts), the whole plan beside the saved one
for an artifact, and the base fetched into a shallow checkout; GitHub's REST API is a local fake
(tests/fake_github.py) at GITHUB_API_URL."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_action import BASH, EXAMPLE, SCRIPT, action_env
from test_action_inputs import STAGING, action, cli, config, fake_cli

from fake_github import READ_TOKEN, WRITE_TOKEN, FakeGitHub

# subprocesses: end to end (pytest -m 'not slow' skips)
pytestmark = pytest.mark.slow

__all__ = ["action_env"]  # a fixture, used by name below

PR = 7


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    yield fake
    fake.stop()


@pytest.fixture
def pr_env(action_env: dict[str, str], github: FakeGitHub, tmp_path: Path) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": PR, "head": {"sha": "abcdef1234567"}}}))
    return {**action_env, "GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": github.repo,
            "GITHUB_EVENT_PATH": str(event), "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_RUN_ID": "4242", "INPUT_GITHUB_TOKEN": WRITE_TOKEN}


# --- the pull-request comment -------------------------------------------------------------------

def test_one_comment_per_environment_created_then_updated_in_place(
        pr_env: dict[str, str], github: FakeGitHub, tmp_path: Path) -> None:
    github.comments[PR] = [{"id": 1, "body": "LGTM", "user": {"type": "User"}}]
    staging = action(pr_env, tmp_path, environment="staging", comment="true")
    assert staging.code == 0, staging.log
    prod = action(pr_env, tmp_path, environment="prod", comment="true",
                  paths=str(config(tmp_path / "prod", "version: 1\nconnectors: {}\n")))
    assert prod.code == 0, prod.log
    bodies = github.bodies(PR)
    assert len(bodies) == 3 and bodies[0] == "LGTM"
    assert bodies[1].startswith("<!-- adapter-sync-plan:staging -->\n**Environment: `staging`**")
    assert "3 to create" in bodies[1]
    assert "Commit abcdef1 · [run](https://github.example/acme/connectors/actions/runs/4242)" \
        in bodies[1]
    assert bodies[2].startswith("<!-- adapter-sync-plan:prod -->") and "No changes" in bodies[2]

    # the next push: the same comments, edited
    edited = config(tmp_path / "edited", STAGING.replace("Acme CRM (staging)", "Acme CRM v2"))
    cli(pr_env, "apply", "--auto-approve", str(EXAMPLE))
    again = action(pr_env, tmp_path, environment="staging", comment="true", paths=str(edited))
    assert again.code == 0, again.log
    bodies = github.bodies(PR)
    assert len(bodies) == 3
    assert "1 to update" in bodies[1] and "Acme CRM v2" in bodies[1]
    assert bodies[2].startswith("<!-- adapter-sync-plan:prod -->")
    writes = [(m, p) for m, p, _ in github.requests if m != "GET"]
    assert [m for m, _ in writes] == ["POST", "POST", "PATCH"]
    assert all(auth == f"Bearer {WRITE_TOKEN}" for _, _, auth in github.requests)


def test_the_comment_is_found_on_a_later_page(pr_env: dict[str, str], github: FakeGitHub,
                                              tmp_path: Path) -> None:
    github.page_size = 30
    github.comments[PR] = [{"id": i, "body": f"chatter {i}", "user": {"type": "User"}}
                           for i in range(1, 75)]
    github.comments[PR].insert(65, {"id": 999, "body": "<!-- adapter-sync-plan:staging -->\nold",
                                    "user": {"type": "Bot"}})
    run = action(pr_env, tmp_path, environment="staging", comment="true")
    assert run.code == 0, run.log
    bodies = github.bodies(PR)
    assert len(bodies) == 75  # updated on page 3, not posted again
    assert "3 to create" in bodies[65]
    gets = [p for m, p, _ in github.requests if m == "GET"]
    assert len(gets) == 3 and "page=3" in gets[-1]


@pytest.mark.parametrize("slash", ["", "/"])
def test_github_enterprise_api_under_a_path_prefix(pr_env: dict[str, str], github: FakeGitHub,
                                                   tmp_path: Path, slash: str) -> None:
    # GitHub Enterprise Server sets GITHUB_API_URL to https://HOST/api/v3: every call and every
    # next page stays under that prefix
    github.api_prefix, github.page_size = "/api/v3", 2
    github.comments[PR] = [{"id": i, "body": f"chatter {i}", "user": {"type": "User"}}
                           for i in range(1, 6)]
    github.comments[PR].append({"id": 999, "body": "<!-- adapter-sync-plan:staging -->\nold",
                                "user": {"type": "Bot"}})
    env = {**pr_env, "GITHUB_API_URL": github.url + "/api/v3" + slash}
    run = action(env, tmp_path, environment="staging", comment="true")
    assert run.code == 0, run.log
    assert "3 to create" in github.bodies(PR)[5] and len(github.bodies(PR)) == 6
    assert all(p.startswith("/api/v3/repos/") for _m, p, _a in github.requests)
    assert len([m for m, _p, _a in github.requests if m == "GET"]) == 3
    assert WRITE_TOKEN not in run.log


def test_a_token_that_cannot_write_comments_fails_clearly(pr_env: dict[str, str],
                                                          github: FakeGitHub,
                                                          tmp_path: Path) -> None:
    run = action({**pr_env, "INPUT_GITHUB_TOKEN": READ_TOKEN}, tmp_path, environment="staging",
                 comment="true")
    assert run.code == 1
    assert re.search(r"::error title=adapter-sync::POST \S+/issues/7/comments: the token may not "
                     r"do this \(HTTP 403: Resource not accessible by integration\): give the "
                     r"job `permissions: pull-requests: write`", run.log), run.log
    assert READ_TOKEN not in run.log
    assert run.outputs["has_changes"] == "true"  # the plan itself was made
    assert github.bodies(PR) == []


def test_a_failed_plan_replaces_the_comment_with_a_notice(pr_env: dict[str, str],
                                                          github: FakeGitHub,
                                                          tmp_path: Path) -> None:
    assert action(pr_env, tmp_path, environment="staging", comment="true").code == 0
    bad = config(tmp_path / "bad", "version: 1\nconnectors:\n  Not A Slug:\n    name: x\n")
    run = action(pr_env, tmp_path, environment="staging", comment="true", paths=str(bad))
    assert run.code == 1
    [body] = github.bodies(PR)
    assert body.startswith("<!-- adapter-sync-plan:staging -->")
    assert "**The plan failed**" in body and "3 to create" not in body
    assert "[the run log](https://github.example/acme/connectors/actions/runs/4242)" in body


def test_no_comment_without_the_input(pr_env: dict[str, str], github: FakeGitHub,
                                      tmp_path: Path) -> None:
    assert action(pr_env, tmp_path, environment="staging").code == 0
    assert github.requests == []


# --- safety: blocked and needs_force, as outputs and in the comment -----------------------------

PROTECTED = "protect: [crm-*]\n" + STAGING.replace(
    "    name: Acme CRM (staging)\n", "    name: Acme CRM (staging)\n    active: false\n")


def test_a_blocked_plan_is_an_output_and_the_comment_suggests_no_force(
        pr_env: dict[str, str], github: FakeGitHub, tmp_path: Path) -> None:
    cli(pr_env, "apply", "--auto-approve", str(EXAMPLE))
    run = action(pr_env, tmp_path, environment="staging", comment="true",
                 paths=str(config(tmp_path / "blocked", PROTECTED)))
    assert run.code == 0, run.log
    assert (run.outputs["has_changes"], run.outputs["blocked"]) == ("true", "true")
    assert run.outputs["deactivate_count"] == "1"
    [body] = github.bodies(PR)
    assert "**Apply will refuse this plan, even with `--force`**" in body
    assert "by hand" not in body  # no force that cannot pass

    refused = action(pr_env, tmp_path, command="apply", args="--force",
                     paths=str(config(tmp_path / "blocked", PROTECTED)))
    assert refused.code == 1 and refused.outputs["blocked"] == "true"


def test_a_plan_that_needs_force_says_how_to_force_it(pr_env: dict[str, str],
                                                      github: FakeGitHub,
                                                      tmp_path: Path) -> None:
    cli(pr_env, "apply", "--auto-approve", str(EXAMPLE))
    run = action(pr_env, tmp_path, environment="staging", comment="true", args="--prune",
                 paths=str(config(tmp_path / "empty", "version: 1\nconnectors: {}\n")))
    assert run.code == 0, run.log
    assert (run.outputs["needs_force"], run.outputs["blocked"]) == ("true", "false")
    [body] = github.bodies(PR)
    assert "run the apply workflow by hand with `force`" in body


def test_the_counts_are_outputs(pr_env: dict[str, str], tmp_path: Path) -> None:
    cli(pr_env, "apply", "--auto-approve", str(EXAMPLE))
    changed = STAGING.replace("Acme CRM (staging)", "Acme CRM v2").replace(
        "  support-inbox:", "  new-one:\n    name: New\n    accepted_kinds: [email]\n\n"
        "  support-inbox:")
    run = action(pr_env, tmp_path, paths=str(config(tmp_path / "c", changed)))
    assert {k: run.outputs[k] for k in ("create_count", "update_count", "reactivate_count",
                                        "deactivate_count", "has_changes", "needs_force",
                                        "blocked")} == {
        "create_count": "1", "update_count": "1", "reactivate_count": "0",
        "deactivate_count": "0", "has_changes": "true", "needs_force": "false",
        "blocked": "false"}


# --- the whole plan: a 6,000-create plan ----------------------------------------------------------

def test_a_6000_create_plan_names_the_artifact_that_holds_every_action(
        pr_env: dict[str, str], github: FakeGitHub, tmp_path: Path) -> None:
    lines = ["version: 1", "connectors:"]
    for i in range(6000):
        lines += [f"  svc-{i:05d}:", f"    name: Service {i}", "    accepted_kinds: [email]"]
    big = config(tmp_path / "big", "\n".join(lines) + "\n")
    artifact = "the workflow artifact `adapter-sync-plan-staging`"
    run = action(pr_env, tmp_path, environment="staging", comment="true", paths=str(big),
                 full_plan_at=artifact)
    assert run.code == 0, run.log
    [body] = github.bodies(PR)
    assert len(body) <= 65_536
    note = re.search(r"\*\*(\d+) more actions not shown here\*\*.*", body)
    assert note and f"the whole plan is in {artifact}" in note[0]
    assert "job summary" not in body
    # the artifact's files: the saved plan and the text plan, side by side, every action in both
    plan_file, text_file = Path(run.outputs["plan-file"]), Path(run.outputs["text-file"])
    assert plan_file.parent == text_file.parent
    text = text_file.read_text()
    assert all(f"+ create svc-{i:05d}\n" in text for i in range(6000))
    saved = json.loads(cli(pr_env, "show", str(plan_file), "--format", "json"))
    assert len(saved["actions"]) == 6000
    assert run.outputs["create_count"] == "6000"


def test_without_full_plan_at_the_note_names_this_runs_log(pr_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    lines = ["version: 1", "connectors:"]
    for i in range(3000):
        lines += [f"  svc-{i:05d}:", f"    name: Service {i} " + "x" * 40,
                  "    accepted_kinds: [email]"]
    run = action(pr_env, tmp_path, paths=str(config(tmp_path / "big", "\n".join(lines) + "\n")))
    assert run.code == 0, run.log
    assert "the whole plan is in the job log of [this run](https://github.example/acme/" \
        "connectors/actions/runs/4242)" in run.outputs["markdown"]
    whole = run.log.split("::group::The whole plan\n", 1)[1].split("::endgroup::", 1)[0]
    assert whole.count("+ create svc-") == 3000


# --- the drift issue ---------------------------------------------------------------------------

def test_drift_opens_one_issue_updates_it_and_closes_it_when_gone(
        pr_env: dict[str, str], github: FakeGitHub, tmp_path: Path) -> None:
    github.issues.append({"number": 1, "title": "unrelated", "body": "", "state": "open",
                          "labels": [{"name": "adapter-sync-drift"}]})
    first = action(pr_env, tmp_path, environment="staging", drift_issue="true")
    assert first.code == 0, first.log
    second = action(pr_env, tmp_path, environment="staging", drift_issue="true")
    assert second.code == 0, second.log
    [issue] = [i for i in github.open_issues() if i["number"] != 1]
    assert issue["title"] == "adapter-sync: live connectors differ from the repository (staging)"
    assert issue["body"].startswith("<!-- adapter-sync-drift:staging -->")
    assert "3 to create" in issue["body"]

    cli(pr_env, "apply", "--auto-approve", str(EXAMPLE))
    fixed = action(pr_env, tmp_path, environment="staging", drift_issue="true")
    assert fixed.code == 0, fixed.log
    assert issue["state"] == "closed"
    assert [i["number"] for i in github.open_issues()] == [1]  # not ours: left alone
    assert github.bodies(issue["number"])[-1].startswith("No drift any more")


def test_a_token_that_cannot_write_issues_fails_clearly(pr_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    run = action({**pr_env, "INPUT_GITHUB_TOKEN": READ_TOKEN}, tmp_path, drift_issue="true")
    assert run.code == 1
    assert "give the job `permissions: issues: write`" in run.log


def test_boolean_inputs_are_checked(pr_env: dict[str, str], tmp_path: Path) -> None:
    run = action(pr_env, tmp_path, comment="yes")
    assert run.code == 1 and "::error::input 'comment' must be true or false, not 'yes'" in run.log


# --- the base in a shallow checkout ------------------------------------------------------------

def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c",
                           "user.email=t@example.com", *args], check=True, capture_output=True,
                          text=True).stdout


def test_the_base_is_fetched_into_a_shallow_checkout(pr_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    config(origin / "connectors", STAGING)
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", ".")
    git(origin, "commit", "-q", "-m", "base")
    git(origin, "checkout", "-q", "-b", "feature")
    config(origin / "connectors", STAGING.replace("Acme CRM (staging)", "Acme CRM v2"))
    git(origin, "commit", "-q", "-am", "change")
    git(origin, "checkout", "-q", "main")
    checkout = tmp_path / "checkout"  # as actions/checkout does by default: one commit
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "feature",
                    f"file://{origin}", str(checkout)], check=True)
    assert git(checkout, "rev-parse", "--is-shallow-repository").strip() == "true"
    cli(pr_env, "apply", "--auto-approve", str(origin / "connectors"))  # main is live

    run = action(pr_env, tmp_path, cwd=checkout, paths="connectors/", base="origin/main")
    assert run.code == 0, run.log
    assert "::group::git fetch origin (the base origin/main is not in this checkout)" in run.log
    plan = run.plan_json(pr_env)
    assert [(a["source_name"], a["origin"]) for a in plan["actions"]] == [("crm-events", "change")]


# --- the plan document 2.0 (safety.blocked, safety.findings, summary) ------------------------------

def test_the_outputs_read_the_plan_document_2_0(action_env: dict[str, str],
                                                tmp_path: Path) -> None:
    # a stand-in adapter-sync whose `show --format json` prints the 2.0 document (#15)
    document = {
        "format_version": "2.0", "kind": "adapter-sync-plan", "has_changes": True,
        "summary": {"create": 2, "update": 0, "reactivate": 1, "deactivate": 1, "total": 4},
        "actions": [{"action": "deactivate", "source_name": "crm-events"}],
        "safety": {"needs_force": False, "blocked": True, "rules": {}, "findings": [
            {"code": "protected_inactive", "effect": "blocked", "subjects": ["crm-events"],
             "numbers": {}}]}}
    run = action({**action_env, **fake_cli(tmp_path, 'case "$1" in\n'
                                              "  validate) echo OK;;\n"
                                              "  plan) echo '## plan'; exit 2;;\n"
                                              f"  show) echo '{json.dumps(document)}';;\n"
                                              "esac\n")}, tmp_path)
    assert run.code == 0, run.log
    assert {k: run.outputs[k] for k in ("has_changes", "needs_force", "blocked", "create_count",
                                        "update_count", "reactivate_count",
                                        "deactivate_count")} == {
        "has_changes": "true", "needs_force": "false", "blocked": "true", "create_count": "2",
        "update_count": "0", "reactivate_count": "1", "deactivate_count": "1"}
    assert ("::warning title=adapter-sync::apply will refuse this plan --force or not "
            "(protected_inactive: crm-events)") in run.log


def test_a_cancelled_run_leaves_the_comment_to_the_newer_one(pr_env: dict[str, str],
                                                            github: FakeGitHub,
                                                            tmp_path: Path) -> None:
    # a stand-in adapter-sync whose plan takes long: the run is cancelled meanwhile, as a newer
    # push cancels it (GitHub signals the step's processes)
    started = tmp_path / "started"
    env = {**pr_env, **fake_cli(tmp_path, 'case "$1" in\n'
                                          "  validate) echo OK;;\n"
                                          f"  plan) touch {started}; sleep 60;;\n"
                                          "esac\n"), "INPUT_COMMENT": "true",
           "INPUT_ENVIRONMENT": "staging", "GITHUB_OUTPUT": str(tmp_path / "out"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    proc = subprocess.Popen([BASH, str(SCRIPT)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert started.exists()
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(30) != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert github.requests == []  # no "plan failed" notice over the newer run's comment


def test_the_token_never_follows_a_redirect_to_another_host(tmp_path: Path) -> None:
    # urllib keeps the Authorization header across redirects, to any host: the REST helper
    # must not hand the job's token to wherever an answer points
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"[]")

    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    target = f"http://127.0.0.1:{other.server_address[1]}/steal"

    class Api(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()

    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    for server in (other, api):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": PR}}))
        body = tmp_path / "body.md"
        body.write_text("<!-- m -->\nhello\n")
        env = {**os.environ, "GITHUB_API_URL": f"http://127.0.0.1:{api.server_address[1]}",
               "GITHUB_REPOSITORY": "acme/connectors", "GITHUB_EVENT_PATH": str(event),
               "INPUT_GITHUB_TOKEN": WRITE_TOKEN}
        proc = subprocess.run([sys.executable, str(SCRIPT.parent / "github-rest.py"), "comment",
                               "<!-- m -->", str(body)], capture_output=True, text=True,
                              timeout=60, env=env)
    finally:
        for server in (other, api):
            server.shutdown()
            server.server_close()
    assert all(WRITE_TOKEN not in auth for auth in seen), seen
    assert proc.returncode == 1
    assert "::error title=adapter-sync::GET " in proc.stdout
    assert "redirected" in proc.stdout and WRITE_TOKEN not in proc.stdout + proc.stderr
