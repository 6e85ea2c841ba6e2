"""How a declared connector differs from a live one: the one comparison.

Everything in adapter-sync that asks "do these two connectors differ, and how?" asks here: the
planner, the applier when it adopts a connector it found live in place of a create, the stale
check of a saved plan, and (through :attr:`FieldChange.details`) the renderers.

Values are compared normalised (kinds as sets, metadata as plain maps with the file's defaults
already merged by the loader), so equal connectors never show a phantom diff. A plain equality
check runs first, field by field: most pairs are equal and cost almost nothing. A field that
differs becomes a :class:`~adapter_sync.model.FieldChange` with ``details``: inside
``metadata``, deepdiff says which keys were added, removed or changed (imported only when some
pair's metadata differs); inside ``accepted_kinds``, the details are the two set differences
(kinds added, kinds removed). Measured per differing pair: deepdiff takes ~70 µs on a metadata
map, ~170 µs on a set of kinds (it hashes every item) and ~100 µs even on two short strings,
so scalars (``name``, ``is_active``, ``connector_id``) and sets, whose before/after and set
differences are the whole story, do not go through it: a plan where all of 10,000 connectors
differ stays within its budget (``benchmarks/plan_scale.py --drift 1``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from adapter_sync.model import DesiredConnector, Detail, FieldChange, LiveConnector


def compare(want: DesiredConnector, have: LiveConnector) -> dict[str, FieldChange]:
    """The fields of ``have`` that must change to match ``want``, in :data:`FIELDS` order
    (``is_active`` included when the declared ``active`` differs). Empty when they match."""
    return _changes((("name", have.name, want.name),
                     ("accepted_kinds", have.accepted_kinds, want.accepted_kinds),
                     ("metadata", have.metadata, want.metadata),
                     ("is_active", have.is_active, want.active)))


def compare_live(saved: LiveConnector, now: LiveConnector) -> dict[str, FieldChange]:
    """How a live connector changed since ``saved`` was read: ``connector_id`` first, then
    :data:`FIELDS`. ``created_at`` is not compared (servers format it freely)."""
    return _changes((("connector_id", saved.connector_id, now.connector_id),
                     ("name", saved.name, now.name),
                     ("accepted_kinds", saved.accepted_kinds, now.accepted_kinds),
                     ("metadata", saved.metadata, now.metadata),
                     ("is_active", saved.is_active, now.is_active)))


def _changes(pairs: Iterable[tuple[str, Any, Any]]) -> dict[str, FieldChange]:
    """A change for each ``(field, before, after)`` whose values differ (plain equality first:
    normalised values, so equal means equal), in the order given."""
    return {field: change(field, before, after) for field, before, after in pairs
            if before != after}


def change(field: str, before: Any, after: Any) -> FieldChange:
    """A :class:`FieldChange` for ``field`` with JSON-able values (kinds as sorted lists,
    metadata with sorted keys) and, for structured fields, its details. ``before`` is None for
    a create. Values of the wrong shape get no details."""
    if field == "accepted_kinds":
        return FieldChange(_kinds_value(before), _kinds_value(after),
                           _kind_details(before, after))
    if field == "metadata":
        return FieldChange(_metadata_value(before), _metadata_value(after),
                           _metadata_details(before, after))
    return FieldChange(before, after)


# --- values ----------------------------------------------------------------------------------


def _kinds_value(value: Any) -> Any:
    if value is None or not isinstance(value, (set, frozenset, list, tuple)):
        return value
    return sorted(value, key=str)


def _metadata_value(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    return {k: value[k] for k in sorted(value, key=str)}


def _is_kinds(value: Any) -> bool:
    return isinstance(value, (set, frozenset, list, tuple)) and all(
        isinstance(k, str) for k in value)


def _is_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items())


# --- details ---------------------------------------------------------------------------------


def _kind_details(before: Any, after: Any) -> tuple[Detail, ...]:
    if not (before is None or _is_kinds(before)) or not _is_kinds(after):
        return ()
    old, new = frozenset(before or ()), frozenset(after)
    return tuple(sorted((*(Detail("+", k, None, k) for k in new - old),
                         *(Detail("-", k, k, None) for k in old - new)), key=_order))


def _metadata_details(before: Any, after: Any) -> tuple[Detail, ...]:
    if not (before is None or _is_map(before)) or not _is_map(after):
        return ()
    old: Mapping[str, str] = before or {}
    new: Mapping[str, str] = after
    if not old or not new:  # one side empty: every key of the other one
        return tuple(sorted((*(Detail("+", k, None, v) for k, v in new.items()),
                             *(Detail("-", k, v, None) for k, v in old.items())), key=_order))
    details = []
    for report, level in _deepdiff(dict(old), dict(new)):
        key = str(level.path(output_format="list")[0])
        if report == "dictionary_item_added":
            details.append(Detail("+", key, None, new[key]))
        elif report == "dictionary_item_removed":
            details.append(Detail("-", key, old[key], None))
        elif report in ("values_changed", "type_changes"):
            details.append(Detail("~", key, old[key], new[key]))
    return tuple(sorted(details, key=_order))


def _order(detail: Detail) -> str:
    return detail.key


def _deepdiff(old: Any, new: Any) -> list[tuple[str, Any]]:
    """Every (report type, DiffLevel) deepdiff finds between two flat values."""
    from deepdiff import DeepDiff  # lazily: only plans with structured changes pay for it

    # threshold_to_diff_deeper=0: always report per key, even when every key changed.
    tree = DeepDiff(old, new, view="tree", threshold_to_diff_deeper=0)
    return [(report, level) for report, levels in tree.items() for level in levels]
