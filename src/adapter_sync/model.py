"""Values that flow through adapter-sync: desired and live connectors, actions, plans.

Pure data and normalisation only: no I/O. Everything here is a frozen dataclass; mappings held
by these values are never mutated after construction.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from adapter_sync.errors import AdapterSyncError, Location, Problem

#: Event kinds a connector may accept (adapter-api.md). An empty set means "all kinds".
KINDS: tuple[str, ...] = ("email", "page", "message", "calendar", "issue", "custom")
#: The source_name slug pattern [A] from adapter-api.md.
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
SLUG_RE = re.compile(SLUG_PATTERN)
NAME_MAX = 255
METADATA_MAX_KEYS = 20

ActionKind = Literal["create", "update", "reactivate", "deactivate"]
Origin = Literal["change", "drift"]
ACTION_KINDS: tuple[ActionKind, ...] = ("create", "update", "reactivate", "deactivate")
#: Fields an action may change, in display order.
FIELDS: tuple[str, ...] = ("name", "accepted_kinds", "metadata", "is_active")


def normalize_kinds(value: Any) -> frozenset[str]:
    """Kinds as a set: missing, null and [] all mean "all kinds" (the empty set)."""
    if not value:
        return frozenset()
    return frozenset(str(k) for k in value)


def normalize_metadata(value: Any) -> dict[str, str]:
    """Metadata as a plain str -> str dict; missing or null is empty."""
    if not value or not isinstance(value, Mapping):
        return {}
    return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}


@dataclass(frozen=True)
class DesiredConnector:
    """A connector as the config declares it, defaults already merged."""

    source_name: str
    name: str
    accepted_kinds: frozenset[str] = frozenset()
    metadata: Mapping[str, str] = field(default_factory=dict)
    active: bool = True
    location: Location | None = field(default=None, compare=False)

    def create_body(self) -> dict[str, Any]:
        """The POST body that creates this connector (kinds sorted, metadata keys sorted)."""
        return {
            "source_name": self.source_name,
            "name": self.name,
            "accepted_kinds": sorted(self.accepted_kinds),
            "metadata": dict(sorted(self.metadata.items())),
        }


@dataclass(frozen=True)
class Desired:
    """Everything the config files declare."""

    connectors: Mapping[str, DesiredConnector] = field(default_factory=dict)
    prune: bool = False
    ignore: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    protect: tuple[str, ...] = ()
    safety: SafetyRules = field(default_factory=lambda: SafetyRules())
    #: The organisation's policy rules (config ``policy:``), compiled (see :mod:`.policy`).
    policy: tuple[PolicyRule, ...] = ()
    #: Declared connectors breaking a ``warning`` rule: located (shown by validate) and as
    #: findings (carried by the plan). Breaking an ``error`` rule fails the load instead.
    policy_warnings: tuple[Problem, ...] = ()
    policy_findings: tuple[PolicyFinding, ...] = ()


Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class PolicyRule:
    """One rule of the config's ``policy:``: a JSON Schema every connector it ``match``es (all
    when empty) must also satisfy. ``label``: its message, or "policy rule N". ``checker``:
    what :func:`adapter_sync.policy.compile_rule` built once (the compiled schema and the
    compiled globs), opaque here."""

    schema: Any
    label: str
    match: tuple[str, ...] = ()
    severity: Severity = "error"
    location: Location | None = None
    checker: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class PolicyFinding:
    """A connector that breaks an organisation policy rule (config ``policy:``)."""

    source_name: str
    rule: str  # the rule's message (or "policy rule N" when it has none)
    severity: Literal["error", "warning"]
    error: str  # the schema's own error, one line
    managed: bool  # declared in the config (False: a live connector not declared)


@dataclass(frozen=True)
class SafetyRules:
    """When apply refuses a plan without ``--force`` (config ``safety:``).

    Deactivating more than ``max_deactivate_percent`` of the live active connectors, once at
    least ``min_active`` are live and active; in a smaller account (fewer than ``min_active``
    active), deactivating more than ``small_account_percent`` of them; leaving none active
    always needs ``--force``.
    """

    max_deactivate_percent: float = 30.0
    min_active: int = 10
    small_account_percent: float = 50.0


def glob_matcher(globs: tuple[str, ...]) -> Callable[[str], bool]:
    """One compiled, case-sensitive matcher for source_name globs (``*``, ``?``, ``[...]``)."""
    if not globs:
        return lambda _name: False
    pattern = re.compile("|".join(fnmatch.translate(g) for g in globs))
    return lambda name: pattern.match(name) is not None


@dataclass(frozen=True)
class Selection:
    """Which source_names a command works on (``--include``/``--exclude``, repeatable): those
    matching any include glob (every name when there is none) and no exclude glob."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def matcher(self) -> Callable[[str], bool]:
        included = glob_matcher(self.include) if self.include else (lambda _name: True)
        excluded = glob_matcher(self.exclude)
        return lambda name: included(name) and not excluded(name)


def _text_or_none(value: Any) -> str | None:
    """A free-form server value kept as text (servers format ``created_at`` as they like)."""
    return None if value is None else value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class LiveConnector:
    """A connector as the API returns it, normalised."""

    connector_id: str
    source_name: str
    name: str
    accepted_kinds: frozenset[str] = frozenset()
    metadata: Mapping[str, str] = field(default_factory=dict)
    is_active: bool = True
    created_at: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> LiveConnector:
        """Parse one API object tolerantly: extra fields ignored, null kinds/metadata = empty."""
        return cls(
            connector_id=str(data["connector_id"]),
            source_name=str(data["source_name"]),
            name=str(data.get("name") or ""),
            accepted_kinds=normalize_kinds(data.get("accepted_kinds")),
            metadata=normalize_metadata(data.get("metadata")),
            is_active=data.get("is_active", True) is not False,
            created_at=_text_or_none(data.get("created_at")),
        )

    def to_api(self) -> dict[str, Any]:
        """The state as a JSON-able dict (kinds sorted), as saved in plan files."""
        return {
            "connector_id": self.connector_id,
            "source_name": self.source_name,
            "name": self.name,
            "accepted_kinds": sorted(self.accepted_kinds),
            "metadata": dict(sorted(self.metadata.items())),
            "is_active": self.is_active,
        }


@dataclass(frozen=True)
class Live:
    """The live state: every connector of the organisation, inactive ones included."""

    connectors: Mapping[str, LiveConnector] = field(default_factory=dict)

    @classmethod
    def from_list(cls, items: list[LiveConnector]) -> Live:
        """Key by source_name. Two live connectors with one source_name break the API's
        uniqueness assumption: refuse rather than guess which one the config means."""
        connectors = {c.source_name: c for c in items}
        if len(connectors) != len(items):
            seen: dict[str, list[str]] = {}
            for c in items:
                seen.setdefault(c.source_name, []).append(c.connector_id)
            dupes = "; ".join(
                f"{name} ({', '.join(ids)})" for name, ids in sorted(seen.items()) if len(ids) > 1
            )
            raise AdapterSyncError(
                f"the API lists several connectors with one source_name: {dupes}; adapter-sync "
                "assumes source_name is unique and will not guess which one the config means"
            )
        return cls(connectors)


DetailOp = Literal["+", "-", "~"]


@dataclass(frozen=True)
class Detail:
    """One change inside a structured field: a metadata key or a kind added (``+``), removed
    (``-``) or, for metadata, changed (``~``). ``before``/``after`` are None where absent."""

    op: DetailOp
    key: str
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class FieldChange:
    """One field's value before and after; JSON-able values (kinds as sorted lists).

    ``details`` says what changed inside ``accepted_kinds`` and ``metadata`` (sorted by key);
    it is empty for scalar fields. :mod:`adapter_sync.diff` computes it.
    """

    before: Any
    after: Any
    details: tuple[Detail, ...] = field(default=(), compare=False)  # derived from the values


class Cause(str, Enum):
    """Why a connector is deactivated: it is declared inactive, or pruned (not declared)."""

    DECLARED_INACTIVE = "declared active: false"
    PRUNED = "not declared (prune)"


#: What each kind does to ``is_active``: None = leaves it unchanged.
_SETS_ACTIVE: Mapping[str, bool | None] = {
    "create": None, "update": None, "reactivate": True, "deactivate": False,
}


class InvalidAction(ValueError):
    """An action whose parts contradict each other (e.g. a deactivate that activates)."""


@dataclass(frozen=True)
class Action:
    """One write the plan asks for.

    ``changes`` maps each changed field (see :data:`FIELDS`) to its before/after; for a
    create, ``before`` is None and every declared field is listed. A create carries the
    connector it declares (``desired``); every other action carries the live state it was
    computed from (``live``), which saved plans use to detect staleness. A deactivation says
    why (``cause``). The invariants are checked when the action is built:
    :class:`InvalidAction` otherwise.
    """

    kind: ActionKind
    source_name: str
    connector_id: str | None
    changes: Mapping[str, FieldChange]
    live: LiveConnector | None = None
    desired: DesiredConnector | None = None
    cause: Cause | None = None
    #: With ``plan --base``: "change" when this config causes the action, "drift" when the
    #: base config's plan has it too (live differs from what is merged). None without a base.
    origin: Origin | None = None

    def __post_init__(self) -> None:
        if self.kind not in _SETS_ACTIVE:
            raise InvalidAction(f"unknown action kind {self.kind!r}")
        expected = _SETS_ACTIVE[self.kind]
        change = self.changes.get("is_active")
        actual = None if change is None else change.after
        if actual is not expected:
            raise InvalidAction(
                f"kind {self.kind!r} "
                + ("must not change is_active" if expected is None
                   else f"must set is_active to {str(expected).lower()}"))
        if self.kind == "create":
            if self.connector_id is not None or self.live is not None:
                raise InvalidAction("a create has no connector_id and no live state")
            if self.desired is None or self.desired.source_name != self.source_name:
                raise InvalidAction("a create carries the connector it declares")
        else:
            if not self.connector_id:
                raise InvalidAction(f"a {self.kind} needs a connector_id")
            if not self.changes:
                raise InvalidAction(f"a {self.kind} changes at least one field")
            if self.live is not None and (self.live.source_name, self.live.connector_id) != (
                    self.source_name, self.connector_id):
                raise InvalidAction("the live state does not match the action's source_name "
                                    "and connector_id")
        if (self.cause is not None) != (self.kind == "deactivate"):
            raise InvalidAction("a deactivate, and only a deactivate, has a cause")

    @property
    def sets_active(self) -> bool | None:
        """What this action does to ``is_active`` (None: leaves it unchanged)."""
        return _SETS_ACTIVE[self.kind]

    @property
    def reason(self) -> str:
        """Why, for display: the deactivation's cause, else empty."""
        return self.cause.value if self.cause is not None else ""

    def request_body(self) -> dict[str, Any]:
        """The JSON body to send: POST for a create, PATCH (changed fields only) otherwise."""
        if self.kind == "create":
            assert self.desired is not None
            return self.desired.create_body()
        return {name: change.after for name, change in self.changes.items()}


FindingEffect = Literal["needs_force", "blocked"]
#: The safety finding codes (a contract: machines act on them). ``none_left``: no active
#: connector would be left; ``deactivate_share``: more than ``max_deactivate_percent`` of the
#: active ones (at least ``min_active`` active); ``small_account``: more than
#: ``small_account_percent`` of the active ones in an account with fewer than ``min_active``;
#: ``protected_inactive``: a protected connector declared ``active: false`` (blocked).
FINDING_CODES: tuple[str, ...] = ("none_left", "deactivate_share", "small_account",
                                  "protected_inactive")


@dataclass(frozen=True)
class Finding:
    """One thing the safety check found, as data: a ``code`` (see :data:`FINDING_CODES`), its
    ``effect`` (``needs_force``: apply refuses without ``--force``; ``blocked``: apply refuses
    whatever ``--force`` says), the connectors it is about and the numbers behind it. Views
    turn it into a sentence; nothing else does."""

    code: str
    effect: FindingEffect
    subjects: tuple[str, ...] = ()
    numbers: Mapping[str, float | int] = field(default_factory=dict)


@dataclass(frozen=True)
class Safety:
    """What apply will say about a plan: its :class:`Finding` s, and the ``rules`` they were
    found by (apply re-assesses a saved plan by them, against the live state of the moment)."""

    findings: tuple[Finding, ...] = ()
    rules: SafetyRules = field(default_factory=SafetyRules)

    @property
    def needs_force(self) -> bool:
        """Apply refuses this plan without ``--force``."""
        return any(f.effect == "needs_force" for f in self.findings)

    @property
    def blocked(self) -> bool:
        """Apply refuses this plan, ``--force`` or not."""
        return any(f.effect == "blocked" for f in self.findings)


@dataclass(frozen=True)
class Provenance:
    """Where a plan comes from: the API, the selection, the base it was compared with, the
    config's ``ignore`` globs, and digests of the config and of the live snapshot (sha256 of a
    canonical JSON form; the live one over the connectors the plan manages: selected, not
    ignored)."""

    api_url: str = ""
    selection: Selection = field(default_factory=Selection)
    base: str | None = None
    config_digest: str = ""
    live_digest: str = ""
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class Estimate:
    """What an apply of the plan will cost: ``api_calls`` (its writes, one per action) and,
    when the API announced its rate limit, roughly how long they take at that limit (at the
    share of it ``--rate-share`` allows); None when it did not say. ``remaining``: the
    requests the list call's answer said are left (``X-RateLimit-Remaining``) before
    ``reset_at`` (``X-RateLimit-Reset``, epoch seconds on our clock)."""

    api_calls: int = 0
    seconds: float | None = None
    limit_per_minute: float | None = None
    remaining: int | None = None
    reset_at: float | None = None

    @property
    def exceeds_budget(self) -> bool:
        """The writes need more than what remains before the reset."""
        return self.remaining is not None and self.api_calls > self.remaining


@dataclass(frozen=True)
class Plan:
    """What would change, keyed and sorted by source_name. Pure value; renderers read it.

    ``protected``: live active connectors pruning passed over because ``protect`` matches
    them. ``drift_resolved``: with a base, connectors whose drift this config adopts (the base
    config's plan changes them, this one does not). ``safety``: what apply will say.
    ``policy``: connectors breaking a policy rule: live ones not declared (never acted on),
    and declared ones breaking a ``warning`` rule.
    """

    actions: tuple[Action, ...] = ()
    unmanaged: tuple[str, ...] = ()
    live_active: int = 0
    prune: bool = False
    protected: tuple[str, ...] = ()
    drift_resolved: tuple[str, ...] = ()
    safety: Safety = field(default_factory=Safety)
    provenance: Provenance | None = None
    estimate: Estimate | None = None
    policy: tuple[PolicyFinding, ...] = ()

    @property
    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(ACTION_KINDS, 0)
        for action in self.actions:
            counts[action.kind] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)


OutcomeStatus = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one action during apply.

    ``done``: the live state now matches; ``failed``: the API refused or could not be reached
    (``message`` says why); ``skipped``: never started (interrupted, or a failed dependency).
    ``message`` on a done action carries a note worth showing (e.g. an adopted lost create).
    """

    action: Action
    status: OutcomeStatus
    message: str = ""
    connector_id: str | None = None


@dataclass(frozen=True)
class Result:
    """The result of an apply: one outcome per action of the plan, in plan order."""

    outcomes: tuple[Outcome, ...] = ()
    #: A stop (a signal, ``--max-duration``, the output's reader gone) left actions skipped.
    interrupted: bool = False
    #: Why the apply stopped early on its own: a failure every other write would meet too
    #: (the key was refused, or lacks a scope). Running again would not help.
    halted: str | None = None
    #: Why it was stopped, when ``interrupted`` (e.g. ``--max-duration 60s reached``).
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return (not self.interrupted and self.halted is None
                and all(o.status == "done" for o in self.outcomes))

    def count(self, status: OutcomeStatus) -> int:
        return sum(1 for o in self.outcomes if o.status == status)
