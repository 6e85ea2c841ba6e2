"""The text view: the plan for a terminal, Terraform-like (``plan``, ``show``, ``apply``).

Shows everything the plan document holds, nothing cut: every action with all its field
changes (per metadata key, per kind), each deactivation's cause, the safety findings as
sentences, the policy findings, the lists of unmanaged, protected and drift-resolved
connectors, the summary and the estimate.
"""

from __future__ import annotations

from adapter_sync.escape import clean, quote
from adapter_sync.model import Action, Plan
from adapter_sync.render.common import (
    _BOLD,
    _KIND_COLOR,
    _OP_COLOR,
    _RED,
    _YELLOW,
    NO_CHANGES,
    SYMBOLS,
    _Painter,
    changes_and_drift,
    estimate_line,
    finding_line,
    format_value,
    kind_details,
    ordered_changes,
    plan_line,
    policy_sentence,
    rows,
)


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
    for field, change in ordered_changes(action):
        if field == "metadata" and change.details:
            lines.append(f"    {field}:")
            for op, key, old, new in rows(change.details):
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
            line = f"    {clean(field)}: {before} -> {after}"
            if field == "accepted_kinds" and change.details:
                line += f" ({kind_details(change)})"
            lines.append(line)
    return lines


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The plan for a terminal, Terraform-like. ANSI colour only when ``color`` is true.

    With a base (``plan --base``): this config's changes first, then the drift, named as such.
    """
    paint = _Painter(color)
    changes, drift = changes_and_drift(plan)
    blocks: list[list[str]] = [_text_action(action, paint) for action in changes]
    if drift:
        blocks.append([paint("Drift: the live state differs from the configuration already "
                             f"merged ({len(drift)}); applying this plan reverts it:", _BOLD)])
        blocks += [_text_action(action, paint) for action in drift]
    for title, names in (
        ("Drift resolved by this change (live kept as it is)", plan.drift_resolved),
        ("Unmanaged (not declared, left untouched)", plan.unmanaged),
        ("Protected (not declared, kept by protect)", plan.protected),
    ):
        if names:
            blocks.append([f"{title}: {', '.join(clean(n) for n in names)}"])
    if plan.policy:
        blocks.append([paint(f"Policy ({len(plan.policy)}):", _BOLD), *(
            paint(f"  {f.severity}: {clean(policy_sentence(f))}",
                  _RED if f.severity == "error" else _YELLOW) for f in plan.policy)])
    warnings = [finding_line(f) for f in plan.safety.findings]
    if warnings:
        blocks.append([paint(w, _RED) for w in warnings])
    summary = plan_line(plan.summary) if plan.has_changes else NO_CHANGES
    estimate = estimate_line(plan)
    blocks.append([paint(summary, _BOLD), *([clean(estimate)] if estimate else [])])
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"
