"""The GitHub Action: action.yml's shape, and its script run for real against the sandbox."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ghsim import read_outputs

# subprocesses and servers: end to end, over a second each (pytest -m 'not slow' skips)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "github-action.sh"
EXAMPLE = ROOT / "examples" / "environments" / "staging"
BASH = shutil.which("bash") or "bash"


def test_action_yml_is_a_composite_action_with_the_documented_interface() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert inputs["paths"]["default"] == "connectors/"
    assert inputs["command"]["default"] == "plan"
    # empty: the job's ADAPTER_API_URL, else adapter-sync's own default, is used (#12)
    assert inputs["api-url"]["default"] == ""
    for optional in ("api-url", "api-key", "version", "install-from", "python-version", "args",
                     "base", "plan-file", "environment"):
        assert inputs[optional]["required"] is False
        assert inputs[optional]["default"] == ""
    assert set(action["outputs"]) >= {"has_changes", "markdown", "markdown-file", "plan-file",
                                      "needs_force", "comment-marker"}
    assert action["outputs"]["has_changes"]["value"] == "${{ steps.run.outputs.has_changes }}"

    steps = action["runs"]["steps"]
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["if"] == "inputs.python-version != ''"
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert "github.action_path" in install["env"]["ACTION_PATH"]
    run = next(s for s in steps if s.get("id") == "run")
    assert "scripts/github-action.sh" in run["run"]
    assert set(run["env"]) >= {"INPUT_PATHS", "INPUT_COMMAND", "INPUT_API_URL", "INPUT_API_KEY",
                               "INPUT_ARGS", "INPUT_BASE", "INPUT_PLAN_FILE", "INPUT_ENVIRONMENT"}
    # the step does not set these itself, so the job's own values reach the script (#12)
    assert not set(run["env"]) & {"ADAPTER_API_URL", "ADAPTER_API_KEY"}
    assert "secrets." not in (ROOT / "action.yml").read_text().replace(
        "e.g. secrets.ADAPTER_API_KEY", "")  # an action cannot read secrets; the caller passes them
    assert all("shell" in s for s in steps if "run" in s)  # required in composite actions


@pytest.fixture
def action_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "ADAPTER_"))}
    src = str(ROOT / "src")
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")])),
        PYTHON=sys.executable,
        ADAPTER_API_URL=f"sandbox:{tmp_path / 's.db'}",
        INPUT_PATHS=str(EXAMPLE),
        RUNNER_TEMP=str(tmp_path),
        NO_COLOR="1",
    )
    return env


def run_action(env: dict[str, str], tmp_path: Path, command: str) -> tuple[int, str, dict[str, str], str]:
    """Run the script as the composite step does; returns (exit, log, outputs, summary)."""
    outputs, summary = tmp_path / f"output-{command}", tmp_path / f"summary-{command}"
    for file in (outputs, summary):
        file.write_text("")
    proc = subprocess.run(
        [BASH, str(SCRIPT)], capture_output=True, text=True, timeout=120,
        env={**env, "INPUT_COMMAND": command, "GITHUB_OUTPUT": str(outputs),
             "GITHUB_STEP_SUMMARY": str(summary)},
    )
    return proc.returncode, proc.stdout + proc.stderr, read_outputs(outputs), summary.read_text()


def test_plan_then_apply_then_no_changes(action_env: dict[str, str], tmp_path: Path) -> None:
    code, log, outputs, summary = run_action(action_env, tmp_path, "plan")
    assert code == 0, log
    assert outputs["has_changes"] == "true"
    assert summary.startswith("## adapter-sync plan")
    assert "create" in summary
    assert outputs["markdown"].strip() == summary.strip()
    assert Path(outputs["markdown-file"]).read_text() == summary

    code, log, outputs, summary = run_action(action_env, tmp_path, "apply")
    assert code == 0, log
    assert outputs["has_changes"] == "true"  # the plan, before apply
    assert "### Apply succeeded" in summary

    code, log, outputs, summary = run_action(action_env, tmp_path, "plan")
    assert code == 0, log
    assert outputs["has_changes"] == "false"
    assert "No changes" in summary


def test_invalid_config_fails_the_step_before_any_plan(action_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "connectors.yaml").write_text("version: 1\nconnectors:\n  Not A Slug:\n    name: x\n")
    code, log, outputs, summary = run_action({**action_env, "INPUT_PATHS": str(bad)}, tmp_path, "plan")
    assert code == 1
    assert "Not A Slug" in log
    assert "has_changes" not in outputs
    assert summary == ""


def test_unknown_command_is_refused(action_env: dict[str, str], tmp_path: Path) -> None:
    code, log, _, _ = run_action(action_env, tmp_path, "destroy")
    assert code == 1
    assert re.search(r"::error::input 'command' must be 'plan' or 'apply'", log)


def test_script_is_executable_bash() -> None:
    assert SCRIPT.read_text().startswith("#!/usr/bin/env bash\n")
    assert os.access(SCRIPT, os.X_OK)


def workflow(name: str) -> dict:
    doc = yaml.safe_load((ROOT / "examples" / "github" / name).read_text())
    doc["on"] = doc.pop(True)  # YAML 1.1 reads the key `on` as true; GitHub does not
    return doc


def action_steps(doc: dict) -> list[dict]:
    return [s for job in doc["jobs"].values() for s in job["steps"]
            if s.get("uses", "").endswith("/adapter-sync@v1")]


def test_the_apply_streams_into_the_job_log_as_it_runs(action_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    # a stand-in adapter-sync whose apply prints one result, works a while, prints another
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "adapter-sync"
    fake.write_text("#!/bin/sh\n"
                    'case "$1" in\n'
                    "  validate) echo OK;;\n"
                    "  plan) echo '## plan'; exit 2;;\n"
                    # the saved plan, as JSON: one action, safe
                    """  show) echo '{"has_changes": true, "actions": [{}], "safety": """
                    """{"needs_force": false, "blocked": false, "findings": []}, """
                    """"summary": {"create": 1, "update": 0, "reactivate": 0, """
                    """"deactivate": 0, "total": 1}}';;\n"""
                    "  apply) echo '✓ created first'; sleep 2; echo '✓ created second';;\n"
                    "esac\n")
    fake.chmod(0o755)
    env = {**action_env, "INPUT_COMMAND": "apply",
           "PATH": f"{bin_dir}{os.pathsep}{action_env['PATH']}",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"), "GITHUB_OUTPUT": str(tmp_path / "o")}
    start = time.monotonic()
    proc = subprocess.Popen([BASH, str(SCRIPT)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen: dict[str, float] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        for word in ("first", "second"):
            if f"created {word}" in line:
                seen[word] = time.monotonic() - start
    assert proc.wait(30) == 0
    assert seen["second"] - seen["first"] >= 1.5  # the first line was not held back
    assert "created second" in (tmp_path / "summary").read_text()
