"""A small simulated GitHub Actions runner, for the example workflows (tests only).

It runs a workflow file as written: jobs in ``needs`` order, matrix legs, job and step ``if:``,
``env:``, job outputs, GitHub environments (their secrets), and these steps:

- ``actions/checkout``: a clone of the origin repository at the event's ref, one commit deep
  unless ``fetch-depth: 0`` (as actions/checkout does);
- ``actions/upload-artifact`` / ``actions/download-artifact``: a folder per artifact name (the
  least common ancestor of the uploaded paths is the artifact's root, as upload-artifact does);
- ``*/adapter-sync@*``: action.yml's own ``adapter-sync`` step (its ``env:`` evaluated with the
  inputs: ``with:`` over action.yml's defaults), i.e. ``scripts/github-action.sh``, run from this
  source tree (the install step is skipped);
- ``run:``: bash, as GitHub runs it (``bash -e {0}``).

Anything else fails loudly, so the examples can't grow a step the test does not run. Expressions
(``${{ ... }}``) are evaluated by :func:`evaluate`: contexts, ``.``/``[]``, ``!``, ``==``,
``!=``, ``&&``, ``||`` (returning operands, as GitHub does), literals and the functions
``always``, ``success``, ``failure``, ``cancelled``, ``format``, ``contains``, ``fromJSON``,
``toJSON``; GitHub's loose equality (strings ignore case; mixed types compare as numbers).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
BASH = shutil.which("bash") or "bash"

# --- expressions ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')"
                    r"|(?P<op>==|!=|&&|\|\||<=|>=|[!<>()\[\],.])"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))")
_STATUS = re.compile(r"\b(always|success|failure|cancelled)\s*\(")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, i = [], 0
    text = text.strip()
    while i < len(text):
        match = _TOKEN.match(text, i)
        if not match or match.end() == i:
            raise ValueError(f"cannot read expression {text!r} at {text[i:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        i = match.end()
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip() or 0)
        except ValueError:
            return math.nan
    return math.nan


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b) and not isinstance(a, (dict, list)):
        return bool(a == b)
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return a is b
    return _number(a) == _number(b)


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "") and not (isinstance(value, float) and value == 0)


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _member(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        if key in value:
            return value[key]
        lowered = {str(k).lower(): v for k, v in value.items()}
        return lowered.get(str(key).lower())
    if isinstance(value, list) and isinstance(key, (int, float)) and 0 <= int(key) < len(value):
        return value[int(key)]
    return None


class _Parser:
    def __init__(self, text: str, context: dict[str, Any]) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.context = context

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.i]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r}, got {token[1]!r}")
        self.i += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.i != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.i][1]!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        if self.peek() in ("==", "!="):
            op = self.take()[1]
            right = self.unary()
            same = _equal(value, right)
            return same if op == "==" else not same
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                value = _member(value, self.take()[1])
            else:
                key = self.or_()
                self.take("]")
                value = _member(value, key)
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            return float(text)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind != "name":
            raise ValueError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == "(":
            self.take()
            args = []
            while self.peek() != ")":
                args.append(self.or_())
                if self.peek() == ",":
                    self.take()
            self.take(")")
            return self.call(text, args)
        return _member(self.context, text)

    def call(self, name: str, args: list[Any]) -> Any:
        status = self.context.get("__status__", "success")
        if name == "always":
            return True
        if name == "success":
            return status == "success"
        if name == "failure":
            return status == "failure"
        if name == "cancelled":
            return False
        if name == "format":
            return re.sub(r"\{(\d+)\}", lambda m: text_of(args[1 + int(m[1])]), text_of(args[0]))
        if name == "contains":
            haystack, needle = args
            if isinstance(haystack, list):
                return any(_equal(item, needle) for item in haystack)
            return text_of(needle).lower() in text_of(haystack).lower()
        if name == "fromJSON":
            return json.loads(text_of(args[0]))
        if name == "toJSON":
            return json.dumps(args[0])
        raise ValueError(f"unknown function {name}()")


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """The value of one expression (without ``${{ }}``)."""
    return _Parser(expression, context).parse()


def substitute(template: Any, context: dict[str, Any]) -> Any:
    """``template`` with every ``${{ expr }}`` replaced by its value as text."""
    if not isinstance(template, str):
        return text_of(template) if isinstance(template, bool) else template
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: text_of(evaluate(m[1], context)), template)


def condition(text: Any, context: dict[str, Any]) -> bool:
    """An ``if:``: with no status function, ``success() && (...)`` as GitHub reads it."""
    if text is None:
        text = "success()"
    if isinstance(text, bool):
        return text
    text = str(text).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    if not _STATUS.search(text):
        text = f"success() && ({text})"
    return truthy(evaluate(text, context))


# --- the runner -----------------------------------------------------------------------------------

def workflow(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def read_outputs(path: Path) -> dict[str, str]:
    """A $GITHUB_OUTPUT file: name=value lines and name<<DELIMITER blocks."""
    outputs: dict[str, str] = {}
    lines = path.read_text().split("\n") if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1:end])
            i = end + 1
        else:
            if "=" in line:
                name, value = line.split("=", 1)
                outputs[name] = value
            i += 1
    return outputs


@dataclass
class StepRun:
    name: str
    outcome: str  # success, failure or skipped
    log: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class JobRun:
    job: str
    matrix: dict[str, Any]
    result: str  # success, failure or skipped
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    @property
    def log(self) -> str:
        return "\n".join(f"--- {s.name} ({s.outcome})\n{s.log}" for s in self.steps)


@dataclass
class WorkflowRun:
    jobs: list[JobRun]

    def job(self, name: str, **matrix: Any) -> JobRun:
        found = [j for j in self.jobs if j.job == name
                 and all(j.matrix.get(k) == v for k, v in matrix.items())]
        assert len(found) == 1, (name, matrix, [(j.job, j.matrix) for j in self.jobs])
        return found[0]

    @property
    def results(self) -> dict[str, str]:
        return {j.job + "".join(f" ({v})" for v in j.matrix.values() if isinstance(v, str)
                                and not v.startswith("ADAPTER_")): j.result for j in self.jobs}


@dataclass
class Runner:
    """Runs workflows of the repository whose bare origin is ``origin``."""

    origin: Path
    work: Path
    repository: str
    api_url: str  # the fake GitHub REST API
    token: str  # the job's github.token
    secrets: dict[str, str] = field(default_factory=dict)
    environments: dict[str, dict[str, str]] = field(default_factory=dict)  # name → its secrets
    vars: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # the runner's own environment, added
    artifacts: dict[str, Path] = field(default_factory=dict)
    _runs: itertools.count = field(default_factory=lambda: itertools.count(100))

    def run(self, path: Path, event_name: str, event: dict[str, Any], ref: str,
            inputs: dict[str, Any] | None = None,
            before_job: Callable[[str], None] | None = None) -> WorkflowRun:
        """Run the workflow at ``path`` for an event on branch ``ref``; ``before_job(name)`` is
        called before each job starts (e.g. to change the live state in between)."""
        doc = workflow(path)
        run_id = str(next(self._runs))
        folder = self.work / f"run-{run_id}"
        folder.mkdir(parents=True)
        event_path = folder / "event.json"
        event_path.write_text(json.dumps(event))
        github = {
            "token": self.token, "repository": self.repository, "event_name": event_name,
            "event": event, "ref": f"refs/heads/{ref}", "ref_name": ref,
            "server_url": "https://github.example", "api_url": self.api_url, "run_id": run_id,
            "base_ref": ((event.get("pull_request") or {}).get("base") or {}).get("ref", ""),
            "head_ref": ((event.get("pull_request") or {}).get("head") or {}).get("ref", ""),
            "workflow": doc.get("name", path.name),
        }
        base_env = {
            **self.env, "GITHUB_ACTIONS": "true", "GITHUB_API_URL": self.api_url,
            "GITHUB_REPOSITORY": self.repository, "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path), "GITHUB_SERVER_URL": github["server_url"],
            "GITHUB_RUN_ID": run_id, "GITHUB_REF": github["ref"],
            "GITHUB_BASE_REF": github["base_ref"], "GITHUB_HEAD_REF": github["head_ref"],
            **{k.upper(): str(v) for k, v in (doc.get("env") or {}).items()},
        }
        context_base = {"github": github, "inputs": inputs or {}, "vars": self.vars}
        done: dict[str, list[JobRun]] = {}
        runs: list[JobRun] = []
        pending = dict(doc["jobs"])
        while pending:
            ready = [name for name, job in pending.items()
                     if all(n in done for n in _needs(job))]
            assert ready, f"a cycle in needs: {list(pending)}"
            for name in ready:
                job = pending.pop(name)
                needs = {n: {"result": _result(done[n]), "outputs": done[n][-1].outputs}
                         for n in _needs(job)}
                legs = []
                if before_job is not None:
                    before_job(name)
                for leg, matrix in enumerate(_matrix(job)):
                    job_folder = folder / f"{name}-{leg}"
                    job_folder.mkdir()
                    legs.append(self._job(name, job, matrix, needs, context_base, base_env,
                                          job_folder, ref))
                done[name] = legs
                runs += legs
        return WorkflowRun(runs)

    def _job(self, name: str, job: dict[str, Any], matrix: dict[str, Any],
             needs: dict[str, Any], context_base: dict[str, Any], base_env: dict[str, str],
             folder: Path, ref: str) -> JobRun:
        needs_ok = all(n["result"] == "success" for n in needs.values())
        context = {**context_base, "matrix": matrix, "needs": needs, "steps": {},
                   "__status__": "success" if needs_ok else "failure",
                   "runner": {"temp": str(folder / "temp"), "os": "Linux"}, "env": {}}
        run = JobRun(name, matrix, "skipped")
        if not condition(job.get("if"), context):
            return run
        environment = job.get("environment")
        if isinstance(environment, dict):
            environment = environment.get("name")
        environment = substitute(environment, context) if environment else None
        context["secrets"] = {**self.secrets, **self.environments.get(environment or "", {})}
        workspace = folder / "workspace"
        workspace.mkdir()
        (folder / "temp").mkdir()
        job_env = {**base_env, "GITHUB_WORKSPACE": str(workspace),
                   "RUNNER_TEMP": str(folder / "temp")}
        for key, value in (job.get("env") or {}).items():
            job_env[key] = substitute(value, context)
        context["env"] = dict(job_env)
        failed = False
        for number, step in enumerate(job["steps"]):
            context["__status__"] = "failure" if failed else "success"
            label = step.get("name") or step.get("uses") or "run"
            if not condition(step.get("if"), context):
                run.steps.append(StepRun(label, "skipped"))
                continue
            step_env = dict(job_env)
            for key, value in (step.get("env") or {}).items():
                step_env[key] = substitute(value, context)
            files = folder / f"step-{number}"
            files.mkdir()
            step_env["GITHUB_OUTPUT"] = str(files / "output")
            step_env["GITHUB_STEP_SUMMARY"] = str(files / "summary")
            for file in ("output", "summary"):
                (files / file).write_text("")
            ok, log = self._step(step, context, step_env, workspace, ref)
            outputs = read_outputs(files / "output")
            run.summary += (files / "summary").read_text()
            outcome = "success" if ok else "failure"
            run.steps.append(StepRun(label, outcome, log, outputs))
            if step.get("id"):
                context["steps"][step["id"]] = {"outputs": outputs, "outcome": outcome,
                                                "conclusion": outcome}
            failed = failed or not ok
        context["__status__"] = "failure" if failed else "success"
        run.outputs = {key: substitute(value, context)
                       for key, value in (job.get("outputs") or {}).items()}
        run.result = "failure" if failed else "success"
        return run

    def _step(self, step: dict[str, Any], context: dict[str, Any], env: dict[str, str],
              workspace: Path, ref: str) -> tuple[bool, str]:
        given = {k: substitute(v, context) for k, v in (step.get("with") or {}).items()}
        uses = step.get("uses", "")
        if "run" in step:
            script = substitute(step["run"], context)
            return self._process([BASH, "-e", "-c", script], env, workspace)
        if uses.startswith("actions/checkout@"):
            depth = int(given.get("fetch-depth", "1") or 0)
            command = ["git", "clone", "-q", "--no-tags", "--branch", ref]
            command += ["--depth", str(depth)] if depth else []
            return self._process([*command, f"file://{self.origin}", "."], env, workspace)
        if uses.startswith("actions/upload-artifact@"):
            paths = [Path(p.strip()) for p in given["path"].splitlines() if p.strip()]
            paths = [p if p.is_absolute() else workspace / p for p in paths]
            if not all(p.exists() for p in paths):
                return False, f"no file at {paths}"
            root = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in paths]))
            store = self.work / "artifacts" / given["name"] / str(next(self._runs))
            for p in paths:
                target = store / p.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                (shutil.copytree if p.is_dir() else shutil.copy2)(p, target)
            self.artifacts[given["name"]] = store
            return True, f"uploaded {given['name']}"
        if uses.startswith("actions/download-artifact@"):
            source = self.artifacts.get(given["name"])
            if source is None:
                return False, f"no artifact {given['name']}"
            target = workspace / given.get("path", ".")
            shutil.copytree(source, target, dirs_exist_ok=True)
            return True, f"downloaded {given['name']}"
        if re.fullmatch(r"[\w.-]+/adapter-sync@[\w.-]+", uses):
            return self._action(given, context, env, workspace)
        raise AssertionError(f"the simulated runner does not run {uses or step}")

    def _action(self, given: dict[str, str], context: dict[str, Any], env: dict[str, str],
                workspace: Path) -> tuple[bool, str]:
        unknown = set(given) - set(ACTION["inputs"])
        assert not unknown, f"inputs action.yml does not declare: {unknown}"
        inputs = {name: substitute(spec.get("default", ""), context)
                  for name, spec in ACTION["inputs"].items()}
        inputs.update(given)
        [step] = [s for s in ACTION["runs"]["steps"] if s.get("id") == "run"]
        action_context = {**context, "inputs": inputs}
        step_env = {**env, **{k: substitute(v, action_context) for k, v in step["env"].items()}}
        step_env["GITHUB_ACTION_PATH"] = str(ROOT)
        return self._process([BASH, str(ROOT / "scripts" / "github-action.sh")], step_env,
                             workspace)

    def _process(self, command: list[str], env: dict[str, str], cwd: Path) -> tuple[bool, str]:
        proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=300)
        return proc.returncode == 0, proc.stdout + proc.stderr


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _result(legs: list[JobRun]) -> str:
    if any(leg.result == "failure" for leg in legs):
        return "failure"
    return "success" if any(leg.result == "success" for leg in legs) else "skipped"


def _matrix(job: dict[str, Any]) -> list[dict[str, Any]]:
    matrix = dict((job.get("strategy") or {}).get("matrix") or {})
    include = matrix.pop("include", [])
    matrix.pop("exclude", None)
    legs = [dict(zip(matrix, values, strict=True)) for values in itertools.product(*matrix.values())] \
        if matrix else []
    if not legs:
        return [dict(entry) for entry in include] or [{}]
    return legs + [dict(entry) for entry in include]


def python_env() -> dict[str, str]:
    """The runner's environment for adapter-sync from this source tree."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "INPUT_", "ADAPTER_", "RUNNER_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                      env.get("PYTHONPATH")]))
    env["PYTHON"] = sys.executable
    env["NO_COLOR"] = "1"
    return env
