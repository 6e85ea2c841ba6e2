"""plan(desired, live) -> Plan: a pure function. No I/O, no clock, no randomness.

Connectors are keyed by source_name and compared by :mod:`adapter_sync.diff` (normalised: kinds
as a set, missing = null = [] = all kinds; metadata after the file's defaults were merged by the
loader), so a plan never shows a phantom diff.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from adapter_sync.diff import change, compare
from adapter_sync.model import (
    Action,
    ActionKind,
    Cause,
    Desired,
    DesiredConnector,
    FieldChange,
    Live,
    LiveConnector,
    Plan,
)

#: Safety: with at least this many live active connectors, refuse to deactivate more than
#: MAX_DEACTIVATE_SHARE of them without --force.
SAFETY_FLOOR = 10
MAX_DEACTIVATE_SHARE = 0.30


def ignore_matcher(globs: Iterable[str]):
    """One compiled matcher for all ``ignore`` globs (case-sensitive, like source_names)."""
    globs = tuple(globs)
    if not globs:
        return lambda _name: False
    pattern = re.compile("|".join(fnmatch.translate(g) for g in globs))
    return lambda name: pattern.match(name) is not None


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


def plan(desired: Desired, live: Live, *, prune: bool = False) -> Plan:
    """Compute what must change for ``live`` to match ``desired``.

    - create: declared active, absent live;
    - update: declared and live, and name, kinds or metadata differ (changed fields only);
    - reactivate: declared active, live inactive (plus any field changes);
    - deactivate: declared ``active: false`` and live active; or, with ``prune``, live active
      and not declared;
    - unmanaged: live active, not declared, not ignored, not pruned: listed, never touched.
    Connectors whose source_name matches an ``ignore`` glob are never planned, declared or not.
    """
    is_ignored = ignore_matcher(desired.ignore)
    actions: list[Action] = []
    unmanaged: list[str] = []
    wanted, present = desired.connectors, live.connectors
    for source_name in sorted(wanted.keys() | present.keys()):
        if is_ignored(source_name):
            continue
        want, have = wanted.get(source_name), present.get(source_name)
        action: Action | None = None
        if want is not None and have is None:
            action = _create(want) if want.active else None
        elif want is not None and have is not None:
            action = reconcile(want, have)
        elif have is not None and have.is_active:
            if prune:
                action = Action(
                    "deactivate", source_name, have.connector_id,
                    {"is_active": FieldChange(True, False)}, live=have, cause=Cause.PRUNED,
                )
            else:
                unmanaged.append(source_name)
        if action is not None:
            actions.append(action)
    live_active = sum(1 for c in present.values() if c.is_active)
    return Plan(tuple(actions), tuple(unmanaged), live_active, prune)


def check_safety(plan: Plan, live: Live | None = None) -> str | None:
    """Why this plan must not run without --force, or None when it is safe.

    Refused: deactivating more than 30% of the live active connectors when at least 10 are
    active, or leaving no active connector at all. Counted from what the actions do (their
    ``is_active`` change), against ``live`` when given (a saved plan's own count may be old).
    """
    deactivating = sum(1 for a in plan.actions if a.sets_active is False)
    if not deactivating:
        return None
    activating = sum(1 for a in plan.actions if a.kind == "create" or a.sets_active is True)
    before = plan.live_active if live is None else sum(
        1 for c in live.connectors.values() if c.is_active)
    after = before - deactivating + activating
    if before and after <= 0:
        return (
            f"refusing to deactivate {deactivating} connector(s): no active connector would be left"
        )
    if before >= SAFETY_FLOOR and deactivating > MAX_DEACTIVATE_SHARE * before:
        share = 100 * deactivating / before
        return (
            f"refusing to deactivate {deactivating} of {before} active connectors ({share:.0f}%): "
            f"more than {MAX_DEACTIVATE_SHARE:.0%} when {SAFETY_FLOOR} or more are active"
        )
    return None
