"""Saved plans: ``plan --out FILE`` writes one, ``apply --plan FILE`` loads and checks it.

A plan file (``schemas/planfile.schema.json``) holds the plan: every create with the connector
it declares, and every action on an existing connector with the live state it was computed
from. Loading validates the file against that schema (jsonschema), then builds the actions,
which check their own invariants. Before applying, :func:`check_stale` compares each saved live
state with the current one through :mod:`adapter_sync.diff`: a plan is applied exactly as
saved, or refused as stale, never re-planned.

The file never holds the API key: it is never passed in, and credentials in the URL
(``https://user:pass@host``) are stripped before saving or showing the URL. The caller may pass
a redactor as a last line of defence for values read from the server.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from adapter_sync import __version__, diff, schemafiles
from adapter_sync.atomicfile import write_atomic
from adapter_sync.errors import AdapterSyncError, StalePlanError
from adapter_sync.escape import clean
from adapter_sync.model import (
    Action,
    Blocked,
    Cause,
    DesiredConnector,
    Estimate,
    InvalidAction,
    Live,
    LiveConnector,
    Plan,
    Provenance,
    Safety,
    SafetyRules,
    Selection,
    normalize_kinds,
)

FORMAT_VERSION = 2
KIND = "adapter-sync-plan"
SCHEMA = "planfile.schema.json"
#: At most this many staleness reasons are spelled out; the rest are counted.
MAX_REASONS = 10

_CAUSES = {Cause.DECLARED_INACTIVE: "declared_inactive", Cause.PRUNED: "pruned"}
_CAUSE_OF = {v: k for k, v in _CAUSES.items()}


@dataclass(frozen=True)
class SavedPlan:
    """A plan read back from a file, with the API URL it was made against."""

    plan: Plan
    api_url: str
    tool_version: str = ""


# --- URLs -----------------------------------------------------------------------------------


def safe_url(url: str) -> str:
    """``url`` without ``user:password@`` credentials, safe to store and to print."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _same_api(a: str, b: str) -> bool:
    """Same API: scheme and host case-insensitive, trailing slashes ignored."""

    def norm(url: str) -> tuple[str, str, str, str]:
        parts = urlsplit(safe_url(url.strip()))
        return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query

    return norm(a) == norm(b)


# --- save -----------------------------------------------------------------------------------


def _live_dict(live: LiveConnector) -> dict[str, Any]:
    data = live.to_api()
    if live.created_at is not None:
        data["created_at"] = live.created_at
    return data


def _desired_dict(desired: DesiredConnector) -> dict[str, Any]:
    body = desired.create_body()
    del body["source_name"]
    return body


def to_dict(plan: Plan, api_url: str) -> dict[str, Any]:
    """The plan-file document for ``plan`` (credentials stripped from ``api_url``)."""
    provenance = plan.provenance or Provenance()
    safety = plan.safety
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "tool_version": __version__,
        "api_url": safe_url(api_url),
        "selection": {"include": list(provenance.selection.include),
                      "exclude": list(provenance.selection.exclude)},
        "base": provenance.base,
        "config_digest": provenance.config_digest,
        "live_digest": provenance.live_digest,
        "prune": plan.prune,
        "live_active": plan.live_active,
        "unmanaged": list(plan.unmanaged),
        "protected": list(plan.protected),
        "drift_resolved": list(plan.drift_resolved),
        "estimate": None if plan.estimate is None else {
            "api_calls": plan.estimate.api_calls, "seconds": plan.estimate.seconds,
            "limit_per_minute": plan.estimate.limit_per_minute},
        "safety": {
            "needs_force": safety.needs_force,
            "force_reasons": list(safety.force_reasons),
            "blocked": [{"source_name": b.source_name, "rule": b.rule} for b in safety.blocked],
            "rules": {"max_deactivate_percent": safety.rules.max_deactivate_percent,
                      "min_active": safety.rules.min_active},
        },
        "actions": [
            {
                "kind": action.kind,
                "source_name": action.source_name,
                "connector_id": action.connector_id,
                "cause": _CAUSES[action.cause] if action.cause is not None else None,
                "origin": action.origin,
                "changes": {
                    field: {"before": change.before, "after": change.after}
                    for field, change in action.changes.items()
                },
                "live": _live_dict(action.live) if action.live is not None else None,
                "desired": _desired_dict(action.desired) if action.desired is not None else None,
            }
            for action in plan.actions
        ],
    }


def save(path: str, plan: Plan, api_url: str,
         redact: Callable[[str], str] | None = None) -> None:
    """Write ``plan`` to ``path`` atomically, readable by its owner only (mode 0600)."""
    text = json.dumps(to_dict(plan, api_url), indent=2, ensure_ascii=False) + "\n"
    if redact is not None:
        text = redact(text)
    write_atomic(path, text, overwrite=True, mode=0o600, what="plan file")


# --- load -----------------------------------------------------------------------------------


class _Invalid(Exception):
    """Internal: why a plan file is malformed; turned into one AdapterSyncError line."""


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft7Validator

    return Draft7Validator(schemafiles.load(SCHEMA))


_TYPES = {"object": "an object", "array": "a list", "string": "a string", "boolean":
          "true or false", "integer": "a whole number", "null": "null", "number": "a number"}


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the document"


def _explain(error: Any) -> str:
    """One line for the most relevant schema error."""
    where = _where(error.absolute_path)
    kw, value = error.validator, error.validator_value
    if kw == "const" and error.absolute_path and error.absolute_path[-1] == "format_version":
        return (f"format_version {json.dumps(error.instance)} is not supported by adapter-sync "
                f"{__version__} (it reads version {FORMAT_VERSION}); make the plan again with "
                "this version")
    if kw == "const" and list(error.absolute_path) == ["kind"]:
        return f'not an adapter-sync plan file ("kind" is not {KIND!r})'
    if kw == "type" and "additionalProperties" in error.relative_schema_path:
        return f"{_where(list(error.absolute_path)[:-1])} must be an object of strings"
    if kw == "type":
        wanted = [value] if isinstance(value, str) else value
        return f"{where} must be {' or '.join(_TYPES.get(t, t) for t in wanted)}"
    if kw == "oneOf":  # a value that is neither null nor the expected shape
        best = min(error.context, key=lambda e: len(e.absolute_path), default=None)
        if best is not None and best.validator != "type":
            return _explain(best)
        return f"{where} must be {_shape(error.schema)}"
    if kw == "required":
        missing = [k for k in value if k not in error.instance]
        return f"{where}: {', '.join(missing)} missing"
    if kw == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        noun = "field" if error.absolute_path and error.absolute_path[-1] == "changes" else "key"
        return f"{where} has unknown {noun} {', '.join(map(repr, extra))}"
    if kw == "enum":
        return f"{where} must be one of {', '.join(json.dumps(v) for v in value)}"
    if kw in ("minimum", "minLength"):
        return f"{where} must not be {'negative' if kw == 'minimum' else 'empty'}"
    return f"{where}: {error.message}"  # pragma: no cover - every keyword above is used


def _shape(schema: Any) -> str:
    options = schema.get("oneOf", [])
    names = [o["$ref"].rsplit("/", 1)[1] for o in options if "$ref" in o]
    return {"live": "an object (the live connector)", "desired": "an object (the declared "
            "connector)", "strings": "a list of strings", "string_map": "an object of strings"
            }.get(names[0] if names else "", "of another shape")


def _live(data: dict[str, Any]) -> LiveConnector:
    return LiveConnector.from_api(data)


def _action(data: dict[str, Any]) -> Action:
    desired = None
    if data.get("desired") is not None:
        d = data["desired"]
        desired = DesiredConnector(data["source_name"], d["name"],
                                   normalize_kinds(d.get("accepted_kinds")),
                                   dict(d.get("metadata") or {}))
    changes = diff.changes_of(
        (field, change["before"], change["after"]) for field, change in data["changes"].items())
    cause = data.get("cause")
    return Action(
        data["kind"], data["source_name"], data["connector_id"], changes,
        live=_live(data["live"]) if data.get("live") is not None else None,
        desired=desired, cause=_CAUSE_OF[cause] if cause is not None else None,
        origin=data.get("origin"),
    )


def _safety(data: dict[str, Any] | None) -> Safety:
    if data is None:
        return Safety()
    rules = data["rules"]
    return Safety(data["needs_force"], tuple(data["force_reasons"]),
                  tuple(Blocked(b["source_name"], b["rule"]) for b in data["blocked"]),
                  SafetyRules(rules["max_deactivate_percent"], rules["min_active"]))


def _parse(doc: Any) -> SavedPlan:
    if not isinstance(doc, dict):
        raise _Invalid("not a JSON object")
    # Say first what the file is not (another kind of file, another version), then the
    # shallowest problem.
    errors = sorted(_validator().iter_errors(doc), key=lambda e: (
        list(e.absolute_path) != ["kind"], list(e.absolute_path) != ["format_version"],
        len(e.absolute_path)))
    if errors:
        raise _Invalid(_explain(errors[0]))
    actions: list[Action] = []
    for i, data in enumerate(doc["actions"]):
        if data["kind"] != "create" and data.get("live") is None:
            raise _Invalid(f"actions[{i}].live must be an object (the live connector)")
        try:
            actions.append(_action(data))
        except InvalidAction as exc:
            raise _Invalid(f"actions[{i}]: {exc}") from None
    names = [a.source_name for a in actions]
    if len(set(names)) != len(names):
        raise _Invalid("a connector appears in more than one action")
    selection = doc.get("selection") or {"include": [], "exclude": []}
    provenance = Provenance(
        api_url=doc["api_url"],
        selection=Selection(tuple(selection["include"]), tuple(selection["exclude"])),
        base=doc.get("base"), config_digest=doc.get("config_digest", ""),
        live_digest=doc.get("live_digest", ""))
    plan = Plan(tuple(actions), tuple(doc["unmanaged"]), doc["live_active"], doc["prune"],
                protected=tuple(doc.get("protected", ())),
                drift_resolved=tuple(doc.get("drift_resolved", ())),
                safety=_safety(doc.get("safety")), provenance=provenance,
                estimate=Estimate(**doc["estimate"]) if doc.get("estimate") else None)
    return SavedPlan(plan, doc["api_url"], doc.get("tool_version", ""))


def load(path: str) -> SavedPlan:
    """Read a plan file; any unreadable or malformed file is one AdapterSyncError naming it."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise AdapterSyncError(f"{path}: cannot read plan file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise AdapterSyncError(f"{path}: not a plan file: not UTF-8 text") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AdapterSyncError(
            f"{path}: not a plan file: invalid JSON at line {exc.lineno} column {exc.colno} "
            f"({exc.msg}); the file may be truncated or corrupt"
        ) from exc
    try:
        return _parse(doc)
    except _Invalid as exc:
        raise AdapterSyncError(f"{path}: invalid plan file: {exc}") from exc


# --- staleness ------------------------------------------------------------------------------


def _show(field: str, value: Any) -> str:
    if field == "accepted_kinds":
        return clean("[" + ", ".join(sorted(value)) + "]") if value else "[all kinds]"
    return clean(json.dumps(value, ensure_ascii=False, sort_keys=True))


def stale_reasons(plan: Plan, live: Live) -> list[str]:
    """Why ``plan`` no longer fits ``live``, one reason per planned connector; empty if it fits."""
    reasons: list[str] = []
    for action in plan.actions:
        now = live.connectors.get(action.source_name)
        name = clean(action.source_name)
        if action.kind == "create":
            if now is not None:
                state = "" if now.is_active else " (inactive)"
                reasons.append(f"{name} now exists live{state}")
        elif now is None:
            reasons.append(f"{name} no longer exists live")
        else:
            saved = action.live
            if saved is None:  # a hand-built plan; load() never yields this
                saved = LiveConnector(action.connector_id or "", action.source_name, "")
            changed = diff.compare_live(saved, now)
            if changed:
                shown = ", ".join(
                    f"{field} {_show(field, c.before)} -> {_show(field, c.after)}"
                    for field, c in changed.items())
                reasons.append(f"{name} changed live ({shown})")
    return reasons


def check_stale(saved: SavedPlan, live: Live, api_url: str) -> None:
    """Refuse (StalePlanError) a saved plan made for another API or whose connectors changed."""
    if not _same_api(saved.api_url, api_url):
        raise StalePlanError(
            f"saved plan is stale: it was made against {safe_url(saved.api_url)} but the API URL "
            f"is now {safe_url(api_url)} — run plan again against this API"
        )
    reasons = stale_reasons(saved.plan, live)
    if reasons:
        shown = reasons[:MAX_REASONS]
        if len(reasons) > MAX_REASONS:
            shown.append(f"and {len(reasons) - MAX_REASONS} more")
        raise StalePlanError(f"saved plan is stale: {'; '.join(shown)} — run plan again")
