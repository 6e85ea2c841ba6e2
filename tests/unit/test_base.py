"""``plan --base REV PATH``: PATH is resolved against the repository at REV the way the head
resolves it in the working tree (issue #16): absolute paths, ``../`` from a subfolder,
subfolders, symbolic links inside the repository (read from the revision); nothing is written
outside the command's own temporary folder, which is removed; a shallow clone says how to
fetch the base. Real git repositories in tmp_path; the plan against the in-process sandbox."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from adapter_sync import config
from adapter_sync.base import load_base
from adapter_sync.engine import Engine, Settings
from adapter_sync.errors import AdapterSyncError, ConfigError


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                           "-c", "init.defaultBranch=main", "-C", str(repo), *args],
                          check=True, capture_output=True, text=True).stdout


def yaml(*slugs: str) -> str:
    return "connectors:\n" + "".join(f"  {s}: {{name: {s.title()}}}\n" for s in slugs)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """main holds connectors.yaml (a), sub/ and a linked team file; the working tree (the pull
    request) adds b to each."""
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "shared").mkdir()
    (root / "connectors").mkdir()
    git(root, "init", "-q")
    (root / "connectors.yaml").write_text(yaml("a"))
    (root / "sub" / "connectors.yaml").write_text(yaml("s"))
    (root / "shared" / "team-b.yaml").write_text(yaml("t"))
    (root / "connectors" / "team-b.yaml").symlink_to(Path("..", "shared", "team-b.yaml"))
    (root / "connectors" / "linked").symlink_to(Path("..", "shared"))
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    (root / "connectors.yaml").write_text(yaml("a", "b"))
    (root / "sub" / "connectors.yaml").write_text(yaml("s", "b"))
    (root / "shared" / "team-b.yaml").write_text(yaml("t", "b"))
    monkeypatch.chdir(root)
    return root


def declared(base: str, paths: list[str]) -> set[str]:
    return set(load_base(base, paths, config.load).connectors)


def test_an_absolute_path_is_read_from_the_revision(repo: Path) -> None:
    # Before: read from the working tree, so b (added by this change) was called drift.
    assert declared("HEAD", [str(repo / "connectors.yaml")]) == {"a"}
    assert declared("HEAD", [str(repo / "sub" / "connectors.yaml")]) == {"s"}
    assert declared("HEAD", [str(repo / "sub" / ".." / "connectors.yaml")]) == {"a"}


def test_a_relative_path_from_a_subfolder_is_read_from_the_revision(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "sub")
    assert declared("HEAD", ["connectors.yaml"]) == {"s"}
    assert declared("HEAD", ["../connectors.yaml"]) == {"a"}
    assert declared("HEAD", ["./../sub/connectors.yaml"]) == {"s"}
    assert declared("HEAD", []) == {"s"}  # the default path, from here


def test_nothing_is_written_outside_the_temporary_folder_and_it_is_removed(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: Path(tmp, "../connectors.yaml") wrote over $TMPDIR/connectors.yaml, and deeper
    # ../ further up, and left it there.
    scratch = tmp_path / "tmpdir" / "deeper"
    scratch.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    (repo / "sub" / "deep").mkdir()
    monkeypatch.chdir(repo / "sub" / "deep")
    before = sorted(p for p in tmp_path.rglob("*") if ".git" not in p.parts)
    assert declared("HEAD", ["../../connectors.yaml", str(repo / "connectors.yaml")]) == {"a"}
    assert declared("HEAD", ["../../connectors"]) == {"t"}
    after = sorted(p for p in tmp_path.rglob("*") if ".git" not in p.parts)
    assert after == before
    assert list(scratch.iterdir()) == []


def test_symbolic_links_are_followed_at_the_revision(repo: Path) -> None:
    # Before: the link's target path was read as YAML text ("../shared/team-b.yaml").
    assert declared("HEAD", ["connectors/team-b.yaml"]) == {"t"}
    assert declared("HEAD", ["connectors"]) == {"t"}  # the file and the linked folder: once
    assert declared("HEAD", ["connectors/linked"]) == {"t"}
    assert declared("HEAD", ["connectors/linked/../connectors.yaml"]) == {"a"}


def test_a_problem_in_the_base_names_the_revision_and_the_path(repo: Path) -> None:
    (repo / "sub" / "connectors.yaml").write_text("connectors:\n  Bad Slug: {name: x}\n")
    git(repo, "commit", "-q", "-am", "bad")
    with pytest.raises(ConfigError) as caught:
        load_base("HEAD", [str(repo / "sub" / "connectors.yaml")], config.load)
    text = str(caught.value)
    assert "HEAD:sub/connectors.yaml:2:" in text and tempfile.gettempdir() not in text


def test_a_path_outside_the_repository_is_refused_clearly(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(yaml("x"))
    with pytest.raises(AdapterSyncError, match="outside the git repository"):
        load_base("HEAD", [str(outside)], config.load)
    with pytest.raises(AdapterSyncError, match="outside the git repository"):
        load_base("HEAD", ["../elsewhere.yaml"], config.load)


def test_the_labels_are_right_whichever_way_the_path_is_given(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine(Settings(api_url=f"sandbox:{tmp_path / 'sandbox.db'}"))
    for given, cwd in [(str(repo / "connectors.yaml"), repo), ("../connectors.yaml",
                                                                repo / "sub"),
                       ("connectors/team-b.yaml", repo)]:
        monkeypatch.chdir(cwd)
        plan = engine.plan([given], base="HEAD").plan
        origins = {a.source_name: (a.kind, a.origin) for a in plan.actions}
        assert origins["b"] == ("create", "change"), given  # only this change adds b
        assert all(origin == "drift" for name, (_, origin) in origins.items() if name != "b")


def shallow_feature_clone(tmp_path: Path, *feature: str) -> Path:
    """A repository declaring `a` on main and `feature` on a branch (an empty commit when none),
    cloned as actions/checkout makes it: one commit of the branch."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q")
    (origin / "connectors.yaml").write_text(yaml("a"))
    git(origin, "add", ".")
    git(origin, "commit", "-q", "-m", "main")
    git(origin, "checkout", "-q", "-b", "feature")
    if feature:
        (origin / "connectors.yaml").write_text(yaml(*feature))
        git(origin, "commit", "-q", "-am", "feature")
    else:
        git(origin, "commit", "-q", "--allow-empty", "-m", "feature")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", origin.as_uri(),
        str(clone))
    return clone


def test_a_shallow_clone_says_how_to_fetch_the_base(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    clone = shallow_feature_clone(tmp_path, "a", "b")
    monkeypatch.chdir(clone)
    with pytest.raises(AdapterSyncError) as caught:
        load_base("origin/main", ["connectors.yaml"], config.load)
    message = str(caught.value)
    assert "shallow clone" in message and "fetch-depth: 0" in message
    fetch = message.split("`")[1]  # the command it suggests does what it says
    assert fetch.startswith("git fetch --depth=1 origin ")
    subprocess.run(fetch.split(), check=True, capture_output=True, cwd=clone)
    assert declared("origin/main", ["connectors.yaml"]) == {"a"}


def test_a_revision_that_does_not_exist_is_still_said_plainly(repo: Path) -> None:
    with pytest.raises(AdapterSyncError, match="neither a file or folder nor a git revision"):
        load_base("no-such-rev", ["connectors.yaml"], config.load)


def test_a_path_absent_at_the_revision_is_an_empty_config(repo: Path) -> None:
    (repo / "new.yaml").write_text(yaml("n"))
    assert declared("HEAD", ["new.yaml"]) == set()
    assert os.path.exists(repo / "new.yaml")


@pytest.mark.parametrize("base", ["main", "origin/main"])
def test_the_suggested_fetch_makes_the_base_resolve(base: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(shallow_feature_clone(tmp_path))
    with pytest.raises(AdapterSyncError, match="shallow clone") as caught:
        load_base(base, [], config.load)
    subprocess.run(str(caught.value).split("`")[1].split(), check=True, capture_output=True)
    assert declared(base, []) == {"a"}


@pytest.mark.parametrize("base", ["HEAD~1", "HEAD^", "feature~1", "origin/feature^"])
def test_the_suggested_fetch_of_a_relative_revision_makes_it_resolve(
        base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--base HEAD~1`` (a push compared with its parent) names no ref to fetch: the old
    suggestion, ``git fetch --depth=1 origin +HEAD~1:refs/heads/HEAD~1``, is no valid refspec."""
    monkeypatch.chdir(shallow_feature_clone(tmp_path, "a", "b"))
    with pytest.raises(AdapterSyncError, match="shallow clone") as caught:
        load_base(base, [], config.load)
    subprocess.run(str(caught.value).split("`")[1].split(), check=True, capture_output=True)
    assert declared(base, []) == {"a"}
