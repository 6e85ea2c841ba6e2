"""What every view of a plan shares: symbols, value formatting, and the sentences that say a
safety finding, a policy finding and the estimate. Only the views use them; nothing here
computes a plan (the findings and the numbers in them come from the planner)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from adapter_sync.document import iso_utc, policy_message
from adapter_sync.escape import clean, quote
from adapter_sync.model import (
    FIELDS,
    Action,
    Detail,
    Estimate,
    FieldChange,
    Finding,
    Plan,
    PolicyFinding,
)

SYMBOLS = {"create": "+", "update": "~", "reactivate": "^", "deactivate": "-"}
PAST_TENSE = {
    "create": "created",
    "update": "updated",
    "reactivate": "reactivated",
    "deactivate": "deactivated",
}
NO_CHANGES = "No changes. Live state matches the configuration."
ALL_KINDS = "all kinds"
#: Subjects a finding's sentence names at most (the rest are counted in it).
SUBJECTS_NAMED = 20

_GREEN, _YELLOW, _RED, _CYAN, _BOLD = "32", "33", "31", "36", "1"
_KIND_COLOR = {"create": _GREEN, "update": _YELLOW, "reactivate": _CYAN, "deactivate": _RED}
_OP_COLOR = {"+": _GREEN, "~": _YELLOW, "-": _RED}


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text


def format_kinds(value: Any) -> str:
    """``[email, page]``; an empty list reads ``[all kinds]``."""
    if not isinstance(value, (list, tuple, set, frozenset)):
        return quote(value)
    if not value:
        return f"[{ALL_KINDS}]"
    return "[" + ", ".join(clean(str(k)) for k in sorted(value, key=str)) + "]"


def format_value(field: str, value: Any) -> str:
    """One field value as the text view shows it."""
    if field == "accepted_kinds":
        return format_kinds(value)
    return quote(value)


def kind_details(change: FieldChange) -> str:
    """The kinds an ``accepted_kinds`` change adds and removes: ``+page -email`` (cleaned)."""
    return " ".join(f"{d.op}{clean(d.key)}" for d in change.details)


def rows(details: Iterable[Detail]) -> list[tuple[str, str, Any, Any]]:
    return [(d.op, d.key, d.before, d.after) for d in details]


def ordered_changes(action: Action) -> list[tuple[str, FieldChange]]:
    """Changes in FIELDS order, then any unknown field by name (never dropped silently)."""
    known = [(f, action.changes[f]) for f in FIELDS if f in action.changes]
    extra = sorted((f, c) for f, c in action.changes.items() if f not in FIELDS)
    return known + extra


def plan_line(summary: Mapping[str, int]) -> str:
    return (
        f"Plan: {summary['create']} to create, {summary['update']} to update, "
        f"{summary['reactivate']} to reactivate, {summary['deactivate']} to deactivate."
    )


def changes_and_drift(plan: Plan) -> tuple[list[Action], list[Action]]:
    """This config's changes, then what drifted (only with a base: otherwise no drift)."""
    drift = [a for a in plan.actions if a.origin == "drift"]
    return [a for a in plan.actions if a.origin != "drift"], drift


# --- sentences ------------------------------------------------------------------------------


def _num(numbers: Mapping[str, float | int], name: str) -> str:
    value = numbers.get(name)
    return "?" if value is None else f"{value:g}"


def _above(share: float, limit: float | None) -> str:
    """``share``, a percentage above ``limit``, rounded only as far as it still reads above
    it: 10 of 33 is "30.3" against 30, never "30" ("(30%): more than 30%")."""
    for digits in range(5):
        text = f"{share:.{digits}f}"
        if limit is None or float(text) > limit:
            return text
    return f"{share:g}"


def _names(subjects: tuple[str, ...]) -> str:
    shown = ", ".join(subjects[:SUBJECTS_NAMED])
    if len(subjects) > SUBJECTS_NAMED:
        shown += f" and {len(subjects) - SUBJECTS_NAMED} more"
    return shown


def finding_sentence(finding: Finding) -> str:
    """What a safety finding means, in one sentence (not yet escaped for a view)."""
    n = finding.numbers
    deactivating, active = _num(n, "deactivating"), _num(n, "live_active")
    limit = n.get("max_deactivate_percent" if finding.code == "deactivate_share"
                  else "small_account_percent")
    share = f"{_above(n['percent'], limit)}%" if "percent" in n else "?%"
    if finding.code == "none_left":
        return (f"refusing to deactivate {deactivating} connector(s): no active connector "
                "would be left")
    if finding.code == "deactivate_share":
        return (f"refusing to deactivate {deactivating} of {active} active connectors "
                f"({share}): more than {_num(n, 'max_deactivate_percent')}% when "
                f"{_num(n, 'min_active')} or more are active")
    if finding.code == "small_account":
        return (f"refusing to deactivate {deactivating} of {active} active connectors "
                f"({share}): more than {_num(n, 'small_account_percent')}% of an account with "
                f"fewer than {_num(n, 'min_active')} active")
    if finding.code == "protected_inactive":
        verb = "is" if len(finding.subjects) == 1 else "are"
        return (f"{_names(finding.subjects)} {verb} protected (protect) but declared active: "
                "false; take it out of protect first, in a reviewed change")
    about = f" ({_names(finding.subjects)})" if finding.subjects else ""
    return f"safety finding {finding.code}{about}"  # a code this version does not know


def finding_line(finding: Finding) -> str:
    """The finding with what it does to apply, as the text view shows it (cleaned)."""
    if finding.effect == "blocked":
        return f"Blocked: apply will refuse this plan, --force or not: {clean(finding_sentence(finding))}"
    return f"Warning: apply will refuse this plan without --force: {clean(finding_sentence(finding))}"


def policy_sentence(finding: PolicyFinding) -> str:
    """One policy finding in one line (not yet escaped): the document's ``message``."""
    return policy_message(finding)


def estimate_line(plan: Plan) -> str | None:
    """What applying the plan costs, and whether the announced rate budget covers it."""
    estimate: Estimate | None = plan.estimate
    if estimate is None or not plan.has_changes:
        return None
    calls = estimate.api_calls
    line = f"Estimate: {calls} API call{'s' * (calls != 1)}"
    if estimate.seconds is not None and estimate.limit_per_minute and estimate.seconds >= 1:
        line += (f", about {duration(estimate.seconds)} at the announced rate limit "
                 f"({estimate.limit_per_minute:,.0f} requests a minute)")
    line += "."
    if estimate.remaining is not None:
        until = f" until {iso_utc(estimate.reset_at)}" if estimate.reset_at is not None else ""
        if estimate.exceeds_budget:
            line += (f" Over budget: the API allows {estimate.remaining} more request"
                     f"{'s' * (estimate.remaining != 1)}{until}; the rest wait for the reset.")
        else:
            line += f" The API allows {estimate.remaining} more{until}."
    return line


def duration(seconds: float) -> str:
    seconds = max(1, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s" if seconds % 60 else f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
