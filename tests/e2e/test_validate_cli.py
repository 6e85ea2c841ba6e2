"""``adapter-sync validate`` as a user runs it: in-process through main(), and as a process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clirun import run, run_process

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "connectors.yaml"
CORPUS = sorted((REPO / "tests" / "bad_configs").glob("*.yaml"))
KEY = "pk_live_validate_cli_secret"
LOCATED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


def test_valid_config_exits_0_with_a_one_line_summary():
    result = run(["validate", str(EXAMPLE)])
    assert result.code == 0
    assert result.out == ("OK: 5 connectors in 1 file valid. 1 declared active: false "
                          "(old-tracker): plan deactivates them where live and active, never "
                          "creates them.\n")
    assert result.err == ""


def test_several_errors_each_on_one_located_line(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("connectors.yaml").write_text(
        "connectors:\n  acme-crm:\n    name: Acme CRM\n    acepted_kinds: [email]\n"
        "    metadata: {retries: 3}\n  Bad: {name: x}\n")
    result = run(["validate"])
    assert result.code == 1 and result.out == ""
    assert result.err.splitlines() == [
        "connectors.yaml:4:5: connectors.acme-crm: unknown key 'acepted_kinds' "
        "(did you mean 'accepted_kinds'?)",
        'connectors.yaml:5:25: connectors.acme-crm.metadata.retries: expected a string, got a '
        'number; quote it if you mean the string: "3"',
        "connectors.yaml:6:3: connectors: invalid source_name 'Bad': use lowercase letters, "
        "digits and inner hyphens, 1-64 characters",
        "3 errors found.",
    ]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_every_bad_file_exits_1_with_located_errors_and_no_traceback(path: Path):
    result = run(["validate", str(path)], env={"ADAPTER_API_KEY": KEY,
                                               "ADAPTER_SYNC_TEST_UNSET": None})
    assert result.code == 1
    lines = result.err.splitlines()
    assert "Traceback" not in result.err and KEY not in result.err
    assert re.fullmatch(r"\d+ errors? found\.", lines[-1])
    for line in lines[:-1]:
        match = LOCATED.match(line.removeprefix("Warning: "))  # policy warnings listed too
        assert match and match["file"] == str(path), line


def test_github_actions_annotations(tmp_path: Path):
    bad = tmp_path / "c.yaml"
    bad.write_text("connectors:\n  acme: {name: A, active: yes}\n")
    result = run(["validate", str(bad)], env={"GITHUB_ACTIONS": "true"})
    assert result.code == 1
    assert result.out.startswith(f"::error file={bad},line=2,col=27::connectors.acme.active: "
                                 "expected true or false, got 'yes'")
    assert result.err.splitlines()[-1] == "1 error found."
    plain = run(["validate", str(bad)], env={"GITHUB_ACTIONS": None})
    assert "::error" not in plain.out + plain.err


def test_missing_path_is_a_clear_error():
    result = run(["validate", "no/such/file.yaml"])
    assert result.code == 1
    assert result.err == "no/such/file.yaml: no such file or folder\n1 error found.\n"


def test_the_api_key_is_never_printed(tmp_path: Path):
    bad = tmp_path / "c.yaml"
    bad.write_text("connectors:\n  a:\n    name: ${COPY}\n    metadata: {k: '${ADAPTER_API_KEY}'}\n")
    result = run(["validate", str(bad)], env={"ADAPTER_API_KEY": KEY, "COPY": KEY})
    assert result.code == 1 and "2 errors found." in result.err
    assert KEY not in result.out + result.err and KEY[8:] not in result.out + result.err


def test_real_process_on_the_example_and_on_the_whole_corpus():
    good = run_process(["validate", str(EXAMPLE)], timeout=60)
    assert good.code == 0 and good.out.startswith("OK: 5 connectors in 1 file valid. 1 declared")
    assert len(good.out.splitlines()) == 1
    bad = run_process(["validate", *map(str, CORPUS)], env={"ADAPTER_API_KEY": KEY},
                      timeout=60)
    assert bad.code == 1 and "Traceback" not in bad.err and KEY not in bad.err
    lines = bad.err.splitlines()
    assert {LOCATED.match(line)["file"] for line in lines[:-1]} == set(map(str, CORPUS))
    assert lines[-1] == f"{len(lines) - 1} errors found."
