"""Which files a command reads: config paths (files or folders) → the YAML files, in order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from adapter_sync.errors import ConfigError, Problem

DEFAULT_FILE = "connectors.yaml"
DEFAULT_DIR = "connectors"


def discover(paths: Sequence[str]) -> list[Path]:
    """The config files named by ``paths`` (files, or folders searched for *.yaml/*.yml)."""
    files, problems = find(paths)
    if problems:
        raise ConfigError(problems)
    return files


def find(paths: Sequence[str]) -> tuple[list[Path], list[Problem]]:
    """Like :func:`discover`, returning the problems instead of raising them. With no paths:
    ``./connectors.yaml`` if it is a file, else ``./connectors/``."""
    problems: list[Problem] = []
    if not paths:
        if Path(DEFAULT_FILE).is_file():
            paths = [DEFAULT_FILE]
        elif Path(DEFAULT_DIR).is_dir():
            paths = [DEFAULT_DIR]
        else:
            return [], [Problem(f"no config given, and neither ./{DEFAULT_FILE} nor "
                                f"./{DEFAULT_DIR}/ exists; pass a file or a folder")]
    files: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                f for pattern in ("*.yaml", "*.yml") for f in path.rglob(pattern)
                if f.is_file() and not any(p.startswith(".") for p in f.relative_to(path).parts)
            )
            if not found:
                problems.append(Problem(f"{raw}: no *.yaml or *.yml files in this folder"))
        elif path.exists():
            found = [path]
        else:
            problems.append(Problem(f"{raw}: no such file or folder"))
            continue
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files, problems
