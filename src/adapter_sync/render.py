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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from adapter_sync.escape import clean, quote
from adapter_sync.model import (
    FIELDS,
    Action,
    Detail,
    FieldChange,
    Outcome,
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


def _estimate_line(plan: Plan) -> str | None:
    estimate = plan.estimate
    if estimate is None or not plan.has_changes:
        return None
    calls = estimate.api_calls
    line = f"Estimate: {calls} API call{'s' * (calls != 1)}"
    if estimate.seconds is not None and estimate.limit_per_minute and estimate.seconds >= 1:
        line += (f", about {_duration(estimate.seconds)} at the announced rate limit "
                 f"({estimate.limit_per_minute:,.0f} requests a minute)")
    return line + "."


def _duration(seconds: float) -> str:
    seconds = max(1, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s" if seconds % 60 else f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _safety_lines(plan: Plan) -> list[str]:
    safety = plan.safety
    lines = []
    if safety.needs_force:
        lines += [f"Warning: apply will refuse this plan without --force: {clean(r)}"
                  for r in safety.force_reasons]
    lines += [f"Blocked: apply will refuse this plan, --force or not: {clean(b.reason)}"
              for b in safety.blocked]
    return lines


def _changes_and_drift(plan: Plan) -> tuple[list[Action], list[Action]]:
    """This config's changes, then what drifted (only with a base: otherwise no drift)."""
    drift = [a for a in plan.actions if a.origin == "drift"]
    return [a for a in plan.actions if a.origin != "drift"], drift


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The plan for a terminal, Terraform-like. ANSI colour only when ``color`` is true.

    With a base (``plan --base``): this config's changes first, then the drift, named as such.
    """
    paint = _Painter(color)
    changes, drift = _changes_and_drift(plan)
    blocks: list[list[str]] = [_text_action(action, paint) for action in changes]
    if drift:
        blocks.append([paint("Drift: the live state differs from the configuration already "
                             f"merged ({len(drift)}); applying this plan reverts it:", _BOLD)])
        blocks += [_text_action(action, paint) for action in drift]
    if plan.drift_resolved:
        names = ", ".join(clean(n) for n in plan.drift_resolved)
        blocks.append([f"Drift resolved by this change (live kept as it is): {names}"])
    if plan.unmanaged:
        names = ", ".join(clean(n) for n in plan.unmanaged)
        blocks.append([f"Unmanaged (not declared, left untouched): {names}"])
    if plan.protected:
        names = ", ".join(clean(n) for n in plan.protected)
        blocks.append([f"Protected (not declared, kept by protect): {names}"])
    warnings = _safety_lines(plan)
    if warnings:
        blocks.append([paint(w, _RED) for w in warnings])
    summary = _plan_line(plan.summary) if plan.has_changes else NO_CHANGES
    estimate = _estimate_line(plan)
    blocks.append([paint(summary, _BOLD), *([estimate] if estimate else [])])
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


#: GitHub refuses a comment over 65,536 characters; the Markdown plan stays under this.
MARKDOWN_LIMIT = 65_000
#: Kept free at the end for the line that counts what did not fit.
_MARKDOWN_RESERVE = 600
#: Sections in the order a reviewer needs them: what removes things first.
_MD_ORDER: tuple[str, ...] = ("deactivate", "create", "update", "reactivate")


def _md_section(kind: str, actions: list[Action], heading: str) -> tuple[list[str], list[list[str]]]:
    """A section's heading lines and its table rows (header first, one row group per action
    joined so an action is never split)."""
    head = ["", f"{heading} {SYMBOLS[kind]} {kind.capitalize()} ({len(actions)})", ""]
    if kind == "create":
        table = _md_table(["Connector", "Name", "Accepted kinds", "Metadata"], [])
        groups = [[_row(r)] for r in _md_create_rows(actions)]
    elif kind == "deactivate":
        table = _md_table(["Connector", "Connector ID", "Reason"], [])
        groups = [[_row([md_escape(a.source_name), md_escape(a.connector_id or "—"),
                         md_escape(a.reason or "—")])] for a in actions]
    else:
        table = _md_table(["Connector", "Field", "Before", "After"], [])
        groups = [[_row(r) for r in _md_change_rows([a])] for a in actions]
    return head + table, groups


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


class _Budget:
    """Markdown text that stays under :data:`MARKDOWN_LIMIT`, counting what it leaves out."""

    def __init__(self, limit: int) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.limit = limit
        self.left_out = 0

    def fits(self, lines: list[str]) -> bool:
        return self.size + sum(len(line) + 1 for line in lines) <= self.limit

    def close(self, lines: list[str]) -> None:
        """Lines that end what was opened (``</details>``): always added (the reserve)."""
        self.lines += lines
        self.size += sum(len(line) + 1 for line in lines)

    def add(self, lines: list[str], *, actions: int = 0) -> bool:
        if self.left_out or not self.fits(lines):
            self.left_out += actions
            return False
        self.lines += lines
        self.size += sum(len(line) + 1 for line in lines)
        return True


def _md_actions(budget: _Budget, actions: list[Action], heading: str, collapse: bool) -> None:
    for kind in _MD_ORDER:
        group = [a for a in actions if a.kind == kind]
        if not group:
            continue
        head, rows = _md_section(kind, group, heading)
        folded = collapse and kind != "deactivate"  # deactivations always in view
        opening = (["", f"<details><summary>{SYMBOLS[kind]} {kind.capitalize()} "
                    f"({len(group)})</summary>"] if folded else [])
        if folded:  # the summary line is the heading
            head = ["", *head[3:]]
        closing = ["", "</details>"] if folded else []
        if not budget.add(opening + head, actions=len(group)):
            continue
        shown = 0
        for row in rows:
            if not budget.fits(row + closing) or not budget.add(row):
                break
            shown += 1
        budget.left_out += len(group) - shown
        budget.close(closing)


def render_markdown(plan: Plan) -> str:
    """The plan for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

    The summary and any safety warning first, deactivations before other actions, details
    collapsed; with a base, this change's actions apart from the drift. Always under
    :data:`MARKDOWN_LIMIT` characters: what does not fit is counted and pointed to, never cut
    silently.
    """
    budget = _Budget(MARKDOWN_LIMIT - _MARKDOWN_RESERVE)
    head = ["## adapter-sync plan", ""]
    if not plan.has_changes:
        head.append(f"**No changes.** {NO_CHANGES.removeprefix('No changes. ')}")
    else:
        summary = plan.summary
        head.append(f"**{_plan_line(summary)}**")
        estimate = _estimate_line(plan)
        if estimate:
            head += ["", md_escape(estimate)]
    safety = plan.safety
    if safety.needs_force or safety.blocked:
        head += ["", "> [!CAUTION]"]
        head += [f"> **Apply will refuse this plan without `--force`:** {md_escape(r)}"
                 for r in safety.force_reasons]
        head += [f"> **Blocked, `--force` or not:** {md_escape(b.reason)}"
                 for b in safety.blocked]
    if plan.has_changes:
        head += [""] + _md_table(["Action", "Connectors"],
                                 ([f"{SYMBOLS[k]} {k}", str(plan.summary[k])]
                                  for k in _MD_ORDER))
    budget.add(head)
    changes, drift = _changes_and_drift(plan)
    collapse = len(plan.actions) > 0
    if drift:
        budget.add(["", f"### Changes from this configuration ({len(changes)})"])
        _md_actions(budget, changes, "####", collapse)
        budget.add(["", f"### Drift ({len(drift)})", "",
                    "The live state differs from the configuration already merged; applying "
                    "this plan reverts it:"], actions=0)
        _md_actions(budget, drift, "####", collapse)
    else:
        _md_actions(budget, changes, "###", collapse)
    for title, names, text in (
        ("Drift resolved", plan.drift_resolved,
         "Connectors whose live state this change adopts (the merged configuration would "
         "change them; this one leaves them as they are):"),
        ("Unmanaged", plan.unmanaged,
         "Live connectors not declared in the repository, left untouched:"),
        ("Protected", plan.protected,
         "Live connectors not declared, kept by `protect` (pruning passes over them):"),
    ):
        if not names:
            continue
        lines = ["", f"### {title} ({len(names)})", "", text]
        items = [f"- {md_escape(name)}" for name in names]
        if len(names) > MARKDOWN_COLLAPSE_OVER:
            lines += _collapsed(f"Show all {len(names)}", ["", *items])
        else:
            lines += ["", *items]
        if not budget.add(lines):
            budget.add(["", f"### {title} ({len(names)})", "", text + " (the list is too long "
                        "for this comment)"])
    lines = budget.lines
    if budget.left_out:
        lines += ["", f"> [!NOTE]\n> **{budget.left_out} more action"
                  f"{'s' * (budget.left_out != 1)} not shown here** (a comment holds "
                  f"{MARKDOWN_LIMIT:,} characters): the whole plan is in the job summary and "
                  "in the saved plan (`adapter-sync show PLANFILE`)."]
    return "\n".join(lines) + "\n"


def _collapsed(summary: str, body: list[str]) -> list[str]:
    return ["", f"<details><summary>{summary}</summary>", *body, "", "</details>"]


# --- JSON ----------------------------------------------------------------------------------

#: "MAJOR.MINOR", Terraform's rule: a minor bump only adds fields (consumers ignore keys they
#: do not know); a major bump breaks. 1.1 added origin, drift_resolved, protected, safety,
#: estimate and provenance (``schemas/plan.schema.json``).
JSON_FORMAT_VERSION = "1.1"


def _sorted_value(value: Any) -> Any:
    """Dicts inside a value with sorted keys, so equal plans give equal bytes."""
    if isinstance(value, Mapping):
        return {str(k): _sorted_value(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_sorted_value(v) for v in value]
    return value


def render_json(plan: Plan) -> str:
    """The plan for machines: a stable document (``schemas/plan.schema.json``), ASCII, one
    newline at the end."""
    provenance = plan.provenance
    estimate = plan.estimate
    doc = {
        "format_version": JSON_FORMAT_VERSION,
        "actions": [
            {
                "action": action.kind,
                "source_name": action.source_name,
                "connector_id": action.connector_id,
                "origin": action.origin,
                "changes": {
                    field: {"before": _sorted_value(change.before),
                            "after": _sorted_value(change.after)}
                    for field, change in _ordered_changes(action)
                },
            }
            for action in plan.actions
        ],
        "unmanaged": list(plan.unmanaged),
        "protected": list(plan.protected),
        "drift_resolved": list(plan.drift_resolved),
        "summary": plan.summary,
        "safety": {"needs_force": plan.safety.needs_force,
                   "reasons": list(plan.safety.reasons)},
        "estimate": {"api_calls": estimate.api_calls if estimate else len(plan.actions),
                     "seconds": estimate.seconds if estimate else None},
        "provenance": None if provenance is None else {
            "api_url": provenance.api_url,
            "selection": {"include": list(provenance.selection.include),
                          "exclude": list(provenance.selection.exclude)},
            "base": provenance.base,
            "config_digest": provenance.config_digest,
            "live_digest": provenance.live_digest,
        },
    }
    return json.dumps(doc, indent=2) + "\n"


# --- apply result --------------------------------------------------------------------------


#: Result markers, and the ASCII ones for output that cannot encode them (a cp1252 console).
MARKERS = {"done": "✓", "failed": "✗", "skipped": "-"}
ASCII_MARKERS = {"done": "+", "failed": "x", "skipped": "-"}
#: Skipped actions named in their summary line at most.
SKIPPED_NAMED = 5


def result_lines(kind: str, source_name: str, status: str, connector_id: str | None = None,
                 message: str = "", *, paint: Callable[[str, str], str] | None = None,
                 ascii: bool = False) -> list[str]:
    """One action's result as the report shows it (and as an apply streams it):
    ``✓ created name (id)`` with a note line when there is one, ``✗ failed kind name: why``,
    or ``- skipped kind name: why``."""
    paint = paint or _Painter(False)
    mark = ASCII_MARKERS if ascii else MARKERS
    name = clean(source_name)
    why = clean(message)
    if status == "failed":
        return [paint(f"{mark['failed']} failed {kind} {name}: {why or 'unknown error'}", _RED)]
    if status == "skipped":
        return [paint(f"{mark['skipped']} skipped {kind} {name}: {why or 'not started'}",
                      _YELLOW)]
    line = f"{mark['done']} {PAST_TENSE.get(kind, kind)} {name}"
    if connector_id:
        line += f" ({clean(connector_id)})"
    return [paint(line, _GREEN), *([f"    note: {why}"] if why else [])]


def outcome_lines(outcome: Outcome, *, paint: Callable[[str, str], str] | None = None,
                  ascii: bool = False) -> list[str]:
    """:func:`result_lines` of an apply's outcome."""
    action = outcome.action
    return result_lines(action.kind, action.source_name, outcome.status,
                        outcome.connector_id or action.connector_id, outcome.message,
                        paint=paint, ascii=ascii)


def result_heading(done: int, failed: int, skipped: int, *, interrupted: bool = False,
                   halted: bool = False) -> str:
    """``Apply complete: 4 done, 0 failed, 0 skipped.`` (``interrupted``/``stopped``)."""
    word = "interrupted" if interrupted else "stopped" if halted else "complete"
    return f"Apply {word}: {done} done, {failed} failed, {skipped} skipped."


def render_result(result: Result, *, color: bool = False, ascii: bool = False,
                  include_done: bool = True) -> str:
    """What apply did: one line per done action (unless ``include_done`` is false: they were
    shown as they happened), the failed actions once, under a ``Failed (N):`` heading, one line
    per reason summing up the skipped ones, the final count, and why it stopped early and how
    to finish (nothing when rerunning would not help)."""
    paint = _Painter(color)
    mark = ASCII_MARKERS if ascii else MARKERS
    lines: list[str] = []
    failed: list[str] = []
    skipped: dict[str, list[Action]] = {}
    for outcome in result.outcomes:
        if outcome.status == "skipped":
            skipped.setdefault(clean(outcome.message) or "not started", []).append(outcome.action)
        elif outcome.status == "failed":
            failed += outcome_lines(outcome, paint=paint, ascii=ascii)
        elif include_done:
            lines += outcome_lines(outcome, paint=paint, ascii=ascii)
    if failed:
        lines.append(paint(f"Failed ({result.count('failed')}):", _BOLD))
        lines += failed
    for why, actions in skipped.items():
        named = ", ".join(f"{a.kind} {clean(a.source_name)}" for a in actions[:SKIPPED_NAMED])
        if len(actions) > SKIPPED_NAMED:
            named += f" and {len(actions) - SKIPPED_NAMED} more"
        noun = "action" if len(actions) == 1 else "actions"
        lines.append(paint(f"{mark['skipped']} skipped {len(actions)} {noun}: {why} ({named})",
                           _YELLOW))
    done, n_failed, n_skipped = (result.count(s) for s in ("done", "failed", "skipped"))
    final = result_heading(done, n_failed, n_skipped, interrupted=result.interrupted,
                           halted=result.halted is not None)
    lines.append(paint(final, _BOLD if result.ok else _RED))
    again = ("Run 'adapter-sync apply' again to finish the job: it plans afresh and does only "
             "what is still needed (a saved plan is now stale; make a new one).")
    if result.halted:
        lines.append(f"Stopped because every other write would be refused too: "
                     f"{clean(result.halted)}")
    elif result.interrupted and result.stopped:
        lines.append(f"Stopped early ({clean(result.stopped)}): {n_skipped} action"
                     f"{'s' * (n_skipped != 1)} not started. {again}")
    elif not result.ok:
        lines.append(again)
    return "\n".join(lines) + "\n"
