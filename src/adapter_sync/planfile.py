"""Saved plans: ``plan --out FILE`` writes one, ``apply --plan FILE`` loads and checks it.

A plan file is the plan document (:mod:`adapter_sync.document`, ``schemas/plan.schema.json``),
the same bytes ``plan --format json`` prints: every create with the connector it declares,
every action on an existing connector with the live state it was computed from, and the
provenance (API URL, selection, digests). Loading validates the file against that schema
(jsonschema) and explains the first problem in one line, then the codec builds the actions,
which check their own invariants. Before applying, :func:`check_stale` refuses a plan made for
another API, one whose live connectors (within its selection) changed since (``live_digest``),
and names each planned connector that changed (compared through :mod:`adapter_sync.diff`): a
plan is applied exactly as saved, or refused as stale, never re-planned.

The file never holds the API key: it is never passed in, and credentials in the URL
(``https://user:pass@host``) are stripped before saving or showing the URL. The caller may pass
a redactor as a last line of defence for values read from the server.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from adapter_sync import __version__, diff, schemafiles
from adapter_sync.atomicfile import write_atomic
from adapter_sync.document import (
    FORMAT_VERSION,
    KIND,
    api_url_of,
    dumps,
    from_document,
    safe_url,
    to_document,
)
from adapter_sync.errors import AdapterSyncError, StalePlanError
from adapter_sync.escape import clean, quote
from adapter_sync.model import (
    InvalidAction,
    Live,
    LiveConnector,
    Plan,
    Selection,
    glob_matcher,
)

__all__ = ["SavedPlan", "check_stale", "digest", "live_digest", "load", "safe_url", "save",
           "stale_reasons"]

SCHEMA = "plan.schema.json"
#: At most this many staleness reasons are spelled out; the rest are counted.
MAX_REASONS = 10


@dataclass(frozen=True)
class SavedPlan:
    """A plan read back from a file, with the API URL it was made against."""

    plan: Plan
    api_url: str
    tool_version: str = ""


# --- URLs -----------------------------------------------------------------------------------


def _same_api(a: str, b: str) -> bool:
    """Same API: scheme and host case-insensitive, trailing slashes ignored; the path and
    the query compared exactly (paths are case-sensitive)."""

    def norm(url: str) -> tuple[str, str, str, str]:
        parts = urlsplit(safe_url(url.strip()))
        return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query

    return norm(a) == norm(b)


# --- save -----------------------------------------------------------------------------------


def save(path: str, plan: Plan, api_url: str,
         redact: Callable[[str], str] | None = None) -> None:
    """Write ``plan``'s document to ``path`` atomically, readable by its owner only (mode
    0600): the bytes ``plan --format json`` prints for the plan (``api_url`` stripped of
    credentials)."""
    text = dumps(to_document(plan, api_url))
    if redact is not None:
        text = redact(text)
    write_atomic(path, text, overwrite=True, mode=0o600, what="plan file")


# --- load -----------------------------------------------------------------------------------


class _Invalid(Exception):
    """Internal: why a plan file is malformed; turned into one AdapterSyncError line."""


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft7Validator  # type: ignore[import-untyped, unused-ignore]

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


def _version_problem(doc: dict[str, Any]) -> str | None:
    """Why this document's version cannot be read (a plan of another major version, e.g. a
    JSON plan 1.x or a plan file 2 of an older adapter-sync), or None."""
    version = doc.get("format_version")
    if isinstance(version, str) and version.split(".")[0] == FORMAT_VERSION.split(".")[0] \
            and version.partition(".")[2].isdigit():
        return None
    return (f"format_version {json.dumps(version)} is not supported by adapter-sync "
            f"{__version__} (it reads version {FORMAT_VERSION}); make the plan again with "
            "this version")


def _parse(doc: Any) -> SavedPlan:
    if not isinstance(doc, dict):
        raise _Invalid("not a JSON object")
    # Say first what the file is not (another kind of file, another version), then the
    # shallowest problem.
    if "kind" in doc and doc["kind"] != KIND:
        raise _Invalid(f'not an adapter-sync plan file ("kind" is not {KIND!r})')
    problem = _version_problem(doc)
    if problem:
        raise _Invalid(problem)
    errors = sorted(_validator().iter_errors(doc), key=lambda e: len(e.absolute_path))
    if errors:
        raise _Invalid(_explain(errors[0]))
    for i, data in enumerate(doc["actions"]):
        if data["action"] != "create" and data.get("live") is None:
            raise _Invalid(f"actions[{i}].live must be an object (the live connector)")
        if data["action"] == "create" and data.get("desired") is None:
            raise _Invalid(f"actions[{i}].desired must be an object (the declared connector)")
    if doc["provenance"] is None or not doc["provenance"]["api_url"]:
        raise _Invalid("provenance.api_url missing: the plan does not say which API it was "
                       "made against")
    try:
        plan = from_document(doc)
    except InvalidAction as exc:
        index = _failing_action(doc)
        raise _Invalid(f"actions[{index}]: {exc}") from None
    except (KeyError, ValueError, TypeError) as exc:  # what the schema cannot say
        raise _Invalid(f"a value of another shape ({type(exc).__name__}: {exc})") from None
    names = [a.source_name for a in plan.actions]
    if len(set(names)) != len(names):
        raise _Invalid("a connector appears in more than one action")
    return SavedPlan(plan, api_url_of(doc), doc.get("tool_version", ""))


def _failing_action(doc: dict[str, Any]) -> int:
    """The index of the first action the codec refuses (for the error message)."""
    for i, data in enumerate(doc["actions"]):
        try:
            from_document({**doc, "actions": [data]})
        except InvalidAction:
            return i
    return 0  # pragma: no cover - only called after one failed


def load(path: str) -> SavedPlan:
    """Read a plan file; any unreadable or malformed file is one AdapterSyncError naming it.
    A path that is not a regular file (a device such as /dev/zero, a FIFO) is refused unread:
    it may never end."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
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
    except RecursionError as exc:  # no plan nests that deep: a hostile or corrupt file
        raise AdapterSyncError(f"{path}: not a plan file: JSON nested too deeply") from exc
    try:
        return _parse(doc)
    except _Invalid as exc:
        raise AdapterSyncError(f"{path}: invalid plan file: {exc}") from exc


# --- staleness ------------------------------------------------------------------------------


def _show(field: str, value: Any) -> str:
    if field == "accepted_kinds":
        return clean("[" + ", ".join(sorted(value)) + "]") if value else "[all kinds]"
    return quote(value)


def stale_reasons(plan: Plan, live: Live,
                  redact: Callable[[str], str] | None = None) -> list[str]:
    """Why ``plan`` no longer fits ``live``, one reason per planned connector; empty if it fits.
    ``redact``: the one the plan file was saved with; live text is compared as the file holds
    it (a key in a live value is "***" there, and is not a change)."""
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
            changed = diff.compare_live(saved, now if redact is None else _redacted(now, redact))
            if changed:
                shown = ", ".join(
                    f"{field} {_show(field, c.before)} -> {_show(field, c.after)}"
                    for field, c in changed.items())
                reasons.append(f"{name} changed live ({shown})")
    return reasons


def _redacted(connector: LiveConnector, redact: Callable[[str], str]) -> LiveConnector:
    """``connector`` with its text as a redacted plan file holds it."""
    return replace(connector, name=redact(connector.name),
                   metadata={redact(k): redact(v) for k, v in connector.metadata.items()})


def live_digest(live: Live, selection: Selection | None = None,
                ignore: tuple[str, ...] = ()) -> str:
    """A digest of the live connectors a plan manages: those ``selection`` matches and no
    ``ignore`` glob does (sha256 of a canonical JSON form; ``created_at`` left out: servers
    format it freely)."""
    selected = (selection or Selection()).matcher()
    ignored = glob_matcher(ignore)
    return digest([c.to_api() for name, c in sorted(live.connectors.items())
                   if selected(name) and not ignored(name)])


def digest(value: Any) -> str:
    """``sha256:HEX`` of a canonical JSON form of ``value`` (keys sorted, compact, UTF-8; a
    value JSON cannot hold, such as a date in a policy schema read from YAML, as its text)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def check_stale(saved: SavedPlan, live: Live, api_url: str,
                redact: Callable[[str], str] | None = None) -> None:
    """Refuse (StalePlanError) a saved plan made for another API, or made against live
    connectors that changed since: each planned connector that changed is named; a change
    elsewhere within the plan's selection (its ``live_digest`` moved) is said as such.
    ``redact``: the one the file was saved with (see :func:`stale_reasons`)."""
    if not _same_api(saved.api_url, api_url):
        raise StalePlanError(
            f"saved plan is stale: it was made against {safe_url(saved.api_url)} but the API URL "
            f"is now {safe_url(api_url)} — run plan again against this API"
        )
    reasons = stale_reasons(saved.plan, live, redact)
    provenance = saved.plan.provenance
    if not reasons and provenance is not None and provenance.live_digest and \
            live_digest(live, provenance.selection, provenance.ignore) != provenance.live_digest:
        within = " within its selection" if provenance.selection else ""
        reasons = [f"the live connectors{within} changed since the plan was made (a "
                   "connector was added, removed or changed that the plan does not act on; "
                   "its live_digest no longer matches)"]
    if reasons:
        shown = reasons[:MAX_REASONS]
        if len(reasons) > MAX_REASONS:
            shown.append(f"and {len(reasons) - MAX_REASONS} more")
        raise StalePlanError(f"saved plan is stale: {'; '.join(shown)} — run plan again")
