"""The example workflows (examples/github/*.yml) follow the review flow of #12: a plan per
environment against the base branch with its own sticky comment (replaced even when the plan
fails), the reviewed saved plan applied after approval, a time limit on every job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from test_action import ROOT, action_steps, workflow

EXAMPLES = sorted((ROOT / "examples" / "github").glob("*.yml"))
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def script_of(step: dict) -> str:
    return step["with"]["script"]


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
def test_no_comment_or_issue_body_is_cut_blindly(path: Path) -> None:
    # adapter-sync keeps the Markdown plan under 65,000 characters, deactivations first
    text = path.read_text()
    assert not re.search(r"\b(plan|body)\.(slice|substring|substr)\(", text)
    assert not re.search(r"readFileSync\([^)]*\)\s*\.(slice|substring|substr)\(", text)


# --- plan.yml -----------------------------------------------------------------------------------

def plan_job() -> dict:
    return workflow("plan.yml")["jobs"]["plan"]


def test_the_pull_request_plan_runs_once_per_environment() -> None:
    job = plan_job()
    environments = [entry["environment"] for entry in job["strategy"]["matrix"]["include"]]
    assert environments == ["staging", "prod"]
    assert job["strategy"]["fail-fast"] is False
    [step] = action_steps(workflow("plan.yml"))
    assert step["with"]["environment"] == "${{ matrix.environment }}"
    assert "${{ matrix.environment }}" in step["with"]["paths"]


def test_the_pull_request_plan_compares_with_the_base_branch() -> None:
    job = plan_job()
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the base branch is fetched too
    [step] = action_steps(workflow("plan.yml"))
    assert step["with"]["base"] == "origin/${{ github.base_ref }}"


def comment_step() -> dict:
    return next(s for s in plan_job()["steps"] if "updateComment" in s.get("with", {}).get(
        "script", ""))


def test_the_comment_step_runs_always_with_its_environments_marker() -> None:
    step = comment_step()
    assert step["if"] == "always()"  # a failed plan replaces the old comment too
    assert step["env"]["MARKER"] == "${{ steps.plan.outputs.comment-marker }}"
    assert step["env"]["OUTCOME"] == "${{ steps.plan.outcome }}"
    script = script_of(step)
    # the fallback marker (plan step never ran) is the action's marker for this environment
    assert "`<!-- adapter-sync-plan:${environment} -->`" in script
    assert "c.body.startsWith(marker)" in script  # staging's comment never takes prod's
    assert "process.env.OUTCOME === 'success'" in script and "The plan failed" in script
    assert "JOB_STATUS === 'cancelled'" in script  # a superseded run leaves the newer comment


def test_the_comment_says_when_apply_will_need_force() -> None:
    step = comment_step()
    assert step["env"]["NEEDS_FORCE"] == "${{ steps.plan.outputs.needs_force }}"
    assert "--force" in script_of(step)


# --- apply.yml ----------------------------------------------------------------------------------

def apply_doc() -> dict:
    return workflow("apply.yml")


def test_the_plan_job_saves_and_uploads_the_plan() -> None:
    job = apply_doc()["jobs"]["plan"]
    [step] = [s for s in job["steps"] if s.get("id") == "plan"]
    assert step["with"]["command"] == "plan"
    assert step["with"]["plan-file"] == "adapter-sync-plan.json"
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "${{ steps.plan.outputs.plan-file }}"
    assert upload["with"]["name"] == "adapter-sync-plan"
    assert job["outputs"]["has_changes"] == "${{ steps.plan.outputs.has_changes }}"
    assert job["outputs"]["needs_force"] == "${{ steps.plan.outputs.needs_force }}"


def test_the_apply_job_applies_exactly_the_reviewed_plan() -> None:
    doc = apply_doc()
    job = doc["jobs"]["apply"]
    assert job["needs"] == "plan"
    assert job["environment"] == "production"  # required reviewers: the review
    assert job["if"] == "needs.plan.outputs.has_changes == 'true'"
    download = next(s for s in job["steps"]
                    if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["name"] == "adapter-sync-plan"
    [step] = [s for s in job["steps"] if s.get("uses", "").endswith("/adapter-sync@v1")]
    assert step["with"]["command"] == "apply"
    [saved] = [s for s in doc["jobs"]["plan"]["steps"] if s.get("id") == "plan"]
    assert step["with"]["plan-file"] == saved["with"]["plan-file"]  # the downloaded file
    assert not any(s.get("uses", "").startswith("actions/checkout@") for s in job["steps"])


def test_the_apply_can_be_forced_only_by_a_deliberate_manual_run() -> None:
    doc = apply_doc()
    force = doc["on"]["workflow_dispatch"]["inputs"]["force"]
    assert force["type"] == "boolean" and force["default"] is False
    [step] = [s for s in action_steps(doc) if s["with"]["command"] == "apply"]
    assert "${{ inputs.force && '--force' || '' }}" in step["with"]["args"]
    assert "--max-duration" in step["with"]["args"]  # stops cleanly inside timeout-minutes
    seconds = int(re.search(r"--max-duration (\d+)", step["with"]["args"])[1])
    assert seconds < 60 * doc["jobs"]["apply"]["timeout-minutes"]


# --- drift.yml ----------------------------------------------------------------------------------

def test_the_drift_issue_body_has_a_guard_not_a_cut() -> None:
    text = (ROOT / "examples" / "github" / "drift.yml").read_text()
    assert "65536" in text and "run summary" in text
