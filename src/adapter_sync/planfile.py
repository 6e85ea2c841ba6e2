"""Saved plans: ``plan --out FILE`` writes one, ``apply --plan FILE`` loads and checks it.

A plan file holds the plan and, for every action on an existing connector, the live state the
action was computed from. Before applying, :func:`check_stale` compares that snapshot with the
current live state: a plan is applied exactly as saved, or refused as stale, never re-planned.

The file never holds the API key: it is never passed in, and credentials in the URL
(``https://user:pass@host``) are stripped before saving or showing the URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from adapter_sync import __version__
from adapter_sync.errors import AdapterSyncError, StalePlanError
from adapter_sync.model import (
    ACTION_KINDS,
    FIELDS,
    Action,
    FieldChange,
    Live,
    LiveConnector,
    Plan,
)
from adapter_sync.render import clean

FORMAT_VERSION = 1
KIND = "adapter-sync-plan"
#: At most this many staleness reasons are spelled out; the rest are counted.
MAX_REASONS = 10


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


def to_dict(plan: Plan, api_url: str) -> dict[str, Any]:
    """The plan-file document for ``plan`` (credentials stripped from ``api_url``)."""
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "tool_version": __version__,
        "api_url": safe_url(api_url),
        "prune": plan.prune,
        "live_active": plan.live_active,
        "unmanaged": list(plan.unmanaged),
        "actions": [
            {
                "kind": action.kind,
                "source_name": action.source_name,
                "connector_id": action.connector_id,
                "reason": action.reason,
                "changes": {
                    field: {"before": change.before, "after": change.after}
                    for field, change in action.changes.items()
                },
                "live": _live_dict(action.live) if action.live is not None else None,
            }
            for action in plan.actions
        ],
    }


def save(path: str, plan: Plan, api_url: str) -> None:
    """Write ``plan`` to ``path`` atomically (temp file, then rename), readable by owner only."""
    text = json.dumps(to_dict(plan, api_url), indent=2, ensure_ascii=False) + "\n"
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".adapter-sync-plan.", suffix=".tmp")
    except OSError as exc:
        raise AdapterSyncError(f"{path}: cannot write plan file: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:  # mkstemp: mode 0600
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise AdapterSyncError(
                f"{path}: cannot write plan file: {exc.strerror or exc}"
            ) from exc
        raise


# --- load -----------------------------------------------------------------------------------


class _Invalid(Exception):
    """Internal: why a plan file is malformed; turned into one AdapterSyncError line."""


def _need(cond: bool, why: str) -> None:
    if not cond:
        raise _Invalid(why)


def _str_list(value: Any, what: str) -> list[str]:
    _need(isinstance(value, list) and all(isinstance(v, str) for v in value),
          f"{what} must be a list of strings")
    return value


def _str_map(value: Any, what: str) -> dict[str, str]:
    _need(isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
          f"{what} must be an object of strings")
    return value


def _check_value(field: str, value: Any, what: str) -> None:
    if field == "name":
        _need(isinstance(value, str), f"{what} must be a string")
    elif field == "accepted_kinds":
        _str_list(value, what)
    elif field == "metadata":
        _str_map(value, what)
    else:  # is_active
        _need(isinstance(value, bool), f"{what} must be true or false")


def _parse_live(data: Any, where: str) -> LiveConnector:
    _need(isinstance(data, dict), f"{where}.live must be an object")
    for key in ("connector_id", "source_name", "name"):
        _need(isinstance(data.get(key), str), f"{where}.live.{key} must be a string")
    _str_list(data.get("accepted_kinds"), f"{where}.live.accepted_kinds")
    _str_map(data.get("metadata"), f"{where}.live.metadata")
    _need(isinstance(data.get("is_active"), bool), f"{where}.live.is_active must be true or false")
    created_at = data.get("created_at")
    _need(created_at is None or isinstance(created_at, str),
          f"{where}.live.created_at must be a string")
    return LiveConnector.from_api(data)


def _parse_action(data: Any, i: int) -> Action:
    where = f"actions[{i}]"
    _need(isinstance(data, dict), f"{where} must be an object")
    kind = data.get("kind")
    _need(kind in ACTION_KINDS, f"{where}.kind must be one of {', '.join(ACTION_KINDS)}")
    source_name = data.get("source_name")
    _need(isinstance(source_name, str) and source_name != "", f"{where}.source_name missing")
    connector_id = data.get("connector_id")
    reason = data.get("reason", "")
    _need(isinstance(reason, str), f"{where}.reason must be a string")
    raw_changes = data.get("changes")
    _need(isinstance(raw_changes, dict), f"{where}.changes must be an object")
    changes: dict[str, FieldChange] = {}
    for field, change in raw_changes.items():
        # Only fields the API accepts: a tampered file must not smuggle others into a request.
        _need(field in FIELDS, f"{where}.changes has unknown field {field!r}")
        _need(isinstance(change, dict) and set(change) == {"before", "after"},
              f"{where}.changes.{field} must have exactly 'before' and 'after'")
        _check_value(field, change["after"], f"{where}.changes.{field}.after")
        if change["before"] is not None:
            _check_value(field, change["before"], f"{where}.changes.{field}.before")
        changes[field] = FieldChange(change["before"], change["after"])
    # The kind must say what the changes do: the safety check and the renderers trust it.
    active = changes["is_active"].after if "is_active" in changes else None
    expected = {"create": None, "update": None, "reactivate": True, "deactivate": False}[kind]
    _need(active is expected, f"{where}: kind {kind!r} "
          + ("must not change is_active" if expected is None
             else f"must set is_active to {str(expected).lower()}"))
    if kind == "create":
        _need(connector_id is None, f"{where}: a create has no connector_id")
        _need(data.get("live") is None, f"{where}: a create has no live state")
        live = None
    else:
        _need(isinstance(connector_id, str) and connector_id != "",
              f"{where}.connector_id must be a string")
        _need(bool(changes), f"{where}.changes is empty")
        live = _parse_live(data.get("live"), where)
        _need(live.source_name == source_name and live.connector_id == connector_id,
              f"{where}.live does not match the action's source_name and connector_id")
    return Action(kind, source_name, connector_id, changes, live=live, reason=reason)


def _parse(doc: Any) -> SavedPlan:
    _need(isinstance(doc, dict), "not a JSON object")
    _need(doc.get("kind") == KIND, "not an adapter-sync plan file (\"kind\" is not "
          f"{KIND!r})")
    version = doc.get("format_version")
    _need(version == FORMAT_VERSION,
          f"format_version {json.dumps(version)} is not supported by adapter-sync {__version__} "
          f"(it reads version {FORMAT_VERSION}); make the plan again with this version")
    api_url = doc.get("api_url")
    _need(isinstance(api_url, str) and api_url != "", "api_url missing")
    prune, live_active = doc.get("prune"), doc.get("live_active")
    _need(isinstance(prune, bool), "prune must be true or false")
    _need(isinstance(live_active, int) and not isinstance(live_active, bool) and live_active >= 0,
          "live_active must be a count")
    unmanaged = _str_list(doc.get("unmanaged"), "unmanaged")
    raw_actions = doc.get("actions")
    _need(isinstance(raw_actions, list), "actions must be a list")
    actions = tuple(_parse_action(a, i) for i, a in enumerate(raw_actions))
    names = [a.source_name for a in actions]
    _need(len(set(names)) == len(names), "a connector appears in more than one action")
    tool_version = doc.get("tool_version")
    plan = Plan(actions, tuple(unmanaged), live_active, prune)
    return SavedPlan(plan, api_url, tool_version if isinstance(tool_version, str) else "")


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


def _differences(saved: LiveConnector, now: LiveConnector) -> list[str]:
    """Fields that differ, compared normalised (kinds as sets); created_at is ignored."""
    pairs = [
        ("connector_id", saved.connector_id, now.connector_id),
        ("name", saved.name, now.name),
        ("accepted_kinds", set(saved.accepted_kinds), set(now.accepted_kinds)),
        ("metadata", dict(saved.metadata), dict(now.metadata)),
        ("is_active", saved.is_active, now.is_active),
    ]
    return [
        f"{field} {_show(field, old)} -> {_show(field, new)}"
        for field, old, new in pairs
        if old != new
    ]


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
            diff = _differences(saved, now)
            if diff:
                reasons.append(f"{name} changed live ({', '.join(diff)})")
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
