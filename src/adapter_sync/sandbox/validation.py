"""Request body validation for the sandbox, as docs/api-contract.md states it.

Each ``check_*`` function takes the decoded JSON body and returns the cleaned fields, or raises
:class:`Invalid` carrying every problem found (FastAPI-like ``loc``/``msg``/``type`` entries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapter_sync.sandbox.contract import (
    CREATE_FIELDS,
    KINDS,
    METADATA_MAX_KEYS,
    NAME_MAX,
    NAME_MIN,
    PATCH_FIELDS,
    SLUG_MAX,
    SLUG_RE,
)

SEED_FIELDS = CREATE_FIELDS | {"is_active", "connector_id", "created_at", "created_by"}
INGEST_ITEMS_MAX = 1000


@dataclass(frozen=True)
class Issue:
    loc: tuple[str | int, ...]
    msg: str
    type: str

    def to_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


class Invalid(Exception):
    """The body is invalid; ``issues`` lists every problem."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, i.loc))}: {i.msg}" for i in issues))
        self.issues = issues


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid([Issue(("body",), "the body must be a JSON object", "type_error.dict")])
    return body


def _name(value: Any, issues: list[Issue]) -> None:
    if not isinstance(value, str):
        issues.append(Issue(("body", "name"), "must be a string", "type_error.str"))
    elif not NAME_MIN <= len(value) <= NAME_MAX:
        issues.append(Issue(("body", "name"), f"must be {NAME_MIN} to {NAME_MAX} characters",
                            "value_error.any_str.length"))


def _kinds(value: Any, issues: list[Issue]) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        issues.append(Issue(("body", "accepted_kinds"), "must be a list of strings or null",
                            "type_error.list"))
        return
    for i, kind in enumerate(value):
        if not isinstance(kind, str):
            issues.append(Issue(("body", "accepted_kinds", i), "must be a string",
                                "type_error.str"))
        elif kind not in KINDS:
            issues.append(Issue(("body", "accepted_kinds", i),
                                f"unknown kind {kind!r}; one of: {', '.join(KINDS)}",
                                "value_error.enum"))


def _metadata(value: Any, issues: list[Issue]) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        issues.append(Issue(("body", "metadata"), "must be an object of strings or null",
                            "type_error.dict"))
        return
    if len(value) > METADATA_MAX_KEYS:
        issues.append(Issue(("body", "metadata"), f"at most {METADATA_MAX_KEYS} keys allowed",
                            "value_error.too_many_keys"))
    for key, item in value.items():
        if not isinstance(item, str):
            issues.append(Issue(("body", "metadata", key), "metadata values must be strings",
                                "type_error.str"))


def _unknown(body: dict[str, Any], allowed: frozenset[str], issues: list[Issue]) -> None:
    for key in sorted(set(body) - allowed):
        issues.append(Issue(("body", key), "extra fields not permitted", "value_error.extra"))


def check_create(body: Any, *, allowed: frozenset[str] = CREATE_FIELDS) -> dict[str, Any]:
    """A POST body: ``name`` and ``source_name`` required; kinds/metadata null means empty."""
    body = _object(body)
    issues: list[Issue] = []
    _unknown(body, allowed, issues)
    for required in ("name", "source_name"):
        if body.get(required) is None:
            issues.append(Issue(("body", required), "field required", "value_error.missing"))
    if body.get("name") is not None:
        _name(body["name"], issues)
    source = body.get("source_name")
    if source is not None:
        if not isinstance(source, str):
            issues.append(Issue(("body", "source_name"), "must be a string", "type_error.str"))
        elif not SLUG_RE.fullmatch(source):
            issues.append(Issue(("body", "source_name"),
                                "must be a slug: lowercase letters, digits and inner hyphens, "
                                f"1 to {SLUG_MAX} characters", "value_error.str.regex"))
    _kinds(body.get("accepted_kinds"), issues)
    _metadata(body.get("metadata"), issues)
    if "is_active" in allowed and body.get("is_active") is not None \
            and not isinstance(body["is_active"], bool):
        issues.append(Issue(("body", "is_active"), "must be a boolean", "type_error.bool"))
    if issues:
        raise Invalid(issues)
    return {
        "name": body["name"],
        "source_name": source,
        "accepted_kinds": list(body.get("accepted_kinds") or []),
        "metadata": dict(body.get("metadata") or {}),
    }


def check_patch(body: Any) -> dict[str, Any]:
    """A PATCH body: only the non-null fields are returned (null or missing = unchanged)."""
    body = _object(body)
    issues: list[Issue] = []
    if "source_name" in body:
        issues.append(Issue(("body", "source_name"), "source_name is immutable",
                            "value_error.immutable"))
    _unknown(body, PATCH_FIELDS | {"source_name"}, issues)
    if body.get("name") is not None:
        _name(body["name"], issues)
    _kinds(body.get("accepted_kinds"), issues)
    _metadata(body.get("metadata"), issues)
    if body.get("is_active") is not None and not isinstance(body["is_active"], bool):
        issues.append(Issue(("body", "is_active"), "must be a boolean", "type_error.bool"))
    if issues:
        raise Invalid(issues)
    return {k: body[k] for k in PATCH_FIELDS if body.get(k) is not None}


def check_ingest(body: Any, *, typed: bool) -> list[dict[str, Any]]:
    """An ingest body ``{"items": [...]}``; typed items need a known ``kind``."""
    body = _object(body)
    issues: list[Issue] = []
    _unknown(body, frozenset({"items"}), issues)
    items = body.get("items")
    if not isinstance(items, list) or not items:
        issues.append(Issue(("body", "items"), "must be a non-empty list", "type_error.list"))
        raise Invalid(issues)
    if len(items) > INGEST_ITEMS_MAX:
        issues.append(Issue(("body", "items"), f"at most {INGEST_ITEMS_MAX} items",
                            "value_error.list.max_items"))
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            issues.append(Issue(("body", "items", i), "must be an object", "type_error.dict"))
            continue
        kind = item.get("kind")
        if typed and kind is None:
            issues.append(Issue(("body", "items", i, "kind"), "field required",
                                "value_error.missing"))
        elif kind is not None and kind not in KINDS:
            issues.append(Issue(("body", "items", i, "kind"), f"unknown kind {kind!r}",
                                "value_error.enum"))
        external_id = item.get("external_id")
        if external_id is not None and not isinstance(external_id, str):
            issues.append(Issue(("body", "items", i, "external_id"), "must be a string",
                                "type_error.str"))
    if issues:
        raise Invalid(issues)
    return items
