"""What a team adopting adapter-sync checks first (#17): the licence it declares, the project's
own CI on every Python it claims, a release workflow (sdist and wheel, trusted publishing, a
GitHub release), action.yml and every workflow valid against GitHub's schemas (offline), and docs
that say how to install a pinned release."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = (ROOT / "pyproject.toml").read_text()  # tomllib: Python 3.11+ only
WORKFLOWS = sorted([*(ROOT / ".github" / "workflows").glob("*.yml"),
                    *(ROOT / "examples" / "github").glob("*.yml")])


def workflow(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True)  # YAML 1.1 reads the key `on` as true
    return doc


def steps(job: dict) -> list[dict]:
    return job["steps"]


def test_the_licence_is_the_mit_licence_pyproject_declares() -> None:
    assert '\nlicense = { text = "MIT" }\n' in PYPROJECT
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the adapter-sync authors\n")
    assert "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND" in text


def test_ci_runs_the_checks_and_the_tests_on_every_supported_python() -> None:
    doc = workflow(ROOT / ".github" / "workflows" / "ci.yml")
    assert {"push", "pull_request"} <= set(doc["on"])
    lint = " ".join(s.get("run", "") for s in steps(doc["jobs"]["lint"]))
    for check in ("ruff check .", "mypy --strict src/adapter_sync", "deptry .",
                  "check-jsonschema --builtin-schema vendor.github-actions action.yml",
                  "check-jsonschema --builtin-schema vendor.github-workflows "
                  ".github/workflows/*.yml examples/github/*.yml"):
        assert check in lint, check
    test = doc["jobs"]["test"]
    assert test["strategy"]["matrix"]["python"] == ["3.10", "3.11", "3.12", "3.13"]
    assert '\nrequires-python = ">=3.10"\n' in PYPROJECT
    assert any(s.get("run") == ".ci/run" for s in steps(test))
    setup = next(s for s in steps(test) if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "${{ matrix.python }}"


def test_ci_runs_the_readme_quickstart_exactly() -> None:
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
    assert quickstart.startswith("python3 -m venv .venv && ")
    job = workflow(ROOT / ".github" / "workflows" / "ci.yml")["jobs"]["quickstart"]
    assert [s["run"] for s in steps(job) if "run" in s] == [quickstart + "\n"]


def test_ci_run_checks_action_yml_and_every_workflow() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "check-jsonschema --builtin-schema vendor.github-actions action.yml" in script
    assert ("check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml "
            "examples/github/*.yml") in script
    test_extra = PYPROJECT.split("\ntest = [", 1)[1].split("\n]", 1)[0]
    assert '"check-jsonschema' in test_extra


def test_a_tag_builds_publishes_and_releases() -> None:
    doc = workflow(ROOT / ".github" / "workflows" / "release.yml")
    assert doc["on"] == {"push": {"tags": ["v*"]}}
    assert doc["permissions"] == {"contents": "read"}  # each job asks for what it needs
    build = doc["jobs"]["build"]
    assert any(s.get("run") == "python -m build" for s in steps(build))
    publish = doc["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}  # trusted publishing, no token
    assert publish["needs"] == "build"
    assert any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")
               for s in steps(publish))
    assert not any("password" in (s.get("with") or {}) for s in steps(publish))
    release = doc["jobs"]["github-release"]
    assert release["permissions"] == {"contents": "write"}
    assert any('gh release create "$TAG" dist/*' in s.get("run", "") for s in steps(release))


def test_the_release_notes_are_the_versions_changelog_section(tmp_path: Path) -> None:
    doc = workflow(ROOT / ".github" / "workflows" / "release.yml")
    run = next(s["run"] for s in steps(doc["jobs"]["github-release"]) if "awk" in s.get("run", ""))
    command = re.search(r"awk .*?CHANGELOG\.md", run, re.DOTALL)[0].replace("\\\n", " ")
    (tmp_path / "CHANGELOG.md").write_text(
        "# Changelog\n\n## [Unreleased]\n\n- next\n\n## [0.2.0] - 2026-12-05\n\n### Added\n\n"
        "- requires:\n\n## [0.1.0] - 2026-11-01\n\n- first\n")
    notes = subprocess.run(["bash", "-c", f"TAG=v0.2.0; {command}"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert notes == "\n### Added\n\n- requires:\n\n"


def test_action_yml_and_every_workflow_validate_against_githubs_schemas() -> None:
    beside = Path(sys.executable).with_name("check-jsonschema")  # the test extra installs it
    tool = str(beside) if beside.exists() else shutil.which("check-jsonschema")
    assert tool, "check-jsonschema is in the test extra: pip install '.[test]'"
    for schema, files in (("vendor.github-actions", [ROOT / "action.yml"]),
                          ("vendor.github-workflows", WORKFLOWS)):
        proc = subprocess.run([tool, "--builtin-schema", schema, *map(str, files)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(WORKFLOWS) == 5


@pytest.mark.parametrize("doc", ["README.md", "docs/getting-started.md"])
def test_the_docs_say_how_to_install_a_pinned_release(doc: str) -> None:
    text = (ROOT / doc).read_text()
    assert "pip install 'adapter-sync @ git+https://github.com/OWNER/adapter-sync@v0.1.0'" in text
