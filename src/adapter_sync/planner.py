"""plan(desired, live) -> Plan: a pure function. No I/O, no clock, no randomness.

Connectors are keyed by source_name and compared by :mod:`adapter_sync.diff` (normalised: kinds
as a set, missing = null = [] = all kinds; metadata after the file's defaults were merged by the
loader), so a plan never shows a phantom diff.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace

from adapter_sync.diff import change, compare
from adapter_sync.model import (
    Action,
    ActionKind,
    Blocked,
    Cause,
    Desired,
    DesiredConnector,
    FieldChange,
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
    blocked = tuple(
        Blocked(a.source_name, next(g for g in desired.protect
                                    if fnmatch.fnmatchcase(a.source_name, g)))
        for a in actions if a.sets_active is False and is_protected(a.source_name))
    safety = assess(tuple(actions), live_active, desired.safety, blocked=blocked)
    return Plan(tuple(actions), tuple(unmanaged), live_active, prune, tuple(protected),
                safety=safety)


def assess(actions: tuple[Action, ...], live_active: int, rules: SafetyRules, *,
           blocked: tuple[Blocked, ...] = ()) -> Safety:
    """What apply will say about ``actions`` against ``live_active`` active connectors.

    Needs ``--force``: deactivating more than ``rules.max_deactivate_percent`` of the live
    active connectors once at least ``rules.min_active`` are active, or leaving none active.
    Counted from what the actions do (their ``is_active`` change). ``blocked`` deactivations
    (protected connectors) are refused whatever ``--force`` says.
    """
    reasons: list[str] = []
    deactivating = sum(1 for a in actions if a.sets_active is False)
    activating = sum(1 for a in actions if a.kind == "create" or a.sets_active is True)
    after = live_active - deactivating + activating
    needs_force = False
    if deactivating and live_active and after <= 0:
        needs_force = True
        reasons.append(f"refusing to deactivate {deactivating} connector(s): no active "
                       "connector would be left")
    elif (deactivating and live_active >= rules.min_active
          and 100 * deactivating > rules.max_deactivate_percent * live_active):
        needs_force = True
        share = 100 * deactivating / live_active
        reasons.append(
            f"refusing to deactivate {deactivating} of {live_active} active connectors "
            f"({_above(share, rules.max_deactivate_percent)}%): more than "
            f"{rules.max_deactivate_percent:g}% when "
            f"{rules.min_active} or more are active")
    return Safety(needs_force, tuple(reasons), blocked, rules)


def _above(share: float, limit: float) -> str:
    """``share`` (a percentage above ``limit``) rounded only as far as it still reads above
    it: 10 of 33 is "30.3" against 30, never "30" ("30%: more than 30%")."""
    for digits in range(5):
        text = f"{share:.{digits}f}"
        if float(text) > limit:
            return text
    return f"{share:g}"


def check_safety(plan: Plan, live: Live | None = None,
                 rules: SafetyRules | None = None) -> str | None:
    """Why this plan must not run without --force, or None when it is safe: the rules of
    :func:`assess`, counted against ``live`` when given (a saved plan's own count may be old).
    Blocked deactivations are not reported here (see :attr:`Safety.blocked`)."""
    before = plan.live_active if live is None else sum(
        1 for c in live.connectors.values() if c.is_active)
    safety = assess(plan.actions, before, rules or plan.safety.rules)
    return "; ".join(safety.force_reasons) if safety.needs_force else None


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
