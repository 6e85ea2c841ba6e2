"""A config file's ``requires:`` (#17): an adapter-sync outside the PEP 440 specifier refuses the
file in one line with its position, before any request, as Terraform's required_version does."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapter_sync import __version__
from adapter_sync.config import load
from adapter_sync.config.requires import requires_problem
from adapter_sync.config.yamlload import read
from adapter_sync.errors import AdapterSyncError, ConfigError
from clirun import run

CONNECTOR = "connectors:\n  crm-events:\n    name: CRM\n    accepted_kinds: [email]\n"


def write(folder: Path, name: str, requires: str | None, body: str = CONNECTOR) -> Path:
    path = folder / name
    head = "version: 1\n" + (f"requires: {requires}\n" if requires is not None else "")
    path.write_text(head + body)
    return path


def problem(tmp_path: Path, requires: str, version: str) -> str | None:
    path = write(tmp_path, "c.yaml", requires)
    doc, problems = read(path, str(path))
    assert doc is not None and not problems
    found = requires_problem(doc, version)
    return None if found is None else str(found)


@pytest.mark.parametrize(("requires", "version"), [
    ('">=0.3"', "0.3.0"), ('">=0.3, <2"', "1.9"), ('"~=1.2"', "1.4.1"), ('"==1.*"', "1.0"),
    ('">=0.3"', "0.4.0rc1"),  # a pre-release of a satisfying version is accepted
])
def test_a_satisfied_requirement_is_silent(tmp_path: Path, requires: str, version: str) -> None:
    assert problem(tmp_path, requires, version) is None


def test_an_unsatisfied_requirement_names_both_versions_and_where(tmp_path: Path) -> None:
    assert problem(tmp_path, '">=0.3"', "0.2.9") == (
        f"{tmp_path / 'c.yaml'}:2:11: requires: this file needs adapter-sync >=0.3, and this is "
        "adapter-sync 0.2.9: install a version that satisfies it")
    assert problem(tmp_path, '"<1"', "1.0.0") is not None  # a newer one refuses too


@pytest.mark.parametrize(("requires", "says"), [
    ('"=>0.3"', "'=>0.3' is not a version specifier"),
    ('"0.3"', "'0.3' is not a version specifier"),
    ("0.3", "expected a version specifier such as \">=0.3\", got a number"),
    ('""', "expected a version specifier such as \">=0.3\", got an empty string"),
    ('"  "', "expected a version specifier such as \">=0.3\", got an empty string"),
    ('"^0.3"', "'^0.3' is not a version specifier"),
])
def test_an_invalid_specifier_is_refused_with_its_position(tmp_path: Path, requires: str,
                                                           says: str) -> None:
    found = problem(tmp_path, requires, __version__)
    assert found is not None and found.startswith(f"{tmp_path / 'c.yaml'}:2:11: requires: ")
    assert says in found


def test_load_refuses_before_reading_the_rest(tmp_path: Path) -> None:
    # a key this version does not know: only the requirement is reported, in one line
    path = write(tmp_path, "c.yaml", '">=99"', CONNECTOR + "future_setting: true\n")
    with pytest.raises(AdapterSyncError) as caught:
        load([str(path)])
    assert not isinstance(caught.value, ConfigError)
    assert str(caught.value) == (f"{path}:2:11: requires: this file needs adapter-sync >=99, and "
                                 f"this is adapter-sync {__version__}: install a version that "
                                 "satisfies it")


def test_several_files_each_must_be_satisfied(tmp_path: Path) -> None:
    old = write(tmp_path, "a.yaml", '"<0.1"', "connectors: {}\n")
    ok = write(tmp_path, "b.yaml", f'">={__version__}"')
    new = write(tmp_path, "c.yaml", '">=99"', "connectors: {}\n")
    with pytest.raises(ConfigError) as caught:
        load([str(tmp_path)])
    assert [str(p.location) for p in caught.value.problems] == [f"{old}:2:11", f"{new}:2:11"]
    desired = load([str(ok)])  # the satisfied one alone loads
    assert set(desired.connectors) == {"crm-events"}


def test_the_cli_refuses_in_one_line_before_any_request(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", '">=99"')
    # an API nobody listens on: a request would fail differently
    result = run(["plan", "--api-url", "https://127.0.0.1:9/v1", str(path)],
                 env={"ADAPTER_API_KEY": "pk_live_test"})
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        f"Error: {path}:2:11: requires: this file needs adapter-sync >=99, and this is "
        f"adapter-sync {__version__}: install a version that satisfies it"]
    assert run(["validate", str(path)]).code == 1
    assert run(["validate", str(write(tmp_path, "d.yaml", f'"=={__version__}"'))]).code == 0
