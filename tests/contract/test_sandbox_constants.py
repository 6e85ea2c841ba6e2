"""The sandbox stands apart: its constants are transcribed from the project's API contract,
docs/api-contract.md (checked here against the text, as are the client's), it imports nothing
from the rest of adapter-sync, and its modules form no import cycle.

The contract travels with the clone, so these tests need nothing beside it and never skip."""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
from pathlib import Path

import pytest

from adapter_sync.sandbox import contract, inprocess
from adapter_sync.sandbox.server import serve
from conftest import REPO

API_DOC = REPO / "docs" / "api-contract.md"
SANDBOX = REPO / "src" / "adapter_sync" / "sandbox"


@pytest.fixture(scope="module")
def doc() -> str:
    return API_DOC.read_text(encoding="utf-8")


def find(pattern: str, text: str) -> re.Match[str]:
    match = re.search(pattern, text)
    assert match, f"api-contract.md no longer matches {pattern!r}: re-read it and update the test"
    return match


def row(doc: str, field: str) -> str:
    """The resource table's row for ``field``."""
    return find(rf"(?m)^\| `{field}` \|.*$", doc).group(0)


def test_the_kinds_are_the_documented_ones_in_order(doc: str) -> None:
    listed = find(r"kinds the connector may emit: ((?:`\w+`(?:, )?)+)", row(doc, "accepted_kinds"))
    assert tuple(re.findall(r"`(\w+)`", listed.group(1))) == contract.KINDS


def test_the_slug_pattern_and_its_length_are_the_documented_ones(doc: str) -> None:
    source_name = row(doc, "source_name")
    assert find(r"Pattern \[A\]: `([^`]+)`", source_name).group(1) == contract.SLUG_PATTERN
    low, high = find(r"(\d+)[–-](\d+) chars\)", source_name).groups()
    assert (int(low), int(high)) == (1, contract.SLUG_MAX)
    assert contract.SLUG_RE.fullmatch("a" * contract.SLUG_MAX)
    assert not contract.SLUG_RE.fullmatch("a" * (contract.SLUG_MAX + 1))


def test_the_name_length_is_the_documented_one(doc: str) -> None:
    low, high = find(r"string, (\d+)[–-](\d+) chars", row(doc, "name")).groups()
    assert (contract.NAME_MIN, contract.NAME_MAX) == (int(low), int(high)) == (1, 255)


def test_the_metadata_key_limit_is_the_documented_one(doc: str) -> None:
    limit = find(r"At most (\d+) keys", row(doc, "metadata")).group(1)
    assert contract.METADATA_MAX_KEYS == int(limit) == 20


def test_the_request_fields_are_the_documented_ones(doc: str) -> None:
    create = find(r"`POST /v1/custom-connectors` \| `\{([^}]+)\}`", doc).group(1)
    assert {f.strip().rstrip("?") for f in create.split(",")} == contract.CREATE_FIELDS
    patch = find(r"any of `\{([^}]+)\}`", doc).group(1)
    assert {f.strip() for f in patch.split(",")} == contract.PATCH_FIELDS


def test_the_paths_and_the_key_prefix_are_the_documented_ones(doc: str) -> None:
    prefix = find(r"Base URL `https://api\.adapter\.com(/\w+)`", doc).group(1)
    assert prefix == contract.API_PREFIX
    assert f"`GET {contract.COLLECTION_PATH}?" in doc
    assert f"`PATCH {contract.COLLECTION_PATH}/{{connector_id}}`" in doc
    assert find(r"Bearer (pk_live_)…", doc).group(1) == contract.KEY_PREFIX


def test_the_documented_error_codes(doc: str) -> None:
    assert find(r"401 `(\w+)`", doc).group(1) == contract.AUTHENTICATION_ERROR
    assert find(r"403 `(\w+)`", doc).group(1) == contract.INSUFFICIENT_SCOPES
    assert "details.missing_scopes" in doc


def test_the_rate_limits_and_their_headers_are_the_documented_ones(doc: str) -> None:
    free, pro = find(r"(\d+) requests/min on the free plan, (\d+)/min on Pro", doc).groups()
    assert (int(free), int(pro)) == \
        (contract.FREE_REQUESTS_PER_MINUTE, contract.PRO_REQUESTS_PER_MINUTE)
    headers = set(re.findall(r"`(X-RateLimit-\w+)`", doc))
    assert {contract.HEADER_LIMIT, contract.HEADER_REMAINING, contract.HEADER_RESET} == headers
    assert f"`{contract.HEADER_RETRY_AFTER}`" in doc and f"`{contract.HEADER_REQUEST_ID}`" in doc


def test_the_client_holds_the_same_facts_as_the_contract(doc: str) -> None:
    """The client's own copies (model, the config schema) agree with the contract too, so the
    sandbox and the client cannot drift apart while both still pass against each other."""
    from adapter_sync import model, schemafiles

    kinds = find(r"kinds the connector may emit: ((?:`\w+`(?:, )?)+)", row(doc, "accepted_kinds"))
    assert tuple(re.findall(r"`(\w+)`", kinds.group(1))) == model.KINDS
    assert find(r"Pattern \[A\]: `([^`]+)`", row(doc, "source_name")).group(1) == model.SLUG_PATTERN
    assert int(find(r"string, \d+[–-](\d+) chars", row(doc, "name")).group(1)) == model.NAME_MAX
    limit = int(find(r"At most (\d+) keys", row(doc, "metadata")).group(1))
    assert limit == model.METADATA_MAX_KEYS
    schema = json.dumps(schemafiles.load("connectors.schema.json"))
    assert json.dumps(model.SLUG_PATTERN) in schema and f'"maxProperties": {limit}' in schema


def test_the_sandbox_defaults_are_defined_once_and_exported_by_inprocess() -> None:
    assert (inprocess.BASE_URL, inprocess.SANDBOX_KEY) == ("http://sandbox/v1", "pk_live_sandbox")
    assert inprocess.default_db().endswith(os.path.join("adapter-sync", "sandbox.db"))
    assert os.path.isabs(inprocess.default_db())
    assert callable(inprocess.transport)
    assert inspect.signature(serve).parameters["db"].default is None  # default_db() then
    spelled = {value: [] for value in ("pk_live_sandbox", "sandbox.db", "http://sandbox")}
    for path in sorted(SANDBOX.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for value, where in spelled.items():
            if f'"{value}' in text:
                where.append(path.name)
    # the key is built from the prefix in auth.py; the other two are literals, once each
    assert spelled == {"pk_live_sandbox": [], "sandbox.db": ["store.py"],
                       "http://sandbox": ["inprocess.py"]}


# -- imports -------------------------------------------------------------------------------------


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (TYPE_CHECKING blocks included), as absolute names."""
    package = "adapter_sync.sandbox"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the sandbox package
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_the_import_check_sees_every_spelling(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import adapter_sync.client\nfrom adapter_sync import model\n"
                      "from ..errors import AdapterSyncError\nfrom . import store\n"
                      "from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from adapter_sync.sandbox.app import Sandbox\n")
    assert {"adapter_sync.client", "adapter_sync.model", "adapter_sync.errors",
            "adapter_sync.sandbox.store", "adapter_sync.sandbox.app"} <= imports(sample)


def test_the_sandbox_imports_nothing_from_the_rest_of_adapter_sync() -> None:
    outside = {
        path.name: sorted(name for name in imports(path)
                          if (name == "adapter_sync" or name.startswith("adapter_sync."))
                          and not name.startswith("adapter_sync.sandbox"))
        for path in SANDBOX.glob("*.py")
    }
    assert {name: found for name, found in outside.items() if found} == {}
    assert not any(name.startswith(("adapter_sync.client", "adapter_sync.model",
                                    "adapter_sync.errors"))
                   for path in SANDBOX.glob("*.py") for name in imports(path))


def test_the_sandbox_modules_form_no_import_cycle() -> None:
    modules = {path.stem for path in SANDBOX.glob("*.py")} - {"__init__"}
    graph = {
        module: {name.split(".")[2] for name in imports(SANDBOX / f"{module}.py")
                 if name.startswith("adapter_sync.sandbox.")
                 and name.split(".")[2] in modules and name.split(".")[2] != module}
        for module in modules
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
    assert graph["gate"] >= {"faults", "auth"} and "app" not in graph["gate"]
