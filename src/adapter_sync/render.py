"""Plan -> text / Markdown / JSON, and Result -> text. Renderers read; they never compute a plan.

Every rendering is deterministic: the same plan gives the same bytes (metadata keys are sorted,
fields appear in :data:`~adapter_sync.model.FIELDS` order). Values are quoted with
``json.dumps`` so spaces, empty strings and control characters are visible, and nothing a
hostile name contains can move the terminal cursor or break a Markdown table.

Per-key metadata changes come from each change's ``details`` (computed by
:mod:`adapter_sync.diff`). This module imports only the standard library, the model and
:mod:`adapter_sync.escape`, so importing it stays cheap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from adapter_sync.escape import clean, quote
from adapter_sync.model import (
    ACTION_KINDS,
    FIELDS,
    Action,
    Cause,
    Detail,
    FieldChange,
    Plan,
    Result,
)

#: Plans with more actions than this are collapsed in a <details> block in Markdown.
MARKDOWN_COLLAPSE_OVER = 20

SYMBOLS = {"create": "+", "update": "~", "reactivate": "^", "deactivate": "-"}
PAST_TENSE = {
    "create": "created",
    "update": "updated",
    "reactivate": "reactivated",
    "deactivate": "deactivated",
}
NO_CHANGES = "No changes. Live state matches the configuration."
ALL_KINDS = "all kinds"

_GREEN, _YELLOW, _RED, _CYAN, _BOLD = "32", "33", "31", "36", "1"
_KIND_COLOR = {"create": _GREEN, "update": _YELLOW, "reactivate": _CYAN, "deactivate": _RED}
_OP_COLOR = {"+": _GREEN, "~": _YELLOW, "-": _RED}

def format_kinds(value: Any) -> str:
    """``[email, page]``; an empty list reads ``[all kinds]``."""
    if not isinstance(value, (list, tuple, set, frozenset)):
        return quote(value)
    if not value:
        return f"[{ALL_KINDS}]"
    return "[" + ", ".join(clean(str(k)) for k in sorted(value, key=str)) + "]"


def format_value(field: str, value: Any) -> str:
    """One field value as the text renderer shows it."""
    if field == "accepted_kinds":
        return format_kinds(value)
    return quote(value)


def _has_details(change: FieldChange) -> bool:
    return bool(change.details)


def _rows(details: Iterable[Detail]) -> list[tuple[str, str, Any, Any]]:
    return [(d.op, d.key, d.before, d.after) for d in details]


def _ordered_changes(action: Action) -> list[tuple[str, FieldChange]]:
    """Changes in FIELDS order, then any unknown field by name (never dropped silently)."""
    known = [(f, action.changes[f]) for f in FIELDS if f in action.changes]
    extra = sorted((f, c) for f, c in action.changes.items() if f not in FIELDS)
    return known + extra


def _plan_line(summary: Mapping[str, int]) -> str:
    return (
        f"Plan: {summary['create']} to create, {summary['update']} to update, "
        f"{summary['reactivate']} to reactivate, {summary['deactivate']} to deactivate."
    )


def _declared_drift(action: Action) -> bool:
    """An existing connector the repository declares differs live (not a prune, not a create)."""
    return action.kind != "create" and action.cause is not Cause.PRUNED


# --- text ----------------------------------------------------------------------------------


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text


def _header(action: Action) -> str:
    line = f"{SYMBOLS[action.kind]} {action.kind} {clean(action.source_name)}"
    if action.connector_id:
        line += f" ({clean(action.connector_id)})"
    if action.reason:
        line += f": {clean(action.reason)}"
    return line


def _text_action(action: Action, paint: _Painter) -> list[str]:
    lines = [paint(_header(action), _KIND_COLOR[action.kind])]
    creating = action.kind == "create"
    for field, change in _ordered_changes(action):
        if field == "metadata" and _has_details(change):
            lines.append(f"    {field}:")
            for op, key, old, new in _rows(change.details):
                if op == "+":
                    text = f"+ {clean(str(key))}: {quote(new)}"
                elif op == "-":
                    text = f"- {clean(str(key))}: {quote(old)}"
                else:
                    text = f"~ {clean(str(key))}: {quote(old)} -> {quote(new)}"
                lines.append("      " + paint(text, _OP_COLOR[op]))
        elif field == "metadata" and creating and change.after == {}:
            lines.append(f"    {field}: {{}}")
        elif creating and change.before is None:
            lines.append(f"    {clean(field)}: {format_value(field, change.after)}")
        else:
            before, after = format_value(field, change.before), format_value(field, change.after)
            lines.append(f"    {clean(field)}: {before} -> {after}")
    return lines


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The plan for a terminal, Terraform-like. ANSI colour only when ``color`` is true."""
    paint = _Painter(color)
    blocks: list[list[str]] = [_text_action(action, paint) for action in plan.actions]
    if plan.unmanaged:
        names = ", ".join(clean(n) for n in plan.unmanaged)
        blocks.append([f"Unmanaged (not declared, left untouched): {names}"])
    summary = _plan_line(plan.summary) if plan.has_changes else NO_CHANGES
    blocks.append([paint(summary, _BOLD)])
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


# --- Markdown ------------------------------------------------------------------------------

# Everything that could end a table cell, open a tag, a code span, emphasis, a link, math or a
# mention is written as an HTML entity: GitHub shows the character, and interprets nothing.
_MD_ESCAPES = {c: f"&#{ord(c)};" for c in "\\`*_[]<>|~$@#!"}
_MD_ESCAPES["&"] = "&amp;"
_MD_RE = re.compile("[" + re.escape("".join(_MD_ESCAPES)) + "]")


def md_escape(text: str) -> str:
    """``text`` safe inside a Markdown table cell (and inline HTML), on one line."""
    return _MD_RE.sub(lambda m: _MD_ESCAPES[m.group()], clean(text))


def _md_value(field: str, value: Any) -> str:
    if value is None:
        return "—"
    if field == "accepted_kinds" and isinstance(value, (list, tuple)):
        return md_escape(", ".join(str(k) for k in sorted(value, key=str))) if value else ALL_KINDS
    return md_escape(quote(value))


def _md_key(key: Any) -> str:
    key = str(key)
    shown = f".{key}" if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f"[{quote(key)}]"
    return md_escape("metadata" + shown)


def _md_field(field: str) -> str:
    return field if field in FIELDS else md_escape(field)


def _md_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _md_create_rows(actions: list[Action]) -> list[list[str]]:
    rows = []
    for action in actions:
        changes = action.changes
        meta = changes["metadata"].after if "metadata" in changes else None
        if isinstance(meta, Mapping):
            pairs = [f"{md_escape(str(k))}: {md_escape(quote(v))}" for k, v in sorted(meta.items())]
            meta_cell = "<br>".join(pairs) or "—"
        else:
            meta_cell = _md_value("metadata", meta)
        rows.append([
            md_escape(action.source_name),
            _md_value("name", changes["name"].after if "name" in changes else None),
            _md_value("accepted_kinds",
                      changes["accepted_kinds"].after if "accepted_kinds" in changes else None),
            meta_cell,
        ])
    return rows


def _md_change_rows(actions: list[Action]) -> list[list[str]]:
    rows = []
    for action in actions:
        first = True
        for field, change in _ordered_changes(action):
            if field == "metadata" and _has_details(change):
                cells = [
                    [_md_key(key), _md_value(field, old), _md_value(field, new)]
                    for _op, key, old, new in _rows(change.details)
                ]
            else:
                cells = [[_md_field(field), _md_value(field, change.before),
                          _md_value(field, change.after)]]
            for cell in cells:
                rows.append([md_escape(action.source_name) if first else "", *cell])
                first = False
    return rows


def _md_sections(plan: Plan) -> list[str]:
    lines: list[str] = []
    for kind in ACTION_KINDS:
        actions = [a for a in plan.actions if a.kind == kind]
        if not actions:
            continue
        lines += ["", f"### {SYMBOLS[kind]} {kind.capitalize()} ({len(actions)})", ""]
        if kind == "create":
            lines += _md_table(["Connector", "Name", "Accepted kinds", "Metadata"],
                               _md_create_rows(actions))
        elif kind == "deactivate":
            lines += _md_table(
                ["Connector", "Connector ID", "Reason"],
                ([md_escape(a.source_name), md_escape(a.connector_id or "—"),
                  md_escape(a.reason or "—")] for a in actions),
            )
        else:
            lines += _md_table(["Connector", "Field", "Before", "After"],
                               _md_change_rows(actions))
    return lines


def _collapsed(summary: str, body: list[str]) -> list[str]:
    return ["", f"<details><summary>{summary}</summary>", *body, "", "</details>"]


def render_markdown(plan: Plan) -> str:
    """The plan for a pull-request comment or ``$GITHUB_STEP_SUMMARY``."""
    lines = ["## adapter-sync plan", ""]
    if not plan.has_changes:
        lines.append(f"**No changes.** {NO_CHANGES.removeprefix('No changes. ')}")
    else:
        summary = plan.summary
        lines.append(f"**{_plan_line(summary)}**")
        lines.append("")
        lines += _md_table(["Action", "Connectors"],
                           ([f"{SYMBOLS[k]} {k}", str(summary[k])] for k in ACTION_KINDS))
        drifted = sum(1 for a in plan.actions if _declared_drift(a))
        if drifted:
            noun = "connector" if drifted == 1 else "connectors"
            lines += [
                "",
                "> [!WARNING]",
                f"> **Drift:** the live state differs from the repository for {drifted} declared "
                f"{noun} (update, reactivate or deactivate below). Applying this plan makes the "
                "live state match the repository again.",
            ]
        sections = _md_sections(plan)
        n = len(plan.actions)
        if n > MARKDOWN_COLLAPSE_OVER:
            sections = _collapsed(f"Show all {n} changes", sections)
        lines += sections
    if plan.unmanaged:
        count = len(plan.unmanaged)
        items = [f"- {md_escape(name)}" for name in plan.unmanaged]
        lines += ["", f"### Unmanaged ({count})", "",
                  "Live connectors not declared in the repository, left untouched:"]
        if count > MARKDOWN_COLLAPSE_OVER:
            lines += _collapsed(f"Show all {count} unmanaged connectors", ["", *items])
        else:
            lines += ["", *items]
    return "\n".join(lines) + "\n"


# --- JSON ----------------------------------------------------------------------------------

JSON_FORMAT_VERSION = 1


def _sorted_value(value: Any) -> Any:
    """Dicts inside a value with sorted keys, so equal plans give equal bytes."""
    if isinstance(value, Mapping):
        return {str(k): _sorted_value(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_sorted_value(v) for v in value]
    return value


def render_json(plan: Plan) -> str:
    """The plan for machines: a stable document (``format_version`` 1), ASCII, one newline."""
    doc = {
        "format_version": JSON_FORMAT_VERSION,
        "actions": [
            {
                "action": action.kind,
                "source_name": action.source_name,
                "connector_id": action.connector_id,
                "changes": {
                    field: {"before": _sorted_value(change.before),
                            "after": _sorted_value(change.after)}
                    for field, change in _ordered_changes(action)
                },
            }
            for action in plan.actions
        ],
        "unmanaged": list(plan.unmanaged),
        "summary": plan.summary,
    }
    return json.dumps(doc, indent=2) + "\n"


# --- apply result --------------------------------------------------------------------------


#: Result markers, and the ASCII ones for output that cannot encode them (a cp1252 console).
MARKERS = {"done": "✓", "failed": "✗", "skipped": "-"}
ASCII_MARKERS = {"done": "+", "failed": "x", "skipped": "-"}
#: Skipped actions named in their summary line at most.
SKIPPED_NAMED = 5


def render_result(result: Result, *, color: bool = False, ascii: bool = False,
                  include_done: bool = True) -> str:
    """What apply did: one line per done (unless ``include_done`` is false: they were shown as
    they happened) or failed action, one line summing up the skipped ones, a final count, and
    how to finish (nothing when rerunning would not help)."""
    paint = _Painter(color)
    mark = ASCII_MARKERS if ascii else MARKERS
    lines: list[str] = []
    skipped: dict[str, list[Action]] = {}
    for outcome in result.outcomes:
        action = outcome.action
        name = clean(action.source_name)
        connector_id = outcome.connector_id or action.connector_id
        message = clean(outcome.message)
        if outcome.status == "done":
            if not include_done:
                continue
            line = f"{mark['done']} {PAST_TENSE[action.kind]} {name}"
            if connector_id:
                line += f" ({clean(connector_id)})"
            lines.append(paint(line, _GREEN))
            if message:
                lines.append(f"    note: {message}")
        elif outcome.status == "failed":
            lines.append(paint(f"{mark['failed']} failed {action.kind} {name}: "
                               f"{message or 'unknown error'}", _RED))
        else:
            skipped.setdefault(message or "not started", []).append(action)
    for why, actions in skipped.items():
        named = ", ".join(f"{a.kind} {clean(a.source_name)}" for a in actions[:SKIPPED_NAMED])
        if len(actions) > SKIPPED_NAMED:
            named += f" and {len(actions) - SKIPPED_NAMED} more"
        noun = "action" if len(actions) == 1 else "actions"
        lines.append(paint(f"{mark['skipped']} skipped {len(actions)} {noun}: {why} ({named})",
                           _YELLOW))
    done, failed, n_skipped = (result.count(s) for s in ("done", "failed", "skipped"))
    word = "interrupted" if result.interrupted else "stopped" if result.halted else "complete"
    final = f"Apply {word}: {done} done, {failed} failed, {n_skipped} skipped."
    lines.append(paint(final, _BOLD if result.ok else _RED))
    if result.halted:
        lines.append(f"Stopped because every other write would be refused too: "
                     f"{clean(result.halted)}")
    elif not result.ok:
        lines.append(
            "Run 'adapter-sync apply' again to finish the job: it plans afresh and does only "
            "what is still needed (a saved plan is now stale; make a new one)."
        )
    return "\n".join(lines) + "\n"
