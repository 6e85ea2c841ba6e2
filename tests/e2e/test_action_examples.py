"""The example workflows (examples/github/*.yml) fit one layout and follow the review flow
(#12, #17): a plan per environment against the base branch with its own comment (posted by the
Action), the reviewed saved plan applied per environment only when it has changes and is not
blocked, forced only by hand, drift reported in one issue per environment, a time limit on every
job. tests/e2e/test_action_examples_flow.py runs them; this pins their shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from test_action import ROOT, action_steps, workflow

EXAMPLES = sorted((ROOT / "examples" / "github").glob("*.yml"))
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
ENVIRONMENTS = sorted(p.name for p in (ROOT / "examples" / "environments").iterdir() if p.is_dir())


def test_there_are_three_examples() -> None:
    assert [p.name for p in EXAMPLES] == ["apply.yml", "drift.yml", "plan.yml"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_job_has_a_time_limit(path: Path) -> None:
    for name, job in workflow(path.name)["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), name
        assert 0 < job["timeout-minutes"] <= 60, name


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_action_is_used_with_its_declared_inputs_and_outputs(path: Path) -> None:
    doc = workflow(path.name)
    for step in action_steps(doc):
        assert set(step["with"]) <= set(ACTION["inputs"]), step["with"]
    text = path.read_text()
    for output in re.findall(r"steps\.(?:plan|apply)\.outputs\.([\w-]+)", text):
        assert output in ACTION["outputs"], output


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_reads_the_one_layout(path: Path) -> None:
    # connectors/ENVIRONMENT/ and nothing else: two environments' files read together would
    # declare every source_name twice (#17)
    for step in action_steps(workflow(path.name)):
        if "paths" in step["with"]:
            paths = step["with"]["paths"]
            assert paths in ("connectors/${{ matrix.environment }}/",
                             *(f"connectors/{env}/" for env in ENVIRONMENTS)), paths
        assert step["with"].get("environment"), step  # one marker, one issue per environment
        assert step["with"]["api-key"].startswith("${{ secrets"), step
        assert step["with"]["api-url"].startswith("${{ vars"), step


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_jobs_reading_prod_get_its_variable(path: Path) -> None:
    for name, job in workflow(path.name)["jobs"].items():
        reads = [s["with"].get("paths", "") for s in job["steps"] if s in action_steps(
            {"jobs": {name: job}})]
        if any("prod" in p or "matrix" in p for p in reads):
            assert job["env"]["PAGERDUTY_SERVICE_ID"] == "${{ vars.PAGERDUTY_SERVICE_ID }}", name


# --- plan.yml -----------------------------------------------------------------------------------

def plan_job() -> dict:
    return workflow("plan.yml")["jobs"]["plan"]


def test_the_pull_request_plan_runs_once_per_environment_and_comments() -> None:
    doc = workflow("plan.yml")
    assert "pull_request" in doc["on"]
    assert doc["permissions"]["pull-requests"] == "write"
    job = plan_job()
    environments = [entry["environment"] for entry in job["strategy"]["matrix"]["include"]]
    assert sorted(environments) == ENVIRONMENTS
    assert job["strategy"]["fail-fast"] is False
    [step] = action_steps(doc)
    assert step["with"]["environment"] == "${{ matrix.environment }}"
    assert step["with"]["comment"] is True
    assert step["with"]["api-key"] == "${{ secrets[matrix.key] }}"
    assert step["with"]["base"] == "origin/${{ github.base_ref }}"  # the Action fetches it


def test_the_whole_plan_is_uploaded_and_the_comment_names_it() -> None:
    steps = plan_job()["steps"]
    [step] = action_steps(workflow("plan.yml"))
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "adapter-sync-plan-${{ matrix.environment }}"
    assert upload["with"]["path"].splitlines() == ["${{ steps.plan.outputs.plan-file }}",
                                              "${{ steps.plan.outputs.text-file }}"]
    assert "`adapter-sync-plan-${{ matrix.environment }}`" in step["with"]["full-plan-at"]


# --- apply.yml ----------------------------------------------------------------------------------

def apply_doc() -> dict:
    return workflow("apply.yml")


def test_apply_never_runs_two_applies_at_once() -> None:
    doc = apply_doc()
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["concurrency"] == {"group": "adapter-sync-apply", "cancel-in-progress": False}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_applies_exactly_its_reviewed_plan(environment: str) -> None:
    jobs = apply_doc()["jobs"]
    plan, apply = jobs[f"plan-{environment}"], jobs[f"apply-{environment}"]
    for output in ("has_changes", "needs_force", "blocked"):
        assert plan["outputs"][output] == f"${{{{ steps.plan.outputs.{output} }}}}"
    upload = next(s for s in plan["steps"] if s.get("uses", "").startswith("actions/upload-"))
    assert upload["with"]["name"] == f"adapter-sync-plan-{environment}"
    assert apply["needs"] == f"plan-{environment}"
    assert apply["environment"] == environment  # its write key, its reviewers
    # gated on has_changes AND not blocked (#17)
    assert apply["if"] == (f"needs.plan-{environment}.outputs.has_changes == 'true' && "
                           f"needs.plan-{environment}.outputs.blocked == 'false'")
    download = next(s for s in apply["steps"] if s.get("uses", "").startswith("actions/download-"))
    assert download["with"]["name"] == f"adapter-sync-plan-{environment}"
    [step] = [s for s in apply["steps"] if s.get("uses", "").endswith("/adapter-sync@v1")]
    assert step["with"]["command"] == "apply"
    assert step["with"]["plan-file"] == f"{download['with']['path']}/plan.json"
    assert step["with"]["api-key"] == "${{ secrets.ADAPTER_API_KEY }}"  # the environment's
    [planned] = [s for s in plan["steps"] if s.get("id") == "plan"]
    assert step["with"]["api-url"] == planned["with"]["api-url"]  # else the plan is refused
    assert not any(s.get("uses", "").startswith("actions/checkout@") for s in apply["steps"])


def test_the_apply_can_be_forced_only_by_a_deliberate_manual_run() -> None:
    doc = apply_doc()
    force = doc["on"]["workflow_dispatch"]["inputs"]["force"]
    assert force["type"] == "boolean" and force["default"] is False
    for step in (s for s in action_steps(doc) if s["with"]["command"] == "apply"):
        assert "${{ inputs.force && '--force' || '' }}" in step["with"]["args"]
        seconds = int(re.search(r"--max-duration (\d+)", step["with"]["args"])[1])
        assert seconds < 60 * 30


# --- drift.yml ----------------------------------------------------------------------------------

def test_drift_runs_on_a_schedule_with_one_issue_per_environment() -> None:
    doc = workflow("drift.yml")
    assert doc["on"]["schedule"][0]["cron"]
    assert doc["permissions"]["issues"] == "write"
    [step] = action_steps(doc)
    assert step["with"]["command"] == "plan"  # read only
    assert step["with"]["drift-issue"] is True
    fail = next(s for s in doc["jobs"]["drift"]["steps"] if "run" in s)
    assert fail["if"] == "steps.plan.outputs.has_changes == 'true'" and "exit 1" in fail["run"]
