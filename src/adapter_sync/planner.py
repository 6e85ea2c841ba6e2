"""plan(desired, live) -> Plan: a pure function. No I/O, no clock, no randomness.

Connectors are keyed by source_name. Values are normalised before comparing (kinds as a set,
missing = null = [] = all kinds; metadata after the file's defaults were merged by the loader),
so a plan never shows a phantom diff.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from adapter_sync.model import (
    Action,
    ActionKind,
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


def _field_changes(want: DesiredConnector, have: LiveConnector) -> dict[str, FieldChange]:
    changes: dict[str, FieldChange] = {}
    if want.name != have.name:
        changes["name"] = FieldChange(have.name, want.name)
    if want.accepted_kinds != have.accepted_kinds:
        changes["accepted_kinds"] = FieldChange(
            sorted(have.accepted_kinds), sorted(want.accepted_kinds)
        )
    if dict(want.metadata) != dict(have.metadata):
        changes["metadata"] = FieldChange(
            dict(sorted(have.metadata.items())), dict(sorted(want.metadata.items()))
        )
    return changes


def declared_by(create: Action) -> DesiredConnector:
    """The connector a create action declares (to reconcile one found live in its place)."""
    after = {name: change.after for name, change in create.changes.items()}
    return DesiredConnector(create.source_name, after["name"],
                            frozenset(after["accepted_kinds"]), after["metadata"])


def _create(want: DesiredConnector) -> Action:
    return Action(
        kind="create",
        source_name=want.source_name,
        connector_id=None,
        changes={
            "name": FieldChange(None, want.name),
            "accepted_kinds": FieldChange(None, sorted(want.accepted_kinds)),
            "metadata": FieldChange(None, dict(sorted(want.metadata.items()))),
        },
    )


def reconcile(want: DesiredConnector, have: LiveConnector) -> Action | None:
    """The update, reactivate or deactivate that makes ``have`` match ``want``; None if equal."""
    changes = _field_changes(want, have)
    kind: ActionKind = "update"
    reason = ""
    if want.active != have.is_active:
        changes["is_active"] = FieldChange(have.is_active, want.active)
        kind = "reactivate" if want.active else "deactivate"
        reason = "" if want.active else "declared active: false"
    if not changes:
        return None
    return Action(kind, want.source_name, have.connector_id, changes, live=have, reason=reason)


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
                    {"is_active": FieldChange(True, False)}, live=have,
                    reason="not declared (prune)",
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
    deactivating = sum(1 for a in plan.actions if _sets_active(a) is False)
    if not deactivating:
        return None
    activating = sum(1 for a in plan.actions if a.kind == "create" or _sets_active(a) is True)
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


def _sets_active(action: Action) -> bool | None:
    change = action.changes.get("is_active")
    return None if change is None else change.after
