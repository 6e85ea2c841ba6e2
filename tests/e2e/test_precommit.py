"""The pre-commit hook: its definition, and its entry run the way pre-commit runs it."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from clirun import env_with_cli_on_path

ROOT = Path(__file__).resolve().parents[2]
GOOD = "version: 1\nconnectors:\n  crm:\n    name: Acme CRM\n    accepted_kinds: [email]\n"
BAD = "version: 1\nconnectors:\n  crm:\n    name: Acme CRM\n    accepted_kinds: [fax]\n"


@pytest.fixture(scope="module")
def hook() -> dict:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["adapter-sync-validate"]
    return hooks[0]


def test_hook_definition(hook: dict) -> None:
    assert hook["language"] == "python"  # pre-commit installs this repository as a package
    assert hook["entry"] == "adapter-sync validate"
    assert hook["pass_filenames"] is False  # the whole config is validated, not file by file
    files = re.compile(hook["files"])
    assert files.search("connectors/crm.yaml") and files.search("connectors.yml")
    assert not files.search("README.md")


@pytest.fixture
def entry_env(tmp_path: Path) -> dict[str, str]:
    """An `adapter-sync` command on PATH running this source."""
    return env_with_cli_on_path(tmp_path)


def run_hook(hook: dict, env: dict[str, str], cwd: Path, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*shlex.split(hook["entry"]), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_entry_passes_a_good_config_and_fails_a_bad_one(hook: dict, entry_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    folder = tmp_path / "connectors"
    folder.mkdir()
    (folder / "crm.yaml").write_text(GOOD)
    ok = run_hook(hook, entry_env, tmp_path, ["connectors/"])
    assert ok.returncode == 0, ok.stderr
    assert "OK: 1 connector" in ok.stdout

    (folder / "crm.yaml").write_text(BAD)
    bad = run_hook(hook, entry_env, tmp_path, ["connectors/"])
    assert bad.returncode == 1
    assert "crm.yaml:5" in bad.stderr  # points at the line with the unknown kind
    assert "fax" in bad.stderr


def test_entry_without_args_validates_the_default_folder(hook: dict, entry_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "a.yaml").write_text(GOOD)
    (tmp_path / "connectors" / "b.yaml").write_text(GOOD.replace("Acme CRM", "Other"))
    result = run_hook(hook, entry_env, tmp_path, [])
    assert result.returncode == 1  # the same source_name in two files: only a whole-folder check sees it
    assert "a.yaml" in result.stderr and "b.yaml" in result.stderr


REV = re.compile(r"^[\s#-]*rev:\s*(\S+)", re.MULTILINE)


def git_tags() -> set[str]:
    try:
        proc = subprocess.run(["git", "-C", str(ROOT), "tag", "--list"], capture_output=True,
                              text=True, timeout=30)
    except OSError:
        return set()
    return set(proc.stdout.split()) if proc.returncode == 0 else set()


def commit_exists(sha: str) -> bool:
    proc = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{sha}^{{commit}}"],
                          capture_output=True, timeout=30)
    return proc.returncode == 0


@pytest.mark.parametrize("path", [".pre-commit-hooks.yaml", "docs/ci.md"])
def test_the_documented_rev_exists_or_says_how_to_pin_one(path: str) -> None:
    # `rev: v0.1.0` was documented while no such tag existed (#12)
    text = (ROOT / path).read_text()
    revs = REV.findall(text)
    assert revs, f"{path} shows no rev"
    for rev in revs:
        if rev == "<commit-sha>":  # a placeholder, with the way to fill it in next to it
            assert "pre-commit autoupdate" in text and "git ls-remote" in text
        elif re.fullmatch(r"[0-9a-f]{40}", rev):
            assert commit_exists(rev), rev
        else:
            assert rev in git_tags(), f"{path}: rev {rev} is no tag of this repository"
