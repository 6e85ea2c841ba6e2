"""The CI docs (docs/ci.md, docs/getting-started.md) say what the Action and the CLI do (#12):
every input and output, the review flow, environment variables that exist, and an install that
works while adapter-sync is on no package index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from clirun import run

ROOT = Path(__file__).resolve().parents[2]
CI = (ROOT / "docs" / "ci.md").read_text()
GETTING_STARTED = (ROOT / "docs" / "getting-started.md").read_text()
FLAT = " ".join(CI.split())  # line breaks do not matter
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())

# `pip install adapter-sync`, `pip install -U "adapter-sync==1.0"`: the name, from an index
# (not a direct reference: `pip install 'adapter-sync @ git+https://...@v0.1.0'`)
FROM_AN_INDEX = re.compile(r"pip3? install(?:\s+-\S+)*\s+['\"]?adapter-sync(?!\s*@)"
                           r"(?:[\s'\"=<>~!\[]|$)", re.MULTILINE)
TEXTS = sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md",
                *(ROOT / "examples").rglob("*.md"), *(ROOT / "examples").rglob("*.yml")])


def test_the_index_pattern_finds_what_it_should() -> None:
    assert FROM_AN_INDEX.search("pip install adapter-sync          # or")
    assert FROM_AN_INDEX.search("pip install -U 'adapter-sync==0.1.0'")
    assert not FROM_AN_INDEX.search("pip install 'git+https://github.com/OWNER/adapter-sync@TAG'")
    assert not FROM_AN_INDEX.search("pip install .")
    assert not FROM_AN_INDEX.search(
        "pip install 'adapter-sync @ git+https://github.com/OWNER/adapter-sync@v0.1.0'")


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_doc_installs_adapter_sync_from_a_package_index(path: Path) -> None:
    assert not FROM_AN_INDEX.search(path.read_text()), path


def test_getting_started_installs_from_the_repository() -> None:
    install = GETTING_STARTED.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert "git clone https://github.com/OWNER/adapter-sync.git" in install
    assert "pip install .\n" in install
    # without a clone: pinned to a release tag
    assert "pip install 'adapter-sync @ git+https://github.com/OWNER/adapter-sync@v0.1.0'" \
        in install
    assert "Replace `OWNER`" in install  # the placeholder is named


@pytest.mark.parametrize("name", sorted(ACTION["inputs"]))
def test_every_input_is_documented(name: str) -> None:
    row = re.search(rf"^\| `{re.escape(name)}` \| `([^`]*)` \|", CI, re.MULTILINE)
    assert row, name
    assert row[1] == (ACTION["inputs"][name]["default"] or '""')  # the default, as action.yml has it


@pytest.mark.parametrize("name", sorted(ACTION["outputs"]))
def test_every_output_is_documented(name: str) -> None:
    assert re.search(rf"^\| `{re.escape(name)}` \|", CI, re.MULTILINE), name


def help_texts() -> str:
    texts = [run(["--help"]).out]
    for command in ("validate", "plan", "apply", "show", "import", "schema"):
        texts.append(run([command, "--help"], env={"COLUMNS": "200"}).out)
    return "\n".join(texts)


def test_every_environment_variable_named_in_ci_md_exists() -> None:
    helps = help_texts()
    named = set(re.findall(r"\bADAPTER_(?:SYNC|API)_[A-Z_]*[A-Z]\b", CI))
    assert {"ADAPTER_SYNC_PLAN_BASE", "ADAPTER_SYNC_APPLY_FORCE",
            "ADAPTER_SYNC_APPLY_MAX_DURATION"} <= named
    # the key is read, not an option; ADAPTER_API_KEY_STAGING and the like name the examples'
    # secrets and variables, not adapter-sync's; the deprecated names are still read, with a
    # warning (tests/unit/test_cli_envvars.py), but --help shows only the current ones
    examples = {v for v in named if re.fullmatch(r"ADAPTER_API_(KEY|URL)_(STAGING|PROD)", v)}
    deprecated = {"ADAPTER_SYNC_APPLY_PLAN_FILE", "ADAPTER_SYNC_IMPORT_SPLIT_DIR"}
    for variable in sorted(named - {"ADAPTER_API_KEY"} - examples - deprecated):
        assert variable in helps, variable


def test_ci_md_describes_the_review_flow() -> None:
    for phrase in ("base: origin/${{ github.base_ref }}", "no `fetch-depth: 0`", "**Drift**",
                   "`change` or `drift`", "<!-- adapter-sync-plan:staging -->",
                   "<!-- adapter-sync-plan:prod -->", "comment: true", "needs_force",
                   "`blocked`", "apply --plan", "stale", "required reviewers",
                   "`if: has_changes == 'true' && blocked == 'false'`", "`timeout-minutes`",
                   "--max-duration", "`--force` to its `args`", "under 65,000 characters",
                   "the artifact `adapter-sync-plan-ENVIRONMENT`", "Never the job summary",
                   "`pull-requests: write`", "`issues: write`", "`drift-issue: true`",
                   "git fetch --no-tags --depth=1 origin"):
        assert phrase in FLAT, phrase


def test_ci_md_explains_how_args_are_split_and_routed() -> None:
    section = CI.split("### `args`", 1)[1].split("\n### ", 1)[0]
    assert "never expanded or evaluated" in " ".join(section.split())
    for option in ("--force", "--concurrency", "--max-duration", "--prune", "--include",
                   "--exclude"):
        assert f"`{option}`" in section, option
