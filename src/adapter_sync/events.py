"""The events of an apply, typed: each gives its JSON object and its one human line.

As Terraform's machine-readable UI does, one value is both views: :meth:`to_json` is what
``apply --format json`` writes (one object a line, ``schemas/events.schema.json``), and
:meth:`line` is what people read on a terminal or in a CI log. Nothing else builds an event's
dict or its line, so the two can never say different things.

===============  ==================================================================
``plan``         once, when the actions start (:class:`PlanEvent`)
``result``       at least once per action: done, failed, or skipped (never started)
``wait``         a call waits a second or more: a retry's backoff or the rate limit
``heartbeat``    nothing else was written for a while and work is pending
``summary``      last: the counts, and why the apply stopped early, if it did
===============  ==================================================================

Every event carries ``type`` and ``format_version`` (:data:`FORMAT_VERSION`, ``MAJOR.MINOR``:
a new key or type is a minor bump, a changed or removed one a major bump). Lines are escaped
(:func:`~adapter_sync.escape.clean`); the writer redacts them (and the JSON) on the way out.
This module imports only the standard library, the model and the render helpers, so it
stays cheap to import.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from adapter_sync.escape import clean
from adapter_sync.model import Outcome, OutcomeStatus, Plan, Result
from adapter_sync.render import result_heading, result_lines

#: The version of the event stream's shapes.
FORMAT_VERSION = "1.0"
#: The published JSON Schema of every event (:func:`adapter_sync.schemafiles.path`).
SCHEMA = "events.schema.json"
#: The action kinds a plan event counts, in this order.
KINDS = ("create", "update", "reactivate", "deactivate")
WaitReason = Literal["rate_limit", "retry"]


def duration(seconds: float) -> str:
    """``42s``, ``3m07s``, ``2h05m``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def clock_time(epoch: float) -> str:
    """``HH:MM:SS`` in local time."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


@dataclass(frozen=True)
class PlanEvent:
    """The actions about to be applied: how many, and how many of each kind."""

    type: ClassVar[str] = "plan"
    actions: int
    summary: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: Plan) -> PlanEvent:
        return cls(len(plan.actions), {kind: plan.summary.get(kind, 0) for kind in KINDS})

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "format_version": FORMAT_VERSION, "actions": self.actions,
                "summary": {kind: self.summary.get(kind, 0) for kind in KINDS}}

    def line(self) -> str:
        counts = ", ".join(f"{self.summary[k]} to {k}" for k in KINDS if self.summary.get(k))
        return f"Applying {_plural(self.actions, 'action')}" + (f": {counts}." if counts
                                                                 else ".")


@dataclass(frozen=True)
class ResultEvent:
    """One action's outcome: ``done``, ``failed`` (``message`` says why) or ``skipped`` (never
    started, or not sent; ``message`` says why)."""

    type: ClassVar[str] = "result"
    action: str
    source_name: str
    status: OutcomeStatus
    connector_id: str | None = None
    message: str = ""

    @classmethod
    def of(cls, outcome: Outcome) -> ResultEvent:
        action = outcome.action
        return cls(action.kind, action.source_name, outcome.status,
                   outcome.connector_id or action.connector_id, outcome.message)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "format_version": FORMAT_VERSION, "action": self.action,
                "source_name": self.source_name, "status": self.status,
                "connector_id": self.connector_id, "message": self.message}

    def line(self, *, ascii: bool = False) -> str:
        """The report's line(s) for it (a done action's note on a second line)."""
        return "\n".join(result_lines(self.action, self.source_name, self.status,
                                      self.connector_id, self.message, ascii=ascii))


@dataclass(frozen=True)
class WaitEvent:
    """A call waits ``seconds``, until ``until`` (epoch seconds, our clock): for the rate
    limit, or before retry ``attempt``. ``what``: the call (``create 'acme'``);
    ``message``: what the server said, if anything (never the wait again)."""

    type: ClassVar[str] = "wait"
    reason: WaitReason
    seconds: float
    until: float
    what: str = ""
    attempt: int = 1
    message: str = ""
    resets_at: float | None = None

    @classmethod
    def of(cls, notice: Any) -> WaitEvent:
        """From the client's wait notice (:class:`adapter_sync.pacing.WaitEvent`)."""
        return cls(notice.reason, notice.seconds, notice.until, notice.what, notice.attempt,
                   notice.message, notice.resets_at)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "format_version": FORMAT_VERSION, "reason": self.reason,
                "seconds": round(self.seconds, 3), "until": round(self.until, 3),
                "what": self.what, "attempt": self.attempt, "message": self.message,
                "resets_at": None if self.resets_at is None else round(self.resets_at, 3)}

    def line(self) -> str:
        """``waiting 1.5s for the rate limit (until 22:29:05): list connectors``, or
        ``retrying in 2.0s (attempt 3): create 'acme': API error 503: busy``; a wait that
        spreads the budget up to a later reset names it (``…, the limit resets at 23:00:00``)."""
        if self.reason == "rate_limit":
            text = (f"waiting {self.seconds:.1f}s for the rate limit "
                    f"(until {clock_time(self.until)}")
            if self.resets_at is not None:
                text += f"; the limit resets at {clock_time(self.resets_at)}"
            text += ")"
        else:
            text = f"retrying in {self.seconds:.1f}s (attempt {self.attempt})"
        for part in (self.what, self.message):
            if part:
                text += f": {part}"
        return clean(text)


@dataclass(frozen=True)
class HeartbeatEvent:
    """Still working: of ``total`` actions, ``done``, ``failed`` and ``skipped`` so far,
    ``elapsed`` seconds, and ``held_until`` (epoch) while a rate-limit hold is in force."""

    type: ClassVar[str] = "heartbeat"
    done: int
    failed: int
    total: int
    elapsed: float
    skipped: int = 0
    held_until: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "format_version": FORMAT_VERSION, "done": self.done,
                "failed": self.failed, "skipped": self.skipped, "total": self.total,
                "elapsed": round(self.elapsed, 1),
                "held_until": None if self.held_until is None else round(self.held_until, 3)}

    def status(self) -> str:
        """finished/total, failed, elapsed, rate, ETA, and the hold if any (the terminal's
        live status line)."""
        finished = self.done + self.failed + self.skipped
        text = (f"applying: {finished}/{self.total} done, {self.failed} failed, "
                f"{duration(self.elapsed)} elapsed")
        if finished and self.elapsed > 0:
            rate = finished / self.elapsed
            text += f", {rate:.1f}/s, ETA {duration((self.total - finished) / rate)}"
        if self.held_until is not None:
            text += f", waiting for the rate limit until {clock_time(self.held_until)}"
        return text

    def line(self) -> str:
        return "still " + self.status()


@dataclass(frozen=True)
class SummaryEvent:
    """The end: the counts; ``interrupted`` when a stop left actions unstarted (``stopped``
    says why: a signal, ``--max-duration``, the output's reader gone); ``halted`` when the
    apply stopped on its own because every other write would be refused too."""

    type: ClassVar[str] = "summary"
    done: int
    failed: int
    skipped: int
    interrupted: bool = False
    halted: str | None = None
    stopped: str | None = None

    @classmethod
    def of(cls, result: Result) -> SummaryEvent:
        return cls(result.count("done"), result.count("failed"), result.count("skipped"),
                   result.interrupted, result.halted, result.stopped)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "format_version": FORMAT_VERSION, "done": self.done,
                "failed": self.failed, "skipped": self.skipped,
                "interrupted": self.interrupted, "halted": self.halted,
                "stopped": self.stopped}

    def line(self) -> str:
        return result_heading(self.done, self.failed, self.skipped,
                              interrupted=self.interrupted, halted=self.halted is not None)


Event = PlanEvent | ResultEvent | WaitEvent | HeartbeatEvent | SummaryEvent


def encode(event: Event) -> str:
    """The event as one line of NDJSON (compact, ASCII; no newline)."""
    return json.dumps(event.to_json(), separators=(",", ":"), ensure_ascii=True)
