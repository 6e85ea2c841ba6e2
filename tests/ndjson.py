"""Every apply event the tests see is checked against the published schema
(``schemas/events.schema.json``): :func:`events` parses NDJSON and validates each line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "events.schema.json"
VALIDATOR = Draft7Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def check(event: dict[str, Any]) -> dict[str, Any]:
    """``event``, after checking it against the schema (AssertionError naming what is wrong)."""
    errors = sorted(VALIDATOR.iter_errors(event), key=lambda e: list(e.path))
    assert not errors, f"event {event!r} breaks the schema: " + "; ".join(
        f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors)
    return event


def events(lines: str | Iterable[str]) -> list[dict[str, Any]]:
    """Each non-empty line of NDJSON parsed and checked against the events schema."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    return [check(json.loads(line)) for line in lines if line.strip()]
