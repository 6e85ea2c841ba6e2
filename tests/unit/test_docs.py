"""The docs do not drift from the schema and the code they describe."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapter_sync import model

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "connectors.schema.json").read_text())
CONFIG_DOC = (ROOT / "docs" / "configuration.md").read_text()


def property_names(node: object) -> Iterator[str]:
    """Every property name declared anywhere in the schema (all levels, definitions too)."""
    if isinstance(node, dict):
        yield from node.get("properties", {})
        for value in node.values():
            yield from property_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from property_names(value)


def test_schema_walk_finds_every_level() -> None:
    names = set(property_names(SCHEMA))
    assert {"connectors", "name", "accepted_kinds", "metadata"} <= names


@pytest.mark.parametrize("name", sorted(set(property_names(SCHEMA))))
def test_every_schema_property_is_documented(name: str) -> None:
    assert f"`{name}`" in CONFIG_DOC


@pytest.mark.parametrize("kind", SCHEMA["definitions"]["kind"]["enum"])
def test_every_kind_is_documented(kind: str) -> None:
    assert f"`{kind}`" in CONFIG_DOC


def test_kinds_agree_between_schema_and_model() -> None:
    assert tuple(SCHEMA["definitions"]["kind"]["enum"]) == model.KINDS


def test_limits_and_slug_pattern_are_documented_as_the_schema_says() -> None:
    connector = SCHEMA["definitions"]["connector"]["properties"]
    assert connector["name"]["maxLength"] == model.NAME_MAX == 255
    assert SCHEMA["definitions"]["metadata"]["maxProperties"] == model.METADATA_MAX_KEYS == 20
    assert SCHEMA["definitions"]["source_name"]["pattern"] == model.SLUG_PATTERN
    assert re.search(r"\b255 characters", CONFIG_DOC)
    assert re.search(r"\b20 keys", CONFIG_DOC)
    assert f"`{model.SLUG_PATTERN}`" in CONFIG_DOC


def test_required_fields_are_marked_required() -> None:
    for field in SCHEMA["definitions"]["connector"]["required"]:
        assert re.search(rf"^\| `{field}` \| [^|]+ \| yes \|", CONFIG_DOC, re.MULTILINE)


DOCS = sorted((ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_point_at_existing_files(doc: Path) -> None:
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text()):
        assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_docs_exist() -> None:
    assert {p.name for p in DOCS} >= {
        "getting-started.md", "configuration.md", "ci.md", "api-contract.md"}


def test_ci_doc_covers_the_exit_codes_and_completion() -> None:
    ci = (ROOT / "docs" / "ci.md").read_text()
    assert "plan --detailed-exitcode" in ci
    for shell in ("bash", "zsh", "fish"):
        assert f"_ADAPTER_SYNC_COMPLETE={shell}_source adapter-sync" in ci
    assert "<!-- adapter-sync-plan -->" in ci


def _python_example() -> str:
    return (ROOT / "docs" / "python-api.md").read_text().split("```python")[1].split("```")[0]


def test_the_python_api_module_exports_what_the_doc_lists() -> None:
    """One documented module for the public types: each name is the defining module's own
    object, and the doc lists exactly the exported names."""
    from adapter_sync import api, engine, errors, secrets

    for name in api.__all__:
        exported = getattr(api, name)
        owners = [m for m in (engine, model, errors, secrets) if getattr(m, name, None) is not None]
        assert owners and all(getattr(m, name) is exported for m in owners), name
    doc = (ROOT / "docs" / "python-api.md").read_text()
    listed = doc.split("`adapter_sync.api` re-exports:")[1].split("They are")[0]
    assert set(re.findall(r"`(\w+)`", listed)) == set(api.__all__)
    for name in ("Engine", "Settings", "Hooks", "Planned", "Applied", "Imported", "Plan",
                 "Action", "Outcome", "Result", "Selection", "Desired", "Live",
                 "AdapterSyncError", "SafetyError", "ConfigError", "ApiError", "StalePlanError"):
        assert name in api.__all__


def test_the_python_api_example_runs_against_the_sandbox(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The doc's example, run as written (only the URL points at the in-process sandbox): it
    plans, prints the Markdown plan, applies and reports each outcome."""
    example = _python_example()
    assert "from adapter_sync.api import" in example
    url = '"https://api.adapter.com/v1"'
    assert example.count(url) == 1
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "team.yaml").write_text(
        "version: 1\nconnectors:\n  crm-sync:\n    name: CRM sync\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADAPTER_API_KEY", "pk_live_docs_example")
    code = example.replace(url, repr(f"sandbox:{tmp_path / 'sandbox.db'}"))
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/python-api.md", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "crm-sync" in out and "done crm-sync" in out
    assert "pk_live_docs_example" not in out
    from adapter_sync.api import Applied, Engine

    applied = namespace["applied"]
    assert isinstance(applied, Applied) and applied.result is not None and applied.result.ok
    engine = namespace["engine"]
    assert isinstance(engine, Engine)
    assert [c.source_name for c in engine.live().connectors.values()] == ["crm-sync"]


def test_the_python_api_example_names_only_what_the_engine_has() -> None:
    from adapter_sync import engine

    doc = (ROOT / "docs" / "python-api.md").read_text()
    for name in re.findall(r"engine\.(\w+)\(", doc):
        assert hasattr(engine.Engine, name), name
    for field in re.findall(r"(\w+)=", _python_example()):
        assert field in {"api_url", "api_key", "concurrency", "approve", "progress", "hooks"}


def test_every_event_type_is_documented() -> None:
    doc = (ROOT / "docs" / "events.md").read_text()
    source = (ROOT / "src" / "adapter_sync" / "events.py").read_text()
    kinds = set(re.findall(r'type: ClassVar\[str\] = "(\w+)"', source))
    assert kinds == {"plan", "result", "wait", "heartbeat", "summary"}
    for kind in kinds:
        assert f"| `{kind}` |" in doc, kind


def test_the_documented_events_are_valid_events() -> None:
    # the wait example once lacked `resets_at`, which the schema requires
    import jsonschema

    doc = (ROOT / "docs" / "events.md").read_text()
    schema = json.loads((ROOT / "schemas" / "events.schema.json").read_text())
    examples = [line for block in re.findall(r"```json\n(.*?)```", doc, re.S)
                for line in block.splitlines() if line.strip()]
    assert {json.loads(line)["type"] for line in examples} == {
        "plan", "result", "wait", "heartbeat", "summary"}
    for line in examples:
        jsonschema.validate(json.loads(line), schema)


def test_the_python_api_page_lists_every_setting() -> None:
    # Settings gained rate_share and allow_http without the page saying so
    import dataclasses

    from adapter_sync.api import Settings

    doc = (ROOT / "docs" / "python-api.md").read_text()
    listed = re.search(r"`Settings\(([^`]*)\)`", doc)
    assert listed, "python-api.md shows no Settings(...) signature"
    named = [part.split("=")[0].strip() for part in listed.group(1).split(",")]
    assert named == [f.name for f in dataclasses.fields(Settings)]
