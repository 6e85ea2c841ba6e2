"""The base of a three-way plan (``plan --base BASE``): a config file or folder, or a git
revision from which the same paths are read.

A pull request's plan compares two plans against the same live state: the one of this config
and the one of the base branch's config. :func:`load_base` reads that base config; the
planner's :func:`~adapter_sync.planner.label_origins` does the comparing.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from adapter_sync.errors import AdapterSyncError, ConfigError, Location, Problem
from adapter_sync.model import Desired

DEFAULT_PATHS = ("connectors.yaml", "connectors")


def load_base(base: str, paths: Sequence[str],
              load: Callable[[Sequence[str]], Desired]) -> Desired:
    """The config at ``base``: a file or folder (read as it is), else a git revision whose
    copy of ``paths`` is read (the default paths when none are given). Paths absent at that
    revision are an empty config: everything this config declares is then a change."""
    if os.path.exists(base):
        return load([base])
    revision = _git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}",
                    what=f"--base {base!r}: neither a file or folder nor a git revision")
    listed = {path: _listed(revision, path) for path in paths}
    if not paths:  # as discovery does: ./connectors.yaml if it exists, else ./connectors/
        for path in DEFAULT_PATHS:
            listed = {path: _listed(revision, path)}
            if listed[path]:
                break
    with tempfile.TemporaryDirectory(prefix="adapter-sync-base-") as tmp:
        found: list[str] = []
        for path, names in listed.items():
            files = [f for f in names if f.lower().endswith((".yaml", ".yml"))]
            for name in files:
                text = _git("show", f"{revision}:./{name}", what=f"--base {base}: {name}",
                            strip=False)
                target = Path(tmp, name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            if files:
                found.append(str(Path(tmp, path)))
        if not found:
            return Desired()
        try:
            return load(found)
        except ConfigError as exc:  # name the revision, not the temporary copy
            raise ConfigError(_at_revision(p, tmp, base) for p in exc.problems) from None


def _at_revision(problem: Problem, tmp: str, base: str) -> Problem:
    loc = problem.location
    message = problem.message.replace(tmp + os.sep, f"{base}:")
    if loc is None:
        return Problem(message)
    file = loc.file.replace(tmp + os.sep, f"{base}:")
    return Problem(message, Location(file, loc.line, loc.col))


def _listed(revision: str, path: str) -> list[str]:
    """Files under ``path`` at ``revision`` (relative to the working directory)."""
    out = _git("ls-tree", "-r", "--name-only", revision, "--", path,
               what=f"git ls-tree {revision} {path}")
    return [line for line in out.splitlines() if line]


def _git(*args: str, what: str, strip: bool = True) -> str:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=60,
                              check=False)
    except FileNotFoundError:
        raise AdapterSyncError(f"{what}: git is not installed") from None
    except subprocess.TimeoutExpired:
        raise AdapterSyncError(f"{what}: git did not answer within 60 s") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.split())[:200]
        raise AdapterSyncError(f"{what}" + (f" ({detail})" if detail else ""))
    return done.stdout.strip() if strip else done.stdout
