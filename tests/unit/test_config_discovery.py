"""Which files a folder yields (#10): links followed with loop protection, any-case suffixes,
and nothing unreadable silently skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapter_sync.config import discover, load
from adapter_sync.config import discovery as discovery_module
from adapter_sync.errors import ConfigError


def write(folder: Path, name: str, text: str = "connectors: {}\n") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rel(found: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in found]


def problems_of(paths) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        discover([str(p) for p in paths])
    return [str(p) for p in caught.value.problems]


def test_a_symlinked_folder_is_followed(tmp_path: Path):
    """The bug: a symlinked connectors/shared folder was skipped, and with prune: true apply
    deactivated what it declared."""
    shared = tmp_path / "team-shared"
    write(shared, "shared.yaml", "connectors:\n  shared-one: {name: Shared}\n")
    config = tmp_path / "connectors"
    write(config, "own.yaml", "prune: true\nconnectors:\n  own: {name: Own}\n")
    (config / "shared").symlink_to(shared, target_is_directory=True)
    assert rel(discover([str(config)]), config) == ["own.yaml", "shared/shared.yaml"]
    desired = load([str(config)])
    assert sorted(desired.connectors) == ["own", "shared-one"] and desired.prune is True
    assert desired.connectors["shared-one"].location.file == str(config / "shared" / "shared.yaml")


def test_a_symlinked_file_is_found(tmp_path: Path):
    target = write(tmp_path / "elsewhere", "real.yaml")
    config = tmp_path / "connectors"
    config.mkdir()
    (config / "linked.yaml").symlink_to(target)
    assert rel(discover([str(config)]), config) == ["linked.yaml"]


def test_link_loops_end_and_each_file_is_found_once(tmp_path: Path):
    config = tmp_path / "connectors"
    write(config, "a/one.yaml")
    write(config, "b/two.yaml")
    (config / "a" / "back-to-top").symlink_to(config, target_is_directory=True)
    (config / "b" / "self").symlink_to(config / "b", target_is_directory=True)
    (config / "also-b").symlink_to(config / "b", target_is_directory=True)
    assert rel(discover([str(config)]), config) == ["a/one.yaml", "b/two.yaml"]


def test_upper_case_suffixes_are_found(tmp_path: Path):
    for name in ("A.YAML", "b.YML", "c.Yaml", "d.yaml", "e.yml", "f.YAML.bak", "g.txt"):
        write(tmp_path, name)
    assert rel(discover([str(tmp_path)]), tmp_path) == ["A.YAML", "b.YML", "c.Yaml", "d.yaml",
                                                        "e.yml"]


def test_hidden_files_and_folders_stay_skipped_even_through_links(tmp_path: Path):
    write(tmp_path, "shown.yaml")
    write(tmp_path, ".hidden.yaml")
    write(tmp_path, ".git/config.yaml")
    write(tmp_path / "outside", "x.yaml")
    (tmp_path / ".linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    found = discover([str(tmp_path)])
    assert rel(found, tmp_path) == ["outside/x.yaml", "shown.yaml"]


def test_a_broken_link_is_an_error_not_skipped(tmp_path: Path):
    write(tmp_path, "ok.yaml")
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "missing.yaml")
    (tmp_path / "gone-folder").symlink_to(tmp_path / "missing-folder", target_is_directory=True)
    assert problems_of([tmp_path]) == [
        f"{tmp_path / 'gone-folder'}: broken symbolic link to {tmp_path / 'missing-folder'} "
        "(its target does not exist)",
        f"{tmp_path / 'gone.yaml'}: broken symbolic link to {tmp_path / 'missing.yaml'} "
        "(its target does not exist)",
    ]
    assert problems_of([tmp_path / "gone.yaml"]) == [
        f"{tmp_path / 'gone.yaml'}: broken symbolic link to {tmp_path / 'missing.yaml'} "
        "(its target does not exist)"]


def test_a_folder_that_cannot_be_listed_is_an_error(tmp_path: Path, monkeypatch):
    """Simulated: the tests run as root, where chmod 000 does not stop reading; os.scandir is
    made to fail for one folder the way it fails on a folder without read permission."""
    write(tmp_path, "a.yaml")
    locked = tmp_path / "locked"
    write(locked, "hidden-from-us.yaml")
    real = os.scandir

    def scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(discovery_module.os, "scandir", scandir)
    assert problems_of([tmp_path]) == [f"{locked}: cannot read this folder: Permission denied"]
    with pytest.raises(ConfigError) as caught:
        load([str(tmp_path)])
    assert [str(p) for p in caught.value.problems] == [
        f"{locked}: cannot read this folder: Permission denied"]


def test_a_file_that_cannot_be_read_is_one_located_error(tmp_path: Path):
    """A real unreadable file, even for root: reading /proc/self/mem at offset 0 fails (EIO)."""
    mem = Path("/proc/self/mem")
    if not mem.exists():
        pytest.skip("needs Linux /proc")
    write(tmp_path, "a.yaml", "connectors:\n  a: {name: A}\n")
    (tmp_path / "b.yaml").symlink_to(mem)
    with pytest.raises(ConfigError) as caught:
        load([str(tmp_path)])
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'b.yaml'}:1:1: cannot read file: Input/output error"]


def test_the_same_folder_named_twice_is_read_once(tmp_path: Path):
    write(tmp_path, "a.yaml")
    assert rel(discover([str(tmp_path), str(tmp_path)]), tmp_path) == ["a.yaml"]
