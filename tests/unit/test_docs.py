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
        "getting-started.md", "configuration.md", "ci.md", "api-assumptions.md"}


def test_ci_doc_covers_the_exit_codes_and_completion() -> None:
    ci = (ROOT / "docs" / "ci.md").read_text()
    assert "plan --detailed-exitcode" in ci
    for shell in ("bash", "zsh", "fish"):
        assert f"_ADAPTER_SYNC_COMPLETE={shell}_source adapter-sync" in ci
    assert "<!-- adapter-sync-plan -->" in ci


def test_the_python_api_example_names_only_what_the_engine_has() -> None:
    from adapter_sync import engine

    doc = (ROOT / "docs" / "python-api.md").read_text()
    for name in re.findall(r"engine\.(\w+)\(", doc):
        assert hasattr(engine.Engine, name), name
    for field in re.findall(r"(\w+)=", doc.split("```python")[1].split("```")[0]):
        assert field in {"api_url", "api_key", "concurrency", "approve", "progress", "hooks"}


def test_every_event_type_is_documented() -> None:
    doc = (ROOT / "docs" / "events.md").read_text()
    source = (ROOT / "src" / "adapter_sync" / "events.py").read_text()
    kinds = set(re.findall(r'type: ClassVar\[str\] = "(\w+)"', source))
    assert kinds == {"plan", "result", "wait", "heartbeat", "summary"}
    for kind in kinds:
        assert f"| `{kind}` |" in doc, kind
