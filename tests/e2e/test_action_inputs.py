"""The Action's inputs (#12): args, base, plan-file, environment, api-url/api-key precedence and
the needs_force output, each run for real through scripts/github-action.sh against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_action import BASH, EXAMPLE, ROOT, SCRIPT, action_env

from ghsim import read_outputs

# subprocesses and servers: end to end, over a second each (pytest -m 'not slow' skips)
pytestmark = pytest.mark.slow

__all__ = ["action_env"]  # a fixture, used by name below

STAGING = (EXAMPLE / "connectors.yaml").read_text()  # 3 connectors
EMPTY = "version: 1\nconnectors: {}\n"


class Run:
    """One run of the script: exit status, the whole log, outputs, job summary."""

    def __init__(self, proc: subprocess.CompletedProcess, outputs: Path, summary: Path) -> None:
        self.code = proc.returncode
        self.log = proc.stdout + proc.stderr
        self.outputs = read_outputs(outputs)
        self.summary = summary.read_text()

    def plan_json(self, env: dict[str, str]) -> dict:
        """The saved plan (output plan-file), as `show --format json` renders it."""
        return json.loads(cli(env, "show", self.outputs["plan-file"], "--format", "json"))


def action(env: dict[str, str], tmp_path: Path, cwd: Path | None = None, **inputs: str) -> Run:
    """Run the script as the composite step does, with INPUT_<NAME> from ``inputs``."""
    runs = sorted(tmp_path.glob("run-*"))
    folder = tmp_path / f"run-{len(runs)}"
    folder.mkdir()
    outputs, summary = folder / "output", folder / "summary"
    outputs.write_text("")
    summary.write_text("")
    full = {**env, "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    full.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    proc = subprocess.run([BASH, str(SCRIPT)], capture_output=True, text=True, timeout=120,
                          env=full, cwd=cwd)
    return Run(proc, outputs, summary)


def cli(env: dict[str, str], *args: str) -> str:
    """adapter-sync ARGS with the action's environment (its ADAPTER_API_URL); stdout."""
    proc = subprocess.run([sys.executable, "-m", "adapter_sync", *args], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode in (0, 2), proc.stderr
    return proc.stdout


def config(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "connectors.yaml").write_text(text)
    return folder


def live_names(env: dict[str, str], active: bool = True) -> set[str]:
    """The source names live (active ones only, unless ``active`` is False)."""
    exported = yaml.safe_load(cli(env, "import", "--include-inactive")) or {}
    return {name for name, body in (exported.get("connectors") or {}).items()
            if not active or body.get("active", True)}


# --- args ---------------------------------------------------------------------------------

def test_args_reach_the_plan(action_env: dict[str, str], tmp_path: Path) -> None:
    run = action(action_env, tmp_path, args="--include 'crm*'")
    assert run.code == 0, run.log
    plan = run.plan_json(action_env)
    assert [a["source_name"] for a in plan["actions"]] == ["crm-events"]
    assert plan["provenance"]["selection"]["include"] == ["crm*"]
    assert "1 to create" in run.outputs["markdown"]


def test_args_are_split_like_a_shell_and_never_evaluated(action_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    hostile = ["team a*", "$(touch pwned1)", "`touch pwned2`", "x;touch pwned3", "it's",
               "$HOME", "a|b&c>pwned4", "*"]
    # double quotes included: a shell would run `...`, $(...) and expand $HOME in them; the
    # last one matches the example's connectors (a selection matching nothing is an error)
    args = ("--include 'team a*' --include \"$(touch pwned1)\" --include \"`touch pwned2`\" "
            "--include x\\;touch\\ pwned3 --include \"it's\" --include \"$HOME\" "
            "--include 'a|b&c>pwned4' --include '*'")
    run = action(action_env, tmp_path, cwd=tmp_path, args=args)
    assert run.code == 0, run.log
    assert run.plan_json(action_env)["provenance"]["selection"]["include"] == hostile
    assert not list(tmp_path.rglob("pwned*"))  # nothing ran
    assert not list(Path.cwd().glob("pwned*"))


def test_args_that_cannot_be_split_fail_clearly(action_env: dict[str, str],
                                                tmp_path: Path) -> None:
    run = action(action_env, tmp_path, args="--include 'crm*")
    assert run.code == 1
    assert "::error::input args cannot be split: No closing quotation" in run.log
    assert "has_changes" not in run.outputs


@pytest.mark.parametrize("option", ["--format json", "--out=x.json", "--plan x.json",
                                    "--base main", "--detailed-exitcode", "--auto-approve"])
def test_args_may_not_take_over_the_actions_own_options(action_env: dict[str, str],
                                                        tmp_path: Path, option: str) -> None:
    run = action(action_env, tmp_path, args=f"--prune {option}")
    assert run.code == 1
    assert f"::error::input args must not contain {option.split()[0].split('=')[0]}" in run.log


# --- api-url / api-key ----------------------------------------------------------------------

def test_an_empty_api_url_input_keeps_the_jobs_adapter_api_url(action_env: dict[str, str],
                                                               tmp_path: Path) -> None:
    assert action(action_env, tmp_path, command="apply").code == 0  # the job's sandbox: applied
    job_url = action_env["ADAPTER_API_URL"]

    same = action(action_env, tmp_path, api_url="")
    assert same.code == 0, same.log
    assert same.outputs["has_changes"] == "false"  # it read the job's sandbox
    assert same.plan_json(action_env)["provenance"]["api_url"] == job_url

    other_url = f"sandbox:{tmp_path / 'other.db'}"
    other = action(action_env, tmp_path, api_url=other_url)
    assert other.code == 0, other.log
    assert other.outputs["has_changes"] == "true"  # the input wins when it is set
    assert other.plan_json(action_env)["provenance"]["api_url"] == other_url


def fake_cli(tmp_path: Path, body: str) -> dict[str, str]:
    """PATH additions for a stand-in adapter-sync running the shell ``body``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "adapter-sync"
    fake.write_text("#!/bin/sh\n" + body)
    fake.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


SAFE_PLAN = ("""'{"has_changes": false, "actions": [], "safety": {"needs_force": false, """
             """"blocked": false, "findings": []}, "summary": {"create": 0, "update": 0, """
             """"reactivate": 0, "deactivate": 0, "total": 0}}'""")


CHANGES_PLAN = SAFE_PLAN.replace('"has_changes": false', '"has_changes": true')


def test_the_job_summary_stays_under_1_mib_with_the_plan_and_the_apply_report(
        action_env: dict[str, str], tmp_path: Path) -> None:
    # GitHub's limit is 1 MiB of bytes per step; the Markdown plan (under 65,000 characters)
    # and the apply's report (under 200,000) are counted in characters: in 4-byte characters
    # the two together are over a MiB
    saved = tmp_path / "plan.json"
    saved.write_text("{}")
    wide = "\U0001F600"
    body = f"""case "$1" in
  show) case "$*" in
    *markdown*) python3 -c 'print("\\U0001F600" * 64000)';;
    *json*) echo {CHANGES_PLAN};;
    *) echo text;;
  esac;;
  apply) while [ $# -gt 0 ]; do
      if [ "$1" = --summary-out ]; then
        python3 -c 'import sys; open(sys.argv[1], "w").write("\\U0001F600" * 199000)' "$2"
      fi
      shift
    done;;
esac
"""
    env = {**action_env, **fake_cli(tmp_path, body)}
    run = action(env, tmp_path, command="apply", plan_file=str(saved))
    assert run.code == 0, run.log
    summary = (tmp_path / "run-0" / "summary").read_bytes()
    assert len(summary) <= 1024 * 1024
    assert summary.decode("utf-8").startswith(wide)  # cut on a character, never inside one
    assert "cut here" in summary.decode("utf-8")


@pytest.mark.parametrize(("job_key", "input_key", "seen"), [
    ("key-from-the-job", "", "key-from-the-job"),
    ("key-from-the-job", "key-from-the-input", "key-from-the-input"),
    ("", "key-from-the-input", "key-from-the-input"),
])
def test_api_key_input_or_the_jobs_key(action_env: dict[str, str], tmp_path: Path,
                                       job_key: str, input_key: str, seen: str) -> None:
    record = tmp_path / "keys"
    path = fake_cli(tmp_path, f'echo "$1:$ADAPTER_API_KEY" >> "{record}"\n'
                              f'case "$1" in show) echo {SAFE_PLAN};; esac\n')
    env = {**action_env, **path, "ADAPTER_API_KEY": job_key}
    run = action(env, tmp_path, api_key=input_key)
    assert run.code == 0, run.log
    assert set(record.read_text().split()) == {f"{cmd}:{seen}" for cmd in ("validate", "plan", "show")}
    assert seen not in run.log  # never printed


# --- plan-file --------------------------------------------------------------------------------

def test_plan_file_saves_the_plan_and_apply_applies_exactly_it(action_env: dict[str, str],
                                                              tmp_path: Path) -> None:
    saved = tmp_path / "artifact" / "adapter-sync-plan.json"
    plan = action(action_env, tmp_path, plan_file=str(saved), args="--exclude 'support-*'")
    assert plan.code == 0, plan.log
    assert plan.outputs["plan-file"] == str(saved) and saved.is_file()
    assert plan.outputs["has_changes"] == "true"

    # the apply job: no config at all (the paths are not read), only the saved plan
    apply = action(action_env, tmp_path, command="apply", plan_file=str(saved),
                   paths=str(tmp_path / "nowhere"))
    assert apply.code == 0, apply.log
    assert "::group::adapter-sync validate" not in apply.log
    assert apply.outputs["has_changes"] == "true"
    assert apply.outputs["markdown"] == plan.outputs["markdown"]  # what was reviewed
    assert "### Apply succeeded" in apply.summary
    assert live_names(action_env) == {"crm-events", "oncall-pages"}  # exactly the plan


def test_a_saved_plan_is_refused_when_the_live_state_changed(action_env: dict[str, str],
                                                              tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert action(action_env, tmp_path, plan_file=str(saved)).code == 0
    cli(action_env, "apply", "--auto-approve", "--include", "crm-*", str(EXAMPLE))  # meanwhile
    apply = action(action_env, tmp_path, command="apply", plan_file=str(saved))
    assert apply.code == 1
    assert "stale" in apply.log
    assert "::error::adapter-sync apply failed" in apply.log
    assert "### Apply FAILED" in apply.summary
    assert live_names(action_env) == {"crm-events"}  # nothing else was applied


def test_apply_of_a_missing_plan_file_fails_clearly(action_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    run = action(action_env, tmp_path, command="apply", plan_file=str(tmp_path / "none.json"))
    assert run.code == 1
    assert "::error::input plan-file: no saved plan at" in run.log


def test_apply_without_plan_file_applies_the_plan_it_showed(action_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    run = action(action_env, tmp_path, command="apply", args="--include 'crm-*'")
    assert run.code == 0, run.log
    assert "1 to create" in run.summary
    assert live_names(action_env) == {"crm-events"}
    assert run.plan_json(action_env)["provenance"]["selection"]["include"] == ["crm-*"]


# --- base -------------------------------------------------------------------------------------

def test_base_tells_changes_from_drift(action_env: dict[str, str], tmp_path: Path) -> None:
    base = config(tmp_path / "base", STAGING)
    drifted = config(tmp_path / "drifted", STAGING.replace("On-call pages (staging)", "Edited"))
    cli(action_env, "apply", "--auto-approve", str(drifted))  # live: oncall-pages edited by hand
    head = config(tmp_path / "head", STAGING.replace("Acme CRM (staging)", "Acme CRM v2"))

    run = action(action_env, tmp_path, paths=str(head), base=str(base))
    assert run.code == 0, run.log
    plan = run.plan_json(action_env)
    assert plan["provenance"]["base"] == str(base)
    assert {a["source_name"]: a["origin"] for a in plan["actions"]} == {
        "crm-events": "change", "oncall-pages": "drift"}
    assert "Drift" in run.outputs["markdown"]


def test_base_as_a_git_revision_as_in_a_pull_request(action_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    config(repo / "connectors", STAGING)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)
    cli(action_env, "apply", "--auto-approve", str(repo / "connectors"))
    config(repo / "connectors", STAGING.replace("Acme CRM (staging)", "Acme CRM v2"))

    run = action(action_env, tmp_path, cwd=repo, paths="connectors/", base="main")
    assert run.code == 0, run.log
    plan = run.plan_json(action_env)
    assert [(a["source_name"], a["origin"]) for a in plan["actions"]] == [("crm-events", "change")]


# --- safety: needs_force and --force ------------------------------------------------------------

def test_needs_force_is_an_output_and_args_can_force_the_apply(action_env: dict[str, str],
                                                               tmp_path: Path) -> None:
    assert action(action_env, tmp_path, command="apply").code == 0  # 3 connectors live
    empty = str(config(tmp_path / "empty", EMPTY))

    plan = action(action_env, tmp_path, paths=empty, args="--prune")
    assert plan.code == 0, plan.log
    assert plan.outputs["needs_force"] == "true"
    assert ("::warning title=adapter-sync::apply will refuse this plan without --force "
            "(none_left: deactivating 3, live_active 3)") in plan.log
    assert "without `--force`" in plan.outputs["markdown"]

    refused = action(action_env, tmp_path, command="apply", paths=empty, args="--prune")
    assert refused.code == 1
    assert "--force" in refused.log
    assert live_names(action_env) == {"crm-events", "oncall-pages", "support-inbox"}

    # --prune goes to the plan, --force to the apply: each command gets the options it has
    forced = action(action_env, tmp_path, command="apply", paths=empty, args="--prune --force")
    assert forced.code == 0, forced.log
    assert forced.outputs["needs_force"] == "true"
    assert live_names(action_env) == set()


def test_a_saved_plan_that_needs_force_is_applied_with_args_force(action_env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    assert action(action_env, tmp_path, command="apply").code == 0
    saved = tmp_path / "plan.json"
    plan = action(action_env, tmp_path, paths=str(config(tmp_path / "empty", EMPTY)),
                  args="--prune", plan_file=str(saved))
    assert plan.outputs["needs_force"] == "true"

    refused = action(action_env, tmp_path, command="apply", plan_file=str(saved))
    assert refused.code == 1 and "--force" in refused.log
    assert refused.outputs["needs_force"] == "true"
    assert "apply will refuse this plan without --force (none_left" in refused.log
    forced = action(action_env, tmp_path, command="apply", plan_file=str(saved),
                    args="--force --concurrency 2")
    assert forced.code == 0, forced.log
    assert live_names(action_env) == set()


def test_a_blocked_plan_is_annotated_as_refused_force_or_not(action_env: dict[str, str],
                                                             tmp_path: Path) -> None:
    assert action(action_env, tmp_path, command="apply").code == 0
    names = sorted(live_names(action_env))
    body = "".join(f"  {n}: {{name: Named{', active: false' if n == names[0] else ''}}}\n"
                   for n in names)
    blocked = str(config(tmp_path / "blocked", f'protect: ["{names[0]}"]\nconnectors:\n'
                         + body))
    plan = action(action_env, tmp_path, paths=blocked)
    assert plan.code == 0, plan.log
    assert ("::warning title=adapter-sync::apply will refuse this plan --force or not "
            f"(protected_inactive: {names[0]})") in plan.log


def test_a_safe_plan_does_not_need_force(action_env: dict[str, str], tmp_path: Path) -> None:
    run = action(action_env, tmp_path)
    assert run.outputs["needs_force"] == "false"
    assert "::warning" not in run.log


# --- environment and the comment marker -----------------------------------------------------------

@pytest.mark.parametrize(("environment", "marker"), [
    ("staging", "<!-- adapter-sync-plan:staging -->"),
    ("prod", "<!-- adapter-sync-plan:prod -->"),
    ("", "<!-- adapter-sync-plan -->"),
])
def test_the_comment_marker_names_the_environment(action_env: dict[str, str], tmp_path: Path,
                                                  environment: str, marker: str) -> None:
    run = action(action_env, tmp_path, environment=environment)
    assert run.code == 0, run.log
    assert run.outputs["comment-marker"] == marker


def test_the_comment_marker_is_set_even_when_the_plan_fails(action_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    bad = config(tmp_path / "bad", "version: 1\nconnectors:\n  Not A Slug:\n    name: x\n")
    run = action(action_env, tmp_path, paths=str(bad), environment="prod")
    assert run.code == 1
    assert run.outputs == {"comment-marker": "<!-- adapter-sync-plan:prod -->"}


@pytest.mark.parametrize(("environment", "marker"), [
    ("a b", "<!-- adapter-sync-plan:a_b -->"), ("x-->", "<!-- adapter-sync-plan:x--_ -->"),
    ("<!--", "<!-- adapter-sync-plan -->"), ("-lead", "<!-- adapter-sync-plan:lead -->"),
    ("a" * 65, f"<!-- adapter-sync-plan:{'a' * 64} -->"), ("é", "<!-- adapter-sync-plan -->"),
])
def test_an_environment_that_would_break_the_marker_is_refused(action_env: dict[str, str],
                                                               tmp_path: Path,
                                                               environment: str,
                                                               marker: str) -> None:
    run = action(action_env, tmp_path, environment=environment)
    assert run.code == 1
    assert "::error::input 'environment' must be" in run.log
    # documented "set even when the step fails": with the name sanitized, never breaking the
    # HTML comment (#16)
    assert run.outputs == {"comment-marker": marker}


@pytest.mark.parametrize("inputs", [
    {"environment": "x\n::warning::injected"}, {"command": "plan2\n::warning::injected"},
    {"comment": "yes\n::warning::injected"}, {"drift-issue": "no\r\n::warning::injected"},
    {"command": "apply", "plan_file": "nope\n::warning::injected"},
    {"command": "%0A::warning::injected"},
])
def test_an_input_in_an_error_annotation_cannot_start_a_workflow_command(
        action_env: dict[str, str], tmp_path: Path, inputs: dict[str, str]) -> None:
    # GitHub reads each line of the log as a possible workflow command: a newline (or an
    # encoded one, "%0A", which GitHub decodes) in a quoted input must stay inside the error
    run = action(action_env, tmp_path, **{k.replace("-", "_"): v for k, v in inputs.items()})
    assert run.code == 1
    errors = [line for line in run.log.splitlines() if line.startswith("::error::")]
    assert len(errors) == 1, run.log
    assert not any(line.startswith("::warning::") for line in run.log.splitlines()), run.log
    # GitHub shows the message decoded (%0A a line break, %25 a percent sign): the input as given
    shown = (errors[0].replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%"))
    assert list(inputs.values())[-1] in shown


def test_paths_on_several_lines_may_hold_spaces(action_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    # one path per line when the input has several lines (as `paths: |` writes them): a folder
    # whose name has a space can be named; on one line, spaces still separate paths
    spaced = config(tmp_path / "team a" / "connectors", STAGING)
    other = config(tmp_path / "team-b", "version: 1\nconnectors:\n  other-one: {name: O}\n")
    run = action(action_env, tmp_path, paths=f"  {spaced}  \n\n{other}\n")
    assert run.code == 0, run.log
    assert run.outputs["create_count"] == "4"
    run = action(action_env, tmp_path, paths=f"{other} {other}")
    assert run.code == 0, run.log


def test_a_failed_validate_closes_its_log_group(action_env: dict[str, str],
                                                tmp_path: Path) -> None:
    bad = config(tmp_path / "bad", "version: 1\nconnectors:\n  Not A Slug:\n    name: x\n")
    run = action(action_env, tmp_path, paths=str(bad))
    assert run.code == 1
    lines = run.log.splitlines()
    opened = lines.index("::group::adapter-sync validate")
    closed = lines.index("::endgroup::", opened)
    error = next(i for i, line in enumerate(lines) if line.startswith("::error::"))
    assert opened < closed < error  # the error annotation is outside the group, seen at once
    assert "::error::adapter-sync validate: the configuration is invalid" in run.log


# --- outputs --------------------------------------------------------------------------------------

def test_two_runs_in_one_job_keep_their_own_files(action_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    first = action(action_env, tmp_path, paths=str(EXAMPLE), environment="staging")
    second = action(action_env, tmp_path, paths=str(config(tmp_path / "empty", EMPTY)),
                    environment="prod")
    assert first.outputs["markdown-file"] != second.outputs["markdown-file"]
    assert first.outputs["plan-file"] != second.outputs["plan-file"]
    assert Path(first.outputs["markdown-file"]).read_text().strip() == first.outputs["markdown"]
    assert "3 to create" in first.outputs["markdown"]


def test_the_markdown_output_is_the_whole_bounded_plan(action_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    # a plan whose Markdown is over the old 60,000-byte cut: adapter-sync bounds it already
    lines = ["version: 1", "connectors:"]
    for i in range(600):
        lines += [f"  connector-{i:04d}:", f"    name: Connector number {i} with a longer name",
                  "    metadata:", f"      team: team-{i % 17}", f"      owner: owner-{i}@example.com"]
    big = config(tmp_path / "big", "\n".join(lines) + "\n")
    run = action(action_env, tmp_path, paths=str(big))
    assert run.code == 0, run.log
    markdown = Path(run.outputs["markdown-file"]).read_text()
    assert len(markdown.encode()) > 60_000 and len(markdown) < 65_000
    assert run.outputs["markdown"] == markdown.rstrip("\n")
    assert "truncated" not in run.outputs["markdown"]


# --- action.yml -----------------------------------------------------------------------------------

def test_inputs_reach_the_scripts_only_as_environment_variables() -> None:
    action_yml = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action_yml["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")  # no template injection


def install_step(tmp_path: Path, **env: str) -> str:
    """Run the action's install step with a stand-in python3; returns what pip was asked for."""
    action_yml = yaml.safe_load((ROOT / "action.yml").read_text())
    [step] = [s for s in action_yml["runs"]["steps"] if "pip install" in s.get("run", "")]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    asked = tmp_path / "asked"
    fake_python = (  # `python3 -m venv DIR` makes DIR/bin/python (records pip's last argument)
        "#!/bin/sh\n"
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"\n'
        f"  printf '#!/bin/sh\\nfor a; do last=$a; done; echo \"$last\" > {asked}\\n'"
        ' > "$3/bin/python"\n'
        "  printf '#!/bin/sh\\necho adapter-sync 0\\n' > \"$3/bin/adapter-sync\"\n"
        '  chmod +x "$3/bin/python" "$3/bin/adapter-sync"; fi\n')
    (bin_dir / "python3").write_text(fake_python)
    (bin_dir / "python3").chmod(0o755)
    (tmp_path / "runner").mkdir()
    full = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VERSION": "",
            "INSTALL_FROM": "", "ACTION_PATH": "/from/expression", "RUNNER_TEMP": str(tmp_path / "runner"),
            "GITHUB_PATH": str(tmp_path / "github_path"), **env}
    proc = subprocess.run([BASH, "-c", step["run"]], env=full, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "github_path").read_text().strip().endswith("adapter-sync-venv/bin")
    return asked.read_text().strip()


def test_the_install_step_installs_the_actions_own_checkout_by_default(tmp_path: Path) -> None:
    assert install_step(tmp_path, GITHUB_ACTION_PATH="/actions/your-org/adapter-sync/v1") == \
        "/actions/your-org/adapter-sync/v1"


def test_the_install_step_falls_back_to_the_action_path_expression(tmp_path: Path) -> None:
    assert install_step(tmp_path) == "/from/expression"


def test_the_install_step_honours_install_from_and_version(tmp_path: Path) -> None:
    git = "git+https://github.com/OWNER/adapter-sync@v1.2.3"
    assert install_step(tmp_path / "a", INSTALL_FROM=git, GITHUB_ACTION_PATH="/x") == git
    assert install_step(tmp_path / "b", VERSION="1.2.3", INSTALL_FROM=git) == "adapter-sync==1.2.3"
