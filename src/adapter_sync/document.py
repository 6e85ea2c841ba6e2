"""The plan document: one codec between a :class:`~adapter_sync.model.Plan` and the JSON
document that is both ``plan --format json`` and the saved plan (``plan --out FILE``).

:func:`to_document` writes everything a plan says (``schemas/plan.schema.json``):
each action with its cause, origin, field changes (with per-key and per-kind ``details``), the
live state it was computed from or the connector a create declares; the safety findings as
data; policy findings; the lists of unmanaged, protected and drift-resolved connectors; the
estimate and the provenance (API URL, selection, base, digests). :func:`from_document` reads
it back into an equal plan. :func:`dumps` writes it with the C encoder (compact, ASCII): the
same plan always gives the same bytes.

``format_version`` is "MAJOR.MINOR" (Terraform's rule): a minor bump only adds keys (readers
ignore keys they do not know), a major bump breaks. ``CHANGELOG.md`` records each bump.
This module checks no schema (:mod:`adapter_sync.planfile` validates a file before reading
it) and imports only the model, so every view may use it.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from adapter_sync import __version__
from adapter_sync.model import (
    Action,
    Cause,
    DesiredConnector,
    Detail,
    Estimate,
    FieldChange,
    Finding,
    LiveConnector,
    Plan,
    PolicyFinding,
    Provenance,
    Safety,
    SafetyRules,
    Selection,
    normalize_kinds,
)

FORMAT_VERSION = "2.0"
KIND = "adapter-sync-plan"

CAUSES = {Cause.DECLARED_INACTIVE: "declared_inactive", Cause.PRUNED: "pruned"}
_CAUSE_OF = {v: k for k, v in CAUSES.items()}
_RULE_FIELDS = ("max_deactivate_percent", "min_active", "small_account_percent")


def safe_url(url: str) -> str:
    """``url`` without ``user:password@`` credentials, safe to store and to print."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


# --- write ----------------------------------------------------------------------------------


_SCALARS = (str, bool, int, float, type(None))


def _sorted_value(value: Any) -> Any:
    """Dicts inside a value with sorted keys, so equal plans give equal bytes."""
    if type(value) in _SCALARS:  # the common case first: an ABC check costs microseconds
        return value
    if type(value) is dict and all(type(v) is str for v in value.values()):
        return {str(k): value[k] for k in sorted(value, key=str)}
    if isinstance(value, Mapping):
        return {str(k): _sorted_value(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_sorted_value(v) for v in value]
    return value


def _change(change: FieldChange) -> dict[str, Any]:
    return {"before": _sorted_value(change.before), "after": _sorted_value(change.after),
            "details": [{"op": d.op, "key": d.key, "before": d.before, "after": d.after}
                        for d in change.details]}


def _live(live: LiveConnector) -> dict[str, Any]:
    data = live.to_api()
    if live.created_at is not None:
        data["created_at"] = live.created_at
    return data


def _desired(desired: DesiredConnector) -> dict[str, Any]:
    body = desired.create_body()
    del body["source_name"]
    return body


def _action(action: Action) -> dict[str, Any]:
    return {
        "action": action.kind,
        "source_name": action.source_name,
        "connector_id": action.connector_id,
        "cause": CAUSES[action.cause] if action.cause is not None else None,
        "origin": action.origin,
        "changes": {field: _change(change) for field, change in action.changes.items()},
        "live": _live(action.live) if action.live is not None else None,
        "desired": _desired(action.desired) if action.desired is not None else None,
    }


def iso_utc(epoch: float) -> str:
    """``2026-12-05T01:00:00Z`` (whole seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(round(epoch)))


def _estimate(e: Estimate | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"api_calls": e.api_calls, "seconds": e.seconds,
            "limit_per_minute": e.limit_per_minute, "remaining": e.remaining,
            "reset_at": None if e.reset_at is None else iso_utc(e.reset_at),
            "exceeds_budget": e.exceeds_budget}


def policy_message(finding: PolicyFinding) -> str:
    """A policy finding in one line (unescaped): who, which rule, the schema's error."""
    where = "" if finding.managed else " (live, not declared)"
    return f"{finding.source_name}{where} breaks policy {finding.rule!r}: {finding.error}"


def _policy(finding: PolicyFinding) -> dict[str, Any]:
    return {"source_name": finding.source_name, "rule": finding.rule,
            "message": policy_message(finding),
            "severity": finding.severity, "error": finding.error, "managed": finding.managed}


def to_document(plan: Plan, api_url: str | None = None) -> dict[str, Any]:
    """The plan document for ``plan``; ``api_url`` (credentials stripped) replaces the
    provenance's when given. A plan with no provenance and no ``api_url`` has
    ``provenance: null`` (a saved plan always has one)."""
    provenance = plan.provenance
    if provenance is None and api_url is not None:
        provenance = Provenance()
    summary: dict[str, int] = dict(plan.summary)
    summary["total"] = len(plan.actions)
    safety = plan.safety
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "tool_version": __version__,
        "summary": summary,
        "has_changes": plan.has_changes,
        "actions": [_action(a) for a in plan.actions],
        "unmanaged": list(plan.unmanaged),
        "protected": list(plan.protected),
        "drift_resolved": list(plan.drift_resolved),
        "live_active": plan.live_active,
        "prune": plan.prune,
        "safety": {
            "needs_force": safety.needs_force,
            "blocked": safety.blocked,
            "rules": {name: getattr(safety.rules, name) for name in _RULE_FIELDS},
            "findings": [{"code": f.code, "effect": f.effect, "subjects": list(f.subjects),
                          "numbers": dict(f.numbers)} for f in safety.findings],
        },
        "policy": [_policy(f) for f in plan.policy],
        "estimate": _estimate(plan.estimate),
        "provenance": None if provenance is None else {
            "api_url": safe_url(api_url if api_url is not None else provenance.api_url),
            "selection": {"include": list(provenance.selection.include),
                          "exclude": list(provenance.selection.exclude)},
            "base": provenance.base,
            "config_digest": provenance.config_digest,
            "live_digest": provenance.live_digest,
            "ignore": list(provenance.ignore),
        },
    }


def dumps(document: Mapping[str, Any]) -> str:
    """The document as JSON text: the C encoder (compact separators, no indent, ASCII) and a
    newline. ``indent`` would fall back to the pure-Python encoder (~6x slower)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True) + "\n"


# --- read -----------------------------------------------------------------------------------


def _read_change(data: Mapping[str, Any]) -> FieldChange:
    details = tuple(Detail(d["op"], d["key"], d.get("before"), d.get("after"))
                    for d in data.get("details") or ())
    return FieldChange(data["before"], data["after"], details)


def _read_action(data: Mapping[str, Any]) -> Action:
    """One action; its own invariants are checked (:class:`~adapter_sync.model.InvalidAction`)."""
    desired = None
    if data.get("desired") is not None:
        d = data["desired"]
        desired = DesiredConnector(data["source_name"], d["name"],
                                   normalize_kinds(d.get("accepted_kinds")),
                                   dict(d.get("metadata") or {}))
    cause = data.get("cause")
    return Action(
        data["action"], data["source_name"], data["connector_id"],
        {field: _read_change(change) for field, change in data["changes"].items()},
        live=LiveConnector.from_api(data["live"]) if data.get("live") is not None else None,
        desired=desired, cause=_CAUSE_OF[cause] if cause is not None else None,
        origin=data.get("origin"),
    )


def _read_safety(data: Mapping[str, Any]) -> Safety:
    defaults = SafetyRules()
    rules = SafetyRules(**{name: data["rules"].get(name, getattr(defaults, name))
                           for name in _RULE_FIELDS})
    findings = tuple(Finding(f["code"], f["effect"], tuple(f.get("subjects") or ()),
                             dict(f.get("numbers") or {})) for f in data["findings"])
    return Safety(findings, rules)


def _parse_iso(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def _read_estimate(data: Mapping[str, Any] | None) -> Estimate | None:
    if data is None:
        return None
    reset = data.get("reset_at")
    return Estimate(data["api_calls"], data.get("seconds"), data.get("limit_per_minute"),
                    data.get("remaining"), None if reset is None else _parse_iso(reset))


def _read_provenance(data: Mapping[str, Any] | None) -> Provenance | None:
    if data is None:
        return None
    selection = data.get("selection") or {}
    return Provenance(
        api_url=data["api_url"],
        selection=Selection(tuple(selection.get("include", ())),
                            tuple(selection.get("exclude", ()))),
        base=data.get("base"), config_digest=data.get("config_digest", ""),
        live_digest=data.get("live_digest", ""), ignore=tuple(data.get("ignore", ())))


def from_document(document: Mapping[str, Any]) -> Plan:
    """The plan a document describes (one that ``schemas/plan.schema.json`` accepts).
    Derived keys (``summary``, ``has_changes``, ``needs_force``, ``blocked``, a policy
    finding's ``message``, ``exceeds_budget``) are not read: the plan derives them again.
    Raises :class:`~adapter_sync.model.InvalidAction` for an action that contradicts itself,
    ``KeyError``/``ValueError`` for a document of another shape."""
    actions = tuple(_read_action(a) for a in document["actions"])
    policy = tuple(PolicyFinding(p["source_name"], p["rule"], p["severity"], p["error"],
                                 bool(p["managed"])) for p in document.get("policy") or ())
    return Plan(
        actions, tuple(document["unmanaged"]), int(document["live_active"]),
        bool(document["prune"]), protected=tuple(document.get("protected") or ()),
        drift_resolved=tuple(document.get("drift_resolved") or ()),
        safety=_read_safety(document["safety"]),
        provenance=_read_provenance(document.get("provenance")),
        estimate=_read_estimate(document.get("estimate")),
        policy=policy)


def api_url_of(document: Mapping[str, Any]) -> str:
    """The API URL a document's plan was made against ("" when it does not say)."""
    provenance = document.get("provenance")
    return str(provenance.get("api_url", "")) if isinstance(provenance, Mapping) else ""
