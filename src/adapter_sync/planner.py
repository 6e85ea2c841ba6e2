"""plan(desired, live) -> Plan: a pure function. No I/O, no clock, no randomness.

Connectors are keyed by source_name and compared by :mod:`adapter_sync.diff` (normalised: kinds
as a set, missing = null = [] = all kinds; metadata after the file's defaults were merged by the
loader), so a plan never shows a phantom diff.
"""

from __future__ import annotations

from dataclasses import replace

from adapter_sync.diff import change, compare
from adapter_sync.model import (
    Action,
    ActionKind,
    Cause,
    Desired,
    DesiredConnector,
    FieldChange,
    Finding,
    Live,
    LiveConnector,
    Plan,
    Safety,
    SafetyRules,
    Selection,
    glob_matcher,
)


def _create(want: DesiredConnector) -> Action:
    body = want.create_body()
    changes = {f: change(f, None, body[f]) for f in ("name", "accepted_kinds", "metadata")}
    return Action("create", want.source_name, None, changes, desired=want)


def reconcile(want: DesiredConnector, have: LiveConnector) -> Action | None:
    """The update, reactivate or deactivate that makes ``have`` match ``want``; None if equal."""
    changes = compare(want, have)
    if not changes:
        return None
    kind: ActionKind = "update"
    cause = None
    if "is_active" in changes:
        kind = "reactivate" if want.active else "deactivate"
        cause = None if want.active else Cause.DECLARED_INACTIVE
    return Action(kind, want.source_name, have.connector_id, changes, live=have, cause=cause)


def plan(desired: Desired, live: Live, *, prune: bool = False,
         selection: Selection | None = None) -> Plan:
    """Compute what must change for ``live`` to match ``desired``.

    - create: declared active, absent live;
    - update: declared and live, and name, kinds or metadata differ (changed fields only);
    - reactivate: declared active, live inactive (plus any field changes);
    - deactivate: declared ``active: false`` and live active; or, with ``prune``, live active
      and not declared;
    - unmanaged: live active, not declared, not ignored, not pruned: listed, never touched;
    - protected: live active, not declared, matching ``protect``: pruning passes over them.
    Connectors whose source_name matches an ``ignore`` glob are never planned, declared or not;
    with a ``selection``, only the source_names it matches are. The plan carries its
    :class:`Safety`: what apply will refuse (see :func:`assess`).
    """
    is_ignored = glob_matcher(desired.ignore)
    is_protected = glob_matcher(desired.protect)
    selected = (selection or Selection()).matcher()
    actions: list[Action] = []
    unmanaged: list[str] = []
    protected: list[str] = []
    wanted, present = desired.connectors, live.connectors
    for source_name in sorted(wanted.keys() | present.keys()):
        if is_ignored(source_name) or not selected(source_name):
            continue
        want, have = wanted.get(source_name), present.get(source_name)
        action: Action | None = None
        if want is not None and have is None:
            action = _create(want) if want.active else None
        elif want is not None and have is not None:
            action = reconcile(want, have)
        elif have is not None and have.is_active:
            if prune and is_protected(source_name):
                protected.append(source_name)
            elif prune:
                action = Action(
                    "deactivate", source_name, have.connector_id,
                    {"is_active": FieldChange(True, False)}, live=have, cause=Cause.PRUNED,
                )
            else:
                unmanaged.append(source_name)
        if action is not None:
            actions.append(action)
    live_active = sum(1 for c in present.values() if c.is_active)
    blocked = tuple(a.source_name for a in actions
                    if a.sets_active is False and is_protected(a.source_name))
    safety = assess(tuple(actions), live_active, desired.safety, protected_inactive=blocked)
    return Plan(tuple(actions), tuple(unmanaged), live_active, prune, tuple(protected),
                safety=safety)


def _share(part: int, whole: int, limit: float) -> float:
    """``part`` of ``whole`` in percent, found above ``limit``: rounded to 2 decimals, or to as
    many more as it takes to stay above it (4 of 7 against 57.14 is 57.143, never 57.14)."""
    exact = 100 * part / whole
    digits = 2
    while round(exact, digits) <= limit and digits < 10:
        digits += 1
    return round(exact, digits)


def assess(actions: tuple[Action, ...], live_active: int, rules: SafetyRules, *,
           protected_inactive: tuple[str, ...] = ()) -> Safety:
    """The safety :class:`Finding` s about ``actions`` against ``live_active`` active
    connectors (counted from what the actions do: their ``is_active`` change).

    Needs ``--force`` (one finding at most): ``none_left`` when no active connector would be
    left; ``deactivate_share`` when more than ``rules.max_deactivate_percent`` of them are
    deactivated once at least ``rules.min_active`` are active; ``small_account`` when more
    than ``rules.small_account_percent`` of them are deactivated in a smaller account.
    Blocked, ``--force`` or not: ``protected_inactive``, the deactivations of protected
    connectors (``protected_inactive`` names them).
    """
    findings: list[Finding] = []
    deactivating = sum(1 for a in actions if a.sets_active is False)
    activating = sum(1 for a in actions if a.kind == "create" or a.sets_active is True)
    after = live_active - deactivating + activating
    counts: dict[str, float | int] = {"deactivating": deactivating, "live_active": live_active}
    if deactivating and live_active and after <= 0:
        findings.append(Finding("none_left", "needs_force", (), counts))
    elif deactivating and live_active >= rules.min_active:
        if 100 * deactivating > rules.max_deactivate_percent * live_active:
            findings.append(Finding("deactivate_share", "needs_force", (), {
                **counts, "percent": _share(deactivating, live_active,
                                            rules.max_deactivate_percent),
                "max_deactivate_percent": rules.max_deactivate_percent,
                "min_active": rules.min_active}))
    elif deactivating and 100 * deactivating > rules.small_account_percent * live_active:
        findings.append(Finding("small_account", "needs_force", (), {
            **counts, "percent": _share(deactivating, live_active, rules.small_account_percent),
            "small_account_percent": rules.small_account_percent,
            "min_active": rules.min_active}))
    if protected_inactive:
        findings.append(Finding("protected_inactive", "blocked",
                                tuple(sorted(protected_inactive)), {}))
    return Safety(tuple(findings), rules)


def check_safety(plan: Plan, live: Live | None = None,
                 rules: SafetyRules | None = None) -> Safety:
    """What apply says about this plan now: the rules of :func:`assess` counted against
    ``live`` when given (a saved plan's own count may be old), with the plan's own blocked
    findings (a protected connector's deactivation stays blocked)."""
    before = plan.live_active if live is None else sum(
        1 for c in live.connectors.values() if c.is_active)
    blocked = tuple(name for f in plan.safety.findings if f.effect == "blocked"
                    for name in f.subjects)
    return assess(plan.actions, before, rules or plan.safety.rules, protected_inactive=blocked)


def label_origins(plan: Plan, base: Plan) -> Plan:
    """``plan`` with each action's origin, against ``base``: the plan of the base config (the
    branch a pull request merges into) against the same live state.

    - "drift": the base plan has the same action (same kind, same changes): live differs from
      what is already merged, whatever this change does;
    - "change": this config causes it;
    - ``drift_resolved``: connectors the base plan changes and this one leaves alone: this
      config adopts what drifted.
    """
    theirs = {a.source_name: a for a in base.actions}
    labelled = tuple(
        replace(a, origin="drift" if _same(a, theirs.get(a.source_name)) else "change")
        for a in plan.actions)
    ours = {a.source_name for a in plan.actions}
    resolved = tuple(sorted(name for name in theirs if name not in ours))
    return replace(plan, actions=labelled, drift_resolved=resolved)


def _same(action: Action, other: Action | None) -> bool:
    return other is not None and (other.kind, dict(other.changes)) == (
        action.kind, dict(action.changes))
