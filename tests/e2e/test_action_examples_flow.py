"""The three example workflows, run as written (#17): a fresh copy of the example layout in a git
repository, its workflows parsed from the YAML files and run by a simulated runner
(tests/ghsim.py: GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH, INPUT_* from each step's
`with:`), against two sandboxes served over HTTP (one organisation per environment) and a local
fake of GitHub's REST API: pull request → merge → a console edit → the scheduled drift issue →
fixed. And a blocked plan never reaches apply."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import SandboxProcess
from fake_github import WRITE_TOKEN, FakeGitHub
from ghsim import Runner, python_env

# servers and many subprocesses (pytest -m 'not slow' skips)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PLAN, APPLY, DRIFT = (EXAMPLES / "github" / f"{name}.yml" for name in ("plan", "apply", "drift"))
ENVIRONMENTS = ("staging", "prod")
PR = 12


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=dev", "-c",
                           "user.email=dev@example.com", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


class Repo:
    """A fresh copy of the example layout: a bare origin and a developer's clone of it."""

    def __init__(self, tmp_path: Path) -> None:
        self.origin = tmp_path / "origin.git"
        self.dev = tmp_path / "dev"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.origin)], check=True)
        self.dev.mkdir()
        git(self.dev, "init", "-q", "-b", "main")
        for environment in ENVIRONMENTS:
            shutil.copytree(EXAMPLES / "environments" / environment,
                            self.dev / "connectors" / environment)
        workflows = self.dev / ".github" / "workflows"
        workflows.mkdir(parents=True)
        for example in (PLAN, APPLY, DRIFT):
            shutil.copy(example, workflows / f"adapter-sync-{example.name}")
        git(self.dev, "add", ".")
        git(self.dev, "commit", "-q", "-m", "connectors as code")
        git(self.dev, "remote", "add", "origin", str(self.origin))
        git(self.dev, "push", "-q", "origin", "main")

    def workflow(self, name: str) -> Path:
        return self.dev / ".github" / "workflows" / f"adapter-sync-{name}.yml"

    def edit(self, environment: str, old: str, new: str) -> None:
        path = self.dev / "connectors" / environment / "connectors.yaml"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))

    def commit_and_push(self, message: str, branch: str) -> str:
        git(self.dev, "commit", "-q", "-am", message)
        git(self.dev, "push", "-q", "origin", branch)
        return git(self.dev, "rev-parse", "HEAD")


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    yield fake
    fake.stop()


@pytest.fixture
def sandboxes(start_sandbox: Callable[..., SandboxProcess],
              tmp_path: Path) -> dict[str, SandboxProcess]:
    return {name: start_sandbox(tmp_path / f"{name}.db") for name in ENVIRONMENTS}


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


@pytest.fixture
def runner(repo: Repo, github: FakeGitHub, sandboxes: dict[str, SandboxProcess],
           tmp_path: Path) -> Runner:
    return Runner(
        origin=repo.origin, work=tmp_path / "runner", repository=github.repo,
        api_url=github.url, token=WRITE_TOKEN,
        # read-only keys for plans (the sandbox refuses writes with pk_live_ro_ keys)
        secrets={"ADAPTER_API_KEY_STAGING": "pk_live_ro_staging_reader",
                 "ADAPTER_API_KEY_PROD": "pk_live_ro_prod_reader"},
        environments={"staging": {"ADAPTER_API_KEY": "pk_live_staging_writer"},
                      "prod": {"ADAPTER_API_KEY": "pk_live_prod_writer"}},
        vars={"ADAPTER_API_URL_STAGING": sandboxes["staging"].url,
              "ADAPTER_API_URL_PROD": sandboxes["prod"].url,
              "PAGERDUTY_SERVICE_ID": "PXXXXXX"},
        # the runner's own setting for a sandbox served over plain HTTP on this machine
        env={**python_env(), "ADAPTER_SYNC_ALLOW_HTTP": "127.0.0.1"},
    )


def live(sandbox: SandboxProcess) -> dict[str, dict[str, Any]]:
    return {c["source_name"]: c for c in sandbox.state()}


def pull_request_event(repo: Repo, sha: str) -> dict[str, Any]:
    return {"number": PR, "pull_request": {
        "number": PR, "head": {"ref": "feature", "sha": sha}, "base": {"ref": "main"}}}


def push_event(repo: Repo) -> dict[str, Any]:
    return {"ref": "refs/heads/main", "after": git(repo.dev, "rev-parse", "HEAD")}


def test_pull_request_merge_console_drift_scheduled_drift_fixed(
        repo: Repo, runner: Runner, github: FakeGitHub,
        sandboxes: dict[str, SandboxProcess]) -> None:
    staging, prod = sandboxes["staging"], sandboxes["prod"]

    # 0. The first push to main applies both environments (nothing live yet).
    first = runner.run(repo.workflow("apply"), "push", push_event(repo), "main")
    assert first.results == {"plan-staging": "success", "apply-staging": "success",
                             "plan-prod": "success", "apply-prod": "success"}, \
        "\n".join(j.log for j in first.jobs)
    assert set(live(staging)) == {"crm-events", "support-inbox", "oncall-pages"}
    assert live(prod)["oncall-pages"]["metadata"]["pagerduty_service"] == "PXXXXXX"
    assert "### Apply succeeded" in first.job("apply-prod").summary

    # 1. A pull request: a plan per environment against main, one comment each.
    git(repo.dev, "checkout", "-q", "-b", "feature")
    repo.edit("staging", "name: Acme CRM (staging)", "name: Acme CRM v2 (staging)")
    repo.edit("prod", "name: Acme CRM\n", "name: Acme CRM v2\n")
    sha = repo.commit_and_push("crm: v2", "feature")
    planned = runner.run(repo.workflow("plan"), "pull_request", pull_request_event(repo, sha),
                         "feature")
    assert planned.results == {"plan (staging)": "success", "plan (prod)": "success"}, \
        "\n".join(j.log for j in planned.jobs)
    job = planned.job("plan", environment="staging")
    assert "::group::git fetch origin (the base origin/main is not in this checkout)" in job.log
    comments = github.bodies(PR)
    assert [c.splitlines()[0] for c in comments] == ["<!-- adapter-sync-plan:staging -->",
                                                    "<!-- adapter-sync-plan:prod -->"]
    assert all("1 to update" in c and "Acme CRM v2" in c for c in comments)
    assert f"Commit {sha[:7]}" in comments[0]
    artifact = runner.artifacts["adapter-sync-plan-staging"]
    assert sorted(p.name for p in artifact.iterdir()) == ["plan.json", "plan.txt"]
    assert "~ update crm-events" in (artifact / "plan.txt").read_text()

    #    A second push to the pull request: the same two comments, edited.
    repo.edit("staging", "name: Support inbox (staging)", "name: Support inbox v2 (staging)")
    sha = repo.commit_and_push("support: v2", "feature")
    runner.run(repo.workflow("plan"), "pull_request", pull_request_event(repo, sha), "feature")
    comments = github.bodies(PR)
    assert len(comments) == 2 and "2 to update" in comments[0] and "1 to update" in comments[1]

    # 2. Merged: the apply workflow applies each environment's plan.
    git(repo.dev, "checkout", "-q", "main")
    git(repo.dev, "merge", "-q", "--no-ff", "-m", "Merge pull request #12", "feature")
    git(repo.dev, "push", "-q", "origin", "main")
    merged = runner.run(repo.workflow("apply"), "push", push_event(repo), "main")
    assert set(merged.results.values()) == {"success"}, "\n".join(j.log for j in merged.jobs)
    assert live(staging)["crm-events"]["name"] == "Acme CRM v2 (staging)"
    assert live(staging)["support-inbox"]["name"] == "Support inbox v2 (staging)"
    assert live(prod)["crm-events"]["name"] == "Acme CRM v2"

    # 3. Someone edits a staging connector in the console.
    oncall = live(staging)["oncall-pages"]
    edited = staging.request("PATCH", f"/custom-connectors/{oncall['connector_id']}",
                             json={"name": "Edited in the console"})
    assert edited.status_code == 200, edited.text

    # 4. The scheduled drift check: one issue for staging, updated while the drift lasts.
    for _ in range(2):
        drift = runner.run(repo.workflow("drift"), "schedule", {"schedule": "17 6 * * 1-5"},
                           "main")
        assert drift.results == {"drift (staging)": "failure", "drift (prod)": "success"}
        [issue] = github.open_issues()
        assert issue["body"].startswith("<!-- adapter-sync-drift:staging -->")
        assert "oncall-pages" in issue["body"] and "Edited in the console" in issue["body"]
        assert issue["title"].endswith("(staging)")
    assert len(github.issues) == 1

    # 5. Fixed: the repository applied again by hand (no force needed), and the issue closed.
    fixed = runner.run(repo.workflow("apply"), "workflow_dispatch", {"inputs": {"force": False}},
                       "main", inputs={"force": False})
    assert fixed.results["apply-staging"] == "success", "\n".join(j.log for j in fixed.jobs)
    assert fixed.results["apply-prod"] == "skipped"  # prod had no changes: no approval asked
    assert live(staging)["oncall-pages"]["name"] == "On-call pages (staging)"
    clean = runner.run(repo.workflow("drift"), "schedule", {}, "main")
    assert set(clean.results.values()) == {"success"}
    assert github.open_issues() == [] and github.issues[0]["state"] == "closed"


def test_a_blocked_plan_is_never_applied_not_even_by_hand_with_force(
        repo: Repo, runner: Runner, github: FakeGitHub,
        sandboxes: dict[str, SandboxProcess]) -> None:
    staging = sandboxes["staging"]
    assert set(runner.run(repo.workflow("apply"), "push", push_event(repo),
                          "main").results.values()) == {"success"}
    # a protected connector declared inactive: apply refuses it, --force or not
    git(repo.dev, "checkout", "-q", "-b", "feature")
    repo.edit("staging", "version: 1\n", "version: 1\nprotect: [crm-*]\n")
    repo.edit("staging", "name: Acme CRM (staging)\n", "name: Acme CRM (staging)\n    active: false\n")
    sha = repo.commit_and_push("retire crm", "feature")
    runner.run(repo.workflow("plan"), "pull_request", pull_request_event(repo, sha), "feature")
    staging_comment = github.bodies(PR)[0]
    assert "**Apply will refuse this plan, even with `--force`**" in staging_comment
    assert "by hand" not in staging_comment

    git(repo.dev, "checkout", "-q", "main")
    git(repo.dev, "merge", "-q", "--no-ff", "-m", "Merge", "feature")
    git(repo.dev, "push", "-q", "origin", "main")
    pushed = runner.run(repo.workflow("apply"), "push", push_event(repo), "main")
    assert pushed.results["plan-staging"] == "failure"  # says why, on the run
    assert "::error::apply refuses this plan even with --force" in \
        pushed.job("plan-staging").log
    assert pushed.results["apply-staging"] == "skipped"
    forced = runner.run(repo.workflow("apply"), "workflow_dispatch", {"inputs": {"force": True}},
                        "main", inputs={"force": True})
    assert forced.results["apply-staging"] == "skipped"
    assert live(staging)["crm-events"]["is_active"] is True


def test_a_plan_made_stale_before_its_apply_is_refused(
        repo: Repo, runner: Runner, sandboxes: dict[str, SandboxProcess]) -> None:
    staging = sandboxes["staging"]
    runner.run(repo.workflow("apply"), "push", push_event(repo), "main")
    repo.edit("staging", "name: Acme CRM (staging)", "name: Acme CRM v3 (staging)")
    repo.commit_and_push("crm: v3", "main")

    def console_edit(job: str) -> None:  # between the reviewed plan and its apply
        if job == "apply-staging":  # the connector the plan updates
            crm = live(staging)["crm-events"]
            staging.request("PATCH", f"/custom-connectors/{crm['connector_id']}",
                            json={"metadata": {"team": "edited meanwhile"}})

    run = runner.run(repo.workflow("apply"), "push", push_event(repo), "main",
                     before_job=console_edit)
    assert run.results["plan-staging"] == "success"
    assert run.results["apply-staging"] == "failure"
    assert "stale" in run.job("apply-staging").log
    assert live(staging)["crm-events"]["name"] == "Acme CRM (staging)"  # not overwritten
