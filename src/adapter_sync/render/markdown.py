"""The Markdown view: the plan for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

The summary, the safety findings and the policy findings first, deactivations before other
actions, details folded; with a base, this change's actions apart from the drift. Always under
:data:`MARKDOWN_LIMIT` characters: what does not fit is counted ("N more ... not shown") and
the note says where the whole plan is, never cut silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from adapter_sync.escape import clean, quote
from adapter_sync.model import FIELDS, Action, FieldChange, Plan
from adapter_sync.render.common import (
    ALL_KINDS,
    NO_CHANGES,
    SYMBOLS,
    changes_and_drift,
    estimate_line,
    finding_sentence,
    kind_details,
    ordered_changes,
    plan_line,
    policy_sentence,
    rows,
)

#: Lists longer than this are folded in a <details> block.
MARKDOWN_COLLAPSE_OVER = 20
#: GitHub refuses a comment over 65,536 characters; the Markdown plan stays under this.
MARKDOWN_LIMIT = 65_000
#: Kept free at the end for the lines that close what was opened and count what did not fit.
_MARKDOWN_RESERVE = 3_000
#: Policy findings shown at most (before the actions: the rest are counted).
POLICY_SHOWN = 50
#: Sections in the order a reviewer needs them: what removes things first.
_MD_ORDER: tuple[str, ...] = ("deactivate", "create", "update", "reactivate")

# Everything that could end a table cell, open a tag, a code span, emphasis, a link, math or a
# mention is written as an HTML entity: GitHub shows the character, and interprets nothing.
_MD_ESCAPES = {c: f"&#{ord(c)};" for c in "\\`*_[]<>|~$@#!"}
_MD_ESCAPES["&"] = "&amp;"
_MD_RE = re.compile("[" + re.escape("".join(_MD_ESCAPES)) + "]")


def md_escape(text: str) -> str:
    """``text`` safe inside a Markdown table cell (and inline HTML), on one line."""
    return _MD_RE.sub(lambda m: _MD_ESCAPES[m.group()], clean(text))


def md_value(field: str, value: Any) -> str:
    """One field value as a Markdown cell shows it (``—`` for none)."""
    if value is None:
        return "—"
    if field == "accepted_kinds" and isinstance(value, (list, tuple)):
        return md_escape(", ".join(str(k) for k in sorted(value, key=str))) if value else ALL_KINDS
    return md_escape(quote(value))


def md_key(key: Any) -> str:
    """A metadata key as a field path: ``metadata.team``, or ``metadata["a b"]``."""
    key = str(key)
    shown = f".{key}" if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f"[{quote(key)}]"
    return md_escape("metadata" + shown)


def md_field(field: str) -> str:
    return field if field in FIELDS else md_escape(field)


def _after(field: str, change: FieldChange) -> str:
    cell = md_value(field, change.after)
    if field == "accepted_kinds" and change.details:
        cell += f" ({md_escape(kind_details(change))})"
    return cell


def _change_cells(field: str, change: FieldChange) -> list[list[str]]:
    """(field, before, after) cells of one change: one per metadata key when it has details."""
    if field == "metadata" and change.details:
        return [[md_key(key), md_value(field, old), md_value(field, new)]
                for _op, key, old, new in rows(change.details)]
    return [[md_field(field), md_value(field, change.before), _after(field, change)]]


def _md_table(header: Iterable[str]) -> list[str]:
    header = list(header)
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _create_row(action: Action) -> list[str]:
    changes = action.changes
    meta = changes["metadata"].after if "metadata" in changes else None
    if isinstance(meta, Mapping):
        pairs = [f"{md_escape(str(k))}: {md_escape(quote(v))}" for k, v in sorted(meta.items())]
        meta_cell = "<br>".join(pairs) or "—"
    else:
        meta_cell = md_value("metadata", meta)
    return [
        md_escape(action.source_name),
        md_value("name", changes["name"].after if "name" in changes else None),
        md_value("accepted_kinds",
                 changes["accepted_kinds"].after if "accepted_kinds" in changes else None),
        meta_cell,
    ]


def _deactivate_row(action: Action) -> list[str]:
    """One row: the cause and every field change (a deactivation may rename too)."""
    changes = "<br>".join(f"{f}: {before} → {after}"
                          for field, change in ordered_changes(action)
                          for f, before, after in _change_cells(field, change))
    return [md_escape(action.source_name), md_escape(action.connector_id or "—"),
            md_escape(action.reason or "—"), changes]


def _change_rows(action: Action) -> list[str]:
    lines: list[str] = []
    for field, change in ordered_changes(action):
        for cells in _change_cells(field, change):
            lines.append(_row([md_escape(action.source_name) if not lines else "", *cells]))
    return lines


def _md_section(kind: str, actions: list[Action], heading: str) -> tuple[list[str], list[list[str]]]:
    """A section's heading lines and its table rows (header first, one row group per action
    joined so an action is never split)."""
    head = ["", f"{heading} {SYMBOLS[kind]} {kind.capitalize()} ({len(actions)})", ""]
    if kind == "create":
        table = _md_table(["Connector", "Name", "Accepted kinds", "Metadata"])
        groups = [[_row(_create_row(a))] for a in actions]
    elif kind == "deactivate":
        table = _md_table(["Connector", "Connector ID", "Reason", "Changes"])
        groups = [[_row(_deactivate_row(a))] for a in actions]
    else:
        table = _md_table(["Connector", "Field", "Before", "After"])
        groups = [_change_rows(a) for a in actions]
    return head + table, groups


class _Budget:
    """Markdown text that stays under :data:`MARKDOWN_LIMIT`, counting the actions it leaves
    out. Once an action did not fit, no later action is shown (the cut is in one place)."""

    def __init__(self, limit: int) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.limit = limit
        self.left_out = 0

    def fits(self, lines: list[str]) -> bool:
        return self.size + sum(len(line) + 1 for line in lines) <= self.limit

    def close(self, lines: list[str]) -> None:
        """Lines that end what was opened or count what was left out: always added (the
        reserve is for them)."""
        self.lines += lines
        self.size += sum(len(line) + 1 for line in lines)

    def add(self, lines: list[str]) -> bool:
        if not self.fits(lines):
            return False
        self.close(lines)
        return True


def _md_actions(budget: _Budget, actions: list[Action], heading: str) -> None:
    for kind in _MD_ORDER:
        group = [a for a in actions if a.kind == kind]
        if not group:
            continue
        head, groups = _md_section(kind, group, heading)
        folded = kind != "deactivate"  # deactivations always in view
        if folded:  # the summary line is the heading
            head = ["", f"<details><summary>{SYMBOLS[kind]} {kind.capitalize()} "
                    f"({len(group)})</summary>", "", *head[3:]]
        closing = ["", "</details>"] if folded else []
        if budget.left_out or not budget.add(head):
            budget.left_out += len(group)
            continue
        shown = 0
        for lines in groups:
            if not budget.add(lines):
                break
            shown += 1
        budget.left_out += len(group) - shown
        budget.close(closing)


def _md_items(budget: _Budget, title: str, text: str, items: list[str],
              cap: int | None = None) -> None:
    """A titled list, folded when long; what does not fit (or is past ``cap``) is counted
    ("and N more")."""
    budget.close(["", f"### {title} ({len(items)})", "", text, ""])
    folded = len(items) > MARKDOWN_COLLAPSE_OVER
    if folded:
        budget.close([f"<details><summary>Show all {len(items)}</summary>", ""])
    shown = 0
    for item in items[:cap]:
        if not budget.add([item]):
            break
        shown += 1
    if shown < len(items):
        budget.close([f"- and {len(items) - shown} more not shown"])
    if folded:
        budget.close(["", "</details>"])


def _where_whole_plan(full_plan_at: str | None, plan_file: str | None) -> str:
    """Where the note of a cut-down plan sends the reader. ``full_plan_at`` is the workflow
    author's own Markdown (e.g. an artifact's name in a code span), kept on one line."""
    if full_plan_at:
        return f"the whole plan is in {clean(full_plan_at)}"
    if plan_file:
        return (f"the whole plan is in the saved plan `{plan_file.replace('`', '')}` "
                f"(`adapter-sync show {plan_file.replace('`', '')}`)")
    return ("to see the whole plan, save it with `adapter-sync plan --out FILE` and read it "
            "with `adapter-sync show FILE`")


def render_markdown(plan: Plan, *, full_plan_at: str | None = None,
                    plan_file: str | None = None) -> str:
    """The plan for a pull-request comment or ``$GITHUB_STEP_SUMMARY`` (see the module
    docstring). ``full_plan_at`` says where the whole plan is when actions are left out (a
    workflow artifact); else ``plan_file``, the saved plan; else how to save one."""
    budget = _Budget(MARKDOWN_LIMIT - _MARKDOWN_RESERVE)
    head = ["## adapter-sync plan", ""]
    if not plan.has_changes:
        head.append(f"**No changes.** {NO_CHANGES.removeprefix('No changes. ')}")
    else:
        head.append(f"**{plan_line(plan.summary)}**")
        estimate = estimate_line(plan)
        if estimate:
            head += ["", md_escape(estimate)]
    findings = plan.safety.findings
    if findings:
        head += ["", "> [!CAUTION]"]
        for number, f in enumerate(findings):  # one paragraph each: "> " lines would join
            head += [">"] * (number > 0) + [
                ("> **Blocked, `--force` or not:** " if f.effect == "blocked" else
                 "> **Apply will refuse this plan without `--force`:** ")
                + md_escape(finding_sentence(f))]
    budget.close(head)
    if plan.policy:
        _md_items(budget, "Policy", "Connectors that break an organisation policy rule:",
                  [f"- **{f.severity}**: {md_escape(policy_sentence(f))}" for f in plan.policy],
                  cap=POLICY_SHOWN)
    if plan.has_changes:
        budget.close([""] + _md_table(["Action", "Connectors"]) + [
            _row([f"{SYMBOLS[k]} {k}", str(plan.summary[k])]) for k in _MD_ORDER])
    changes, drift = changes_and_drift(plan)
    if drift:
        budget.close(["", f"### Changes from this configuration ({len(changes)})"])
        _md_actions(budget, changes, "####")
        budget.close(["", f"### Drift ({len(drift)})", "",
                      "The live state differs from the configuration already merged; "
                      "applying this plan reverts it:"])
        _md_actions(budget, drift, "####")
    else:
        _md_actions(budget, changes, "###")
    for title, names, text in (
        ("Drift resolved", plan.drift_resolved,
         "Connectors whose live state this change adopts (the merged configuration would "
         "change them; this one leaves them as they are):"),
        ("Unmanaged", plan.unmanaged,
         "Live connectors not declared in the repository, left untouched:"),
        ("Protected", plan.protected,
         "Live connectors not declared, kept by `protect` (pruning passes over them):"),
    ):
        if names:
            _md_items(budget, title, text, [f"- {md_escape(name)}" for name in names])
    lines = budget.lines
    if budget.left_out:
        n = budget.left_out
        lines += ["", f"> [!NOTE]\n> **{n} more action{'s' * (n != 1)} not shown here** (a "
                  f"comment holds {MARKDOWN_LIMIT:,} characters): "
                  f"{_where_whole_plan(full_plan_at, plan_file)}."]
    return "\n".join(lines) + "\n"
