"""The schema's fast check is generated from the schema, so it cannot drift from it.

``src/adapter_sync/config/schema_check.py`` is fastjsonschema's code for
``schemas/connectors.schema.json``, generated ahead of time and committed: compiling it at run
time would cost every command the import of fastjsonschema and the compilation. This test
regenerates it and compares the text. After changing the schema (or fastjsonschema), run::

    python tests/unit/test_config_fastcheck.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "schemas" / "connectors.schema.json"
CHECK = REPO / "src" / "adapter_sync" / "config" / "schema_check.py"

HEADER = '''\
"""GENERATED from schemas/connectors.schema.json by fastjsonschema {version}: do not edit.

Regenerate with ``python tests/unit/test_config_fastcheck.py`` (a test fails when this file is not
what the schema generates). ``validate`` checks a whole file, ``validate___definitions_connector``
one connector; both raise :class:`JsonSchemaValueException` on the first violation.
"""
# ruff: noqa
# mypy: ignore-errors
# fmt: off
'''
_IMPORT = "from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException\n"
# The generated code needs only the exception classes: defined here, so that running the check
# does not import fastjsonschema (and its URL resolver) at all.
_EXCEPTIONS = '''

class JsonSchemaValueException(ValueError):
    """The value breaks the schema."""


class JsonSchemaValuesException(JsonSchemaValueException):
    """Several values break the schema."""
'''


def generated_source() -> str:
    """The text of schema_check.py for the schema as it is now."""
    import fastjsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    # Without $id, references resolve within the file (never fetched from the URL), and the
    # entry point is named ``validate``.
    schema.pop("$id", None)
    code = fastjsonschema.compile_to_code(schema, detailed_exceptions=False)
    assert code.count(_IMPORT) == 1, "fastjsonschema's generated imports changed"
    code = code.replace(_IMPORT, _EXCEPTIONS)
    if code.count("Decimal") == 1:  # only its import: not needed without multipleOf
        code = code.replace("from decimal import Decimal\n", "")
    code = "\n".join(line.rstrip() for line in code.splitlines()) + "\n"
    return HEADER.format(version=fastjsonschema.VERSION) + code


def test_the_committed_check_is_what_the_schema_generates():
    assert CHECK.read_text(encoding="utf-8") == generated_source(), (
        "schema_check.py is stale: run python tests/unit/test_config_fastcheck.py")


def test_the_check_has_the_entry_points_the_loader_uses():
    from adapter_sync.config import schema_check

    assert callable(schema_check.validate)
    assert callable(schema_check.validate___definitions_connector)


if __name__ == "__main__":
    CHECK.write_text(generated_source(), encoding="utf-8")
    print(f"wrote {CHECK.relative_to(REPO)}")
    sys.exit(0)
