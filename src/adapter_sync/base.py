"""The base of a three-way plan (``plan --base BASE``): a config file or folder, or a git
revision from which the same paths are read.

A pull request's plan compares two plans against the same live state: the one of this config
and the one of the base branch's config. :func:`load_base` reads that base config; the
planner's :func:`~adapter_sync.planner.label_origins` does the comparing.

A path is resolved against the repository at the revision the way the head resolves it in the
working tree: relative to the working directory (``../`` included) or absolute (CI passes
``$GITHUB_WORKSPACE/...``), folders searched as :mod:`adapter_sync.config.discovery` searches
them (``*.yaml``/``*.yml``, hidden names skipped, sorted), and symbolic links followed, read
from the revision: a link to a file or folder inside the repository is read at its target as
it was at that revision. A path (or a link) leading outside the repository has no copy at the
revision: an error, never a silent read of the working tree. The files read are copied into
one temporary folder, each at its repository path (normalised: never absolute, never ``..``),
so nothing is written outside it, and it is removed afterwards; problems name ``BASE:PATH``,
as ``git show`` spells it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from adapter_sync.errors import AdapterSyncError, ConfigError, Location, Problem
from adapter_sync.model import Desired

DEFAULT_PATHS = ("connectors.yaml", "connectors")
SUFFIXES = (".yaml", ".yml")
#: Symbolic links followed in one path at most (as the kernel's ELOOP limit).
MAX_LINKS = 40
_LINK, _TREE, _BLOB = "120000", "tree", "blob"


def load_base(base: str, paths: Sequence[str],
              load: Callable[[Sequence[str]], Desired]) -> Desired:
    """The config at ``base``: a file or folder (read as it is), else a git revision whose
    copy of ``paths`` is read (the default paths when none are given). Paths absent at that
    revision are an empty config: everything this config declares is then a change."""
    if os.path.exists(base):
        return load([base])
    revision = _revision(base)
    tree = _Tree(base, revision, _git("rev-parse", "--show-toplevel",
                                      what=f"--base {base}: the git repository"))
    files: list[tuple[str, str]] = []  # (path at the revision, blob) in the head's order
    seen: set[str] = set()
    if paths:
        for path in paths:
            files += tree.files(path, seen)
    else:  # as discovery does: ./connectors.yaml if it is a file, else ./connectors/
        first, folder = DEFAULT_PATHS
        files = tree.files(first, seen) if tree.is_file(first) else tree.files(folder, seen)
    if not files:
        return Desired()
    with tempfile.TemporaryDirectory(prefix="adapter-sync-base-") as tmp:
        root = os.path.realpath(tmp)
        found: list[str] = []
        for (path, _), content in zip(files, _blobs([blob for _, blob in files], base), strict=True):
            target = os.path.join(root, *PurePosixPath(path).parts)
            if os.path.commonpath([root, os.path.realpath(target)]) != root:  # never
                raise AdapterSyncError(f"--base {base}: refusing to write {path!r} outside "
                                       "the temporary folder")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as out:
                out.write(content)
            found.append(target)
        try:
            return load(found)
        except ConfigError as exc:  # name the revision, not the temporary copy
            raise ConfigError(_at_revision(p, root, base) for p in exc.problems) from None


def _revision(base: str) -> str:
    """The commit ``base`` names; in a shallow clone that lacks it, say how to fetch it."""
    what = f"--base {base}"
    try:
        return _git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}", what=what)
    except _GitFailed:
        pass
    try:
        shallow = _git("rev-parse", "--is-shallow-repository", what=what) == "true"
    except _GitFailed:
        shallow = False
    if not shallow:
        raise AdapterSyncError(f"--base {base!r}: neither a file or folder nor a git revision")
    raise AdapterSyncError(
        f"--base {base!r}: not in this shallow clone (a clone with --depth, as actions/checkout "
        f"makes by default, has only the commit it checked out): fetch the base first, "
        f"`{_fetch_command(base)}`, or check out with `fetch-depth: 0` (actions/checkout)")


def _fetch_command(base: str) -> str:
    """The command that fetches ``base`` into a shallow clone under the name it was given
    (a plain ``git fetch origin main`` updates no ``origin/main`` in a single-branch clone).
    A revision relative to another (``HEAD~1``, ``main^``, ``@{u}``) names no ref to fetch:
    the history it reaches back into is fetched whole."""
    if base.startswith("HEAD") or any(c in base for c in "~^@{}:"):
        return "git fetch --unshallow"
    try:
        remotes = _git("remote", what="git remote").split()
    except AdapterSyncError:
        remotes = []
    remote, _, branch = base.partition("/")
    if remote in remotes and branch:
        return f"git fetch --depth=1 {remote} +{branch}:refs/remotes/{remote}/{branch}"
    origin = "origin" if "origin" in remotes or not remotes else remotes[0]
    if len(base) >= 7 and all(c in "0123456789abcdef" for c in base.lower()):
        return f"git fetch --depth=1 {origin} {base}"  # a commit id
    return f"git fetch --depth=1 {origin} +{base}:refs/heads/{base}"


@dataclass(frozen=True)
class _Entry:
    mode: str
    kind: str  # blob, tree or commit (a submodule)
    sha: str


class _Tree:
    """The repository's tree at one revision, and paths resolved in it as the head's are."""

    def __init__(self, base: str, revision: str, root: str) -> None:
        self.base = base
        self.root = os.path.realpath(root)
        listing = _git("ls-tree", "-r", "-t", "-z", "--full-tree", revision,
                       what=f"--base {base}: git ls-tree", strip=False)
        self.entries: dict[str, _Entry] = {}
        self.children: dict[str, list[str]] = {}  # folder ("" the root) -> names, sorted
        for record in listing.split("\0"):
            if record:
                meta, _, name = record.partition("\t")
                mode, kind, sha = meta.split()
                self.entries[name] = _Entry(mode, kind, sha)
                folder, _, leaf = name.rpartition("/")
                self.children.setdefault(folder, []).append(leaf)
        for names in self.children.values():
            names.sort()

    # -- what the head's discovery does, at the revision

    def is_file(self, path: str) -> bool:
        entry = self.entries.get(self.resolve(self.parts(path), path))
        return entry is not None and entry.kind == _BLOB

    def files(self, path: str, seen: set[str]) -> list[tuple[str, str]]:
        """(path at the revision, blob) of the config files ``path`` names there."""
        parts = self.parts(path)
        target = self.resolve(parts, path)
        if target == "":
            shown = ""
        elif parts and parts[-1] not in (".", ".."):  # the name as given, its folder resolved
            parent = self.resolve(parts[:-1], path)
            shown = f"{parent}/{parts[-1]}" if parent else parts[-1]
        else:
            shown = target
        entry = self.entries.get(target) if target else _Entry("040000", _TREE, "")
        if entry is None:
            return []  # absent at the revision: an empty config
        if entry.kind == _BLOB:
            found = [(shown, target, entry.sha)]
        elif entry.kind == _TREE:
            found = sorted(self._walk(shown, target), key=lambda f: PurePosixPath(f[0]))
        else:
            return []
        out = []
        for name, resolved, sha in found:
            if resolved not in seen:
                seen.add(resolved)
                out.append((name, sha))
        return out

    def _walk(self, shown: str, target: str) -> Iterator[tuple[str, str, str]]:
        """(path as reached, path resolved, blob) of every config file below a folder: links
        to folders after the folders themselves, each folder once."""
        visited: set[str] = set()
        queue = [(shown, target)]
        while queue:
            folder_shown, folder = queue.pop(0)
            if folder in visited:
                continue
            visited.add(folder)
            links: list[tuple[str, str]] = []
            yield from self._list(folder_shown, folder, links)
            queue += links

    def _list(self, shown: str, folder: str,
              links: list[tuple[str, str]]) -> Iterator[tuple[str, str, str]]:
        prefix = f"{folder}/" if folder else ""
        for name in self.children.get(folder, ()):
            if name.startswith("."):
                continue
            path = prefix + name
            reached = f"{shown}/{name}" if shown else name
            entry = self.entries[path]
            if entry.mode == _LINK:
                resolved = self.resolve([name], reached, start=folder)
                target = self.entries.get(resolved) if resolved else None
                if resolved and target is None:
                    raise AdapterSyncError(
                        f"{self.base}:{reached}: broken symbolic link to "
                        f"{self._link(entry)} (its target does not exist at {self.base})")
                if target is None or target.kind == _TREE:
                    links.append((reached, resolved))
                    continue
                entry, path = target, resolved
            if entry.kind == _TREE:
                yield from self._list(reached, path, links)
            elif entry.kind == _BLOB and name.lower().endswith(SUFFIXES):
                yield reached, path, entry.sha

    # -- resolving a path at the revision

    def parts(self, path: str) -> list[str]:
        """``path`` (relative to the working directory, or absolute) as components from the
        repository's root, ``..`` and links left to :meth:`resolve`."""
        given = Path(os.getcwd(), path).parts
        for i in range(1, len(given) + 1):
            if os.path.realpath(os.path.join(*given[:i])) == self.root:
                return list(given[i:])
        raise AdapterSyncError(f"--base {self.base}: {path} is outside the git repository "
                               f"({self.root}), so it has no copy at {self.base}")

    def resolve(self, parts: Sequence[str], path: str, start: str = "") -> str:
        """The repository path that ``parts`` (from ``start``) lead to, following the links
        recorded at the revision ("" for the root)."""
        stack = [p for p in start.split("/") if p]
        todo = list(parts)
        links = 0
        while todo:
            part = todo.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if not stack:
                    raise AdapterSyncError(f"--base {self.base}: {path} leads outside the git "
                                           f"repository, so it has no copy at {self.base}")
                stack.pop()
                continue
            stack.append(part)
            entry = self.entries.get("/".join(stack))
            if entry is None or entry.mode != _LINK:
                continue
            links += 1
            if links > MAX_LINKS:
                raise AdapterSyncError(f"--base {self.base}: {path}: too many levels of "
                                       "symbolic links")
            stack.pop()
            target = self._link(entry)
            if target.startswith("/"):
                inside = os.path.relpath(target, self.root)
                if inside.split(os.sep)[0] == "..":
                    raise AdapterSyncError(
                        f"--base {self.base}: {path}: a symbolic link to {target}, outside "
                        f"the git repository, so it has no copy at {self.base}")
                stack, target = [], inside.replace(os.sep, "/")
            todo = target.split("/") + todo
        return "/".join(stack)

    def _link(self, entry: _Entry) -> str:
        return _blobs([entry.sha], self.base)[0].decode("utf-8", "surrogateescape")


def _blobs(shas: Sequence[str], base: str) -> list[bytes]:
    """The contents of ``shas``, in order, from one ``git cat-file --batch``."""
    what = f"--base {base}: git cat-file"
    try:
        done = subprocess.run(["git", "cat-file", "--batch"], input="\n".join(shas).encode()
                              + b"\n", capture_output=True, timeout=60, check=False)
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        raise AdapterSyncError(f"{what}: {exc}") from None
    if done.returncode != 0:
        raise AdapterSyncError(f"{what} ({' '.join(done.stderr.decode(errors='replace').split())})")
    out, at = [], 0
    data = done.stdout
    for sha in shas:
        newline = data.index(b"\n", at)
        header = data[at:newline].split()
        if len(header) != 3:  # "<sha> missing": an object this clone does not have
            raise AdapterSyncError(f"{what}: object {sha} is missing from this clone")
        size = int(header[2])
        out.append(data[newline + 1:newline + 1 + size])
        at = newline + 1 + size + 1
    return out


def _at_revision(problem: Problem, tmp: str, base: str) -> Problem:
    loc = problem.location
    message = problem.message.replace(tmp + os.sep, f"{base}:")
    if loc is None:
        return Problem(message)
    file = loc.file.replace(tmp + os.sep, f"{base}:")
    return Problem(message, Location(file, loc.line, loc.col))


class _GitFailed(AdapterSyncError):
    """git ran and said no (it is installed and answered)."""


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
        raise _GitFailed(f"{what}" + (f" ({detail})" if detail else ""))
    return done.stdout.strip() if strip else done.stdout
