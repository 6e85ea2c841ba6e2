"""Which files a command reads: config paths (files or folders) → the YAML files, in order.

A folder is searched recursively for ``*.yaml`` and ``*.yml`` files (any case: ``*.YAML`` too),
skipping hidden files and folders (names starting with ``.``). Symbolic links are followed, to
files and to folders; a folder reached twice (a link loop, or a link to a folder also reached
directly) is read once, at its own path when it has one. What cannot be read is an error,
never silently skipped: a folder that cannot be listed, a broken link. (A file that cannot be read is reported by the reader, at the file.) Files are
returned sorted by path, each once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from adapter_sync.errors import ConfigError, Problem

DEFAULT_FILE = "connectors.yaml"
DEFAULT_DIR = "connectors"
SUFFIXES = (".yaml", ".yml")


def discover(paths: Sequence[str]) -> list[Path]:
    """The config files named by ``paths`` (files, or folders searched for *.yaml/*.yml)."""
    files, problems = find(paths)
    if problems:
        raise ConfigError(problems)
    return files


def default_exists() -> bool:
    """Whether ``./connectors.yaml`` (a file) or ``./connectors/`` (a folder) exists."""
    return Path(DEFAULT_FILE).is_file() or Path(DEFAULT_DIR).is_dir()


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
        try:
            is_dir = path.is_dir()
        except OSError as exc:
            problems.append(Problem(f"{raw}: cannot read: {_reason(exc)}"))
            continue
        if is_dir:
            found: list[Path] = []
            known = len(problems)
            _walk(path, found, problems)
            found.sort()
            if not found and len(problems) == known:
                problems.append(Problem(f"{raw}: no *.yaml or *.yml files in this folder"))
        elif path.exists():
            found = [path]
        elif path.is_symlink():
            problems.append(_broken_link(path))
            continue
        else:
            problems.append(Problem(f"{raw}: no such file or folder"))
            continue
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files, problems


def _walk(root: Path, found: list[Path], problems: list[Problem]) -> None:
    """Add the config files below ``root`` to ``found``. Links to folders are followed after
    the folders themselves, so a file reachable both ways is found at its own path; each folder
    is listed once (by device and inode), which also ends link loops."""
    visited: set[tuple[int, int]] = set()
    links: list[Path] = []
    _list(root, found, visited, links, problems)
    while links:
        _list(links.pop(0), found, visited, links, problems)


def _list(folder: Path, found: list[Path], visited: set[tuple[int, int]], links: list[Path],
          problems: list[Problem]) -> None:
    try:
        status = folder.stat()
        key = (status.st_dev, status.st_ino)
        if key in visited:
            return
        visited.add(key)
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        problems.append(Problem(f"{folder}: cannot read this folder: {_reason(exc)}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = folder / entry.name
        try:
            is_dir = entry.is_dir()  # follows links
            is_file = not is_dir and entry.is_file()
            is_link = entry.is_symlink()
        except OSError as exc:
            problems.append(Problem(f"{path}: cannot read: {_reason(exc)}"))
            continue
        if is_dir:
            if is_link:
                links.append(path)
            else:
                _list(path, found, visited, links, problems)
        elif is_file:
            if entry.name.lower().endswith(SUFFIXES):
                found.append(path)
        elif is_link and not path.exists():
            problems.append(_broken_link(path))


def _broken_link(path: Path) -> Problem:
    try:
        target = f" to {os.readlink(path)}"
    except OSError:  # pragma: no cover - it was a link a moment ago
        target = ""
    return Problem(f"{path}: broken symbolic link{target} (its target does not exist)")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
