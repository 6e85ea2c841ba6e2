"""apply_plan(plan, client) -> Result: execute a plan with bounded concurrency.

- Never re-plans: it does exactly the plan's actions. A create carries the connector it
  declares; when one is found live in its place it is adopted and brought to that declaration
  (compared by :mod:`adapter_sync.diff`), which is still the create's own intent.
- A create whose answer was lost (OutcomeUnknown), or that meets a 409 because another run
  created it meanwhile, is resolved by re-listing: an existing connector is adopted (and patched
  where its fields differ), a missing one is created again. Never created twice.
- A create answered "outcome unknown" is tried again, after a backoff, up to ``attempts``
  rounds (``--max-attempts``); giving up reports the server's last answer. A 409 whose
  connector is not found live is the server refusing for another reason: its message is
  reported at once. A connector found live but inactive is never taken over: someone
  deactivated it since the plan, so that action fails as stale.
- One failing action does not stop the others; the Result lists what failed and why. A
  failure every other write would meet too (401, or 403 for a missing scope) halts the apply:
  no new action starts, and the Result says why, once.
- The apply's lifetime is a :class:`Lifetime`: a ``stop`` event (set by the command layer on
  Ctrl-C or SIGTERM, or when its output's reader went away; a :class:`Stop` says why) and a
  deadline (``--max-duration``). Once either fires, no new action starts and a call waiting
  for its turn (held by the rate limit, or before a retry) is not sent; the calls in flight
  finish. A wait that would end past the deadline is not waited for: its call is not sent.
  Every action not started or not sent gets a ``skipped`` outcome saying why, and the Result
  says it was interrupted, and by what. A deadline that fires after every action finished
  changes nothing. ``progress`` is called with each outcome as it happens, skipped ones
  included. This module installs no signal handler and draws nothing.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapter_sync.diff import compare
from adapter_sync.errors import AdapterSyncError, ApiError, OutcomeUnknown
from adapter_sync.model import Action, LiveConnector, Outcome, Plan, Result

Progress = Callable[[Outcome], None]
Backoff = Callable[[int], float]

#: Statuses that every other write would meet too: the key is refused or lacks a scope.
HALTING_STATUSES = frozenset({401, 403})
#: How often a waiting call looks whether the apply was stopped (seconds).
STOP_POLL = 0.05


class Stop(threading.Event):
    """A stop event that says why: ``stop.set("SIGTERM")`` from any thread (a signal handler,
    a timer, a writer whose reader went away). The first reason given is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.why = "stopped"
        self._why_lock = threading.Lock()

    def set(self, why: str = "stopped") -> None:
        with self._why_lock:
            if not self.is_set():
                self.why = why
                super().set()


class NotSent(Exception):
    """A call was never sent: the apply was stopped, halted, or the wait for its turn would
    have passed the deadline. ``str()`` says so for the action; ``why`` is the stop's reason
    (None for a halt)."""

    def __init__(self, message: str, why: str | None = None) -> None:
        super().__init__(message)
        self.why = why


@dataclass
class Lifetime:
    """When an apply stops starting work (see the module docstring). ``sleep`` is the API
    client's wait (give it to the client): while :attr:`armed`, a wait a stop interrupts, or
    one that would end past the deadline, raises :class:`NotSent` instead."""

    stop: threading.Event = field(default_factory=Stop)
    max_duration: float | None = None
    clock: Callable[[], float] = time.monotonic
    armed: bool = False  # the actions are running (waits before them are ordinary)
    halted: str | None = None
    deadline: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.max_duration is not None:
            self.deadline = self.clock() + self.max_duration

    @property
    def _limit(self) -> str:
        return f"--max-duration {self.max_duration:g}s"

    def why(self) -> str | None:
        """Why no new action may start now (None: they may)."""
        if self.stop.is_set():
            return getattr(self.stop, "why", None) or "stopped"
        if self.deadline is not None and self.clock() >= self.deadline:
            return f"{self._limit} reached"
        return None

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; or raise :class:`NotSent` (see the class docstring)."""
        if not self.armed:
            await asyncio.sleep(seconds)
            return
        end = self.clock() + seconds
        if self.deadline is not None and end > self.deadline:
            raise NotSent(f"not sent: it would wait {seconds:.1f}s, past {self._limit}",
                          f"{self._limit} would pass before its turn")
        while True:
            if self.halted:
                raise NotSent("not started: the apply halted")
            why = self.why()
            if why:
                raise NotSent(f"not sent: {why} while it waited for its turn", why)
            left = end - self.clock()
            if left <= 0:
                return
            await asyncio.sleep(min(left, STOP_POLL))


@dataclass
class Tally:
    """The outcomes of a running apply, one slot per action (None: not finished)."""

    plan: Plan
    outcomes: list[Outcome | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.outcomes = [None] * len(self.plan.actions)

    def unfinished(self, why: str) -> Result:
        """The Result of an apply cut short before it could return one (a second interrupt):
        what finished, and every other action skipped for ``why``."""
        final = tuple(o if o is not None else Outcome(a, "skipped", why)
                      for o, a in zip(self.outcomes, self.plan.actions, strict=True))
        return Result(final, interrupted=True, stopped=why)


class Client(Protocol):
    async def list_connectors(self, include_inactive: bool = True) -> list[LiveConnector]: ...
    async def create(self, body: dict[str, Any]) -> LiveConnector: ...
    async def update(self, connector_id: str, body: dict[str, Any], *,
                     source_name: str | None = None) -> LiveConnector | None: ...


class Relister:
    """Coalesces the re-lists that resolve ambiguous creates into as few GETs as possible.

    A caller joins the batch that has not started yet (or starts one), so the list it gets
    back was always requested *after* its own failed call: a committed create is visible.
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        self._pending: asyncio.Future[Mapping[str, LiveConnector]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # held so they are not garbage-collected

    async def lookup(self, source_name: str) -> LiveConnector | None:
        if self._pending is None:
            self._pending = asyncio.get_running_loop().create_future()
            task = asyncio.ensure_future(self._run(self._pending))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        found = await asyncio.shield(self._pending)
        return found.get(source_name)

    async def _run(self, future: asyncio.Future[Mapping[str, LiveConnector]]) -> None:
        await asyncio.sleep(0)  # let the callers failing at the same moment join this batch
        self._pending = None  # from here on, new callers need a newer list
        try:
            items = await self._client.list_connectors(include_inactive=True)
        except BaseException as exc:  # handed to every waiter
            future.set_exception(exc)
            future.exception()  # mark retrieved: the waiters re-raise it
        else:
            future.set_result({c.source_name: c for c in items})


async def _adopt(action: Action, found: LiveConnector, client: Client, why: str) -> Outcome:
    assert action.desired is not None
    fix = compare(action.desired, found)  # a create declares an active connector
    if fix:
        body = {field: change.after for field, change in fix.items()}
        await client.update(found.connector_id, body, source_name=action.source_name)
        why += " and updated it"
    return Outcome(action, "done", why, found.connector_id)


@dataclass(frozen=True)
class _Rounds:
    """How often a create whose outcome is unknown is tried, how long to wait between, and how
    (the lifetime's sleep: a stop or the deadline ends the wait with NotSent)."""

    attempts: int
    backoff: Backoff
    sleep: Callable[[float], Any] = asyncio.sleep


async def _create(action: Action, client: Client, relister: Relister, rounds: _Rounds) -> Outcome:
    last: ApiError | None = None
    for attempt in range(1, rounds.attempts + 1):
        if attempt > 1:
            await rounds.sleep(rounds.backoff(attempt - 1))
        try:
            created = await client.create(action.request_body())
            return Outcome(action, "done", "", created.connector_id)
        except OutcomeUnknown as exc:
            last, why = exc, "the create's answer was lost; found it live, adopted it"
        except ApiError as exc:
            if exc.status != 409:
                raise
            last, why = exc, "already existed live (created meanwhile); adopted it"
        try:
            found = await relister.lookup(action.source_name)
        except NotSent as exc:  # the create may have happened: not checked is a failure
            raise ApiError(f"{last}; not checked whether it was created ({exc})",
                           status=last.status, request_id=last.request_id) from None
        if found is not None and not found.is_active:
            raise ApiError(
                f"{action.source_name}: exists live but inactive ({found.connector_id}): it was "
                "deactivated since the plan was made, so it is not taken over; run plan again")
        if found is not None:
            return await _adopt(action, found, client, why)
        if last.status == 409:  # refused, and not because it exists: the server's reason
            raise last
        # Not there: the lost create never happened; try again after a backoff.
    assert last is not None
    raise ApiError(f"{last}; not created after {rounds.attempts} "
                   f"attempt{'s' * (rounds.attempts != 1)} (each re-listed to check)",
                   status=last.status, request_id=last.request_id)


async def _execute(action: Action, client: Client, relister: Relister,
                   rounds: _Rounds) -> Outcome:
    if action.kind == "create":
        return await _create(action, client, relister, rounds)
    assert action.connector_id is not None
    updated = await client.update(
        action.connector_id, action.request_body(), source_name=action.source_name
    )
    # An empty answer (204) to a PATCH means applied; the id is the one we sent to.
    return Outcome(action, "done", "",
                   updated.connector_id if updated is not None else action.connector_id)


async def apply_plan(
    plan: Plan,
    client: Client,
    *,
    concurrency: int = 4,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    attempts: int = 8,
    backoff: Backoff | None = None,
    lifetime: Lifetime | None = None,
    tally: Tally | None = None,
    stopping: Callable[[str], None] | None = None,
) -> Result:
    """Execute every action of ``plan``; never raises for a single action's failure.

    ``attempts``/``backoff``: how many rounds a create with an unknown outcome gets, and the
    seconds to wait before round n+1 (``backoff(n)``; default: none). ``lifetime``: the stop
    event and the deadline (or just ``stop``); give its ``sleep`` to the client so that a call
    held past them is not sent. ``tally``: where the outcomes are kept as they finish (read
    it when the apply is cut short). ``stopping(why)``: told once, when the first action is
    skipped by a stop or the deadline.
    """
    actions = plan.actions
    life = lifetime or Lifetime(stop if stop is not None else Stop())
    life.armed = True
    kept = tally or Tally(plan)
    outcomes = kept.outcomes
    gate = asyncio.Semaphore(concurrency)
    relister = Relister(client)
    rounds = _Rounds(attempts, backoff or (lambda _n: 0.0), life.sleep)
    stopped: list[str] = []  # why actions were skipped by a stop or the deadline

    def skipped_by(why: str) -> None:
        if not stopped and stopping is not None:
            stopping(why)
        stopped.append(why)

    async def run(index: int, action: Action) -> None:
        async with gate:
            why = life.why()
            if why is not None:
                skipped_by(why)
                outcome = Outcome(action, "skipped", f"not started: {why}")
            elif life.halted:
                outcome = Outcome(action, "skipped", "not started: the apply halted")
            else:
                outcome = await _run_one(action)
            outcomes[index] = outcome
            if progress is not None:
                progress(outcome)

    async def _run_one(action: Action) -> Outcome:
        try:
            return await _execute(action, client, relister, rounds)
        except NotSent as exc:
            if exc.why is not None:
                skipped_by(exc.why)
            return Outcome(action, "skipped", str(exc))
        except ApiError as exc:
            message = str(exc)
            if exc.status in HALTING_STATUSES:
                if life.halted:  # said once, in the Result
                    message = "refused for the same reason (see below)"
                else:
                    life.halted = message
            return Outcome(action, "failed", message)
        except AdapterSyncError as exc:
            return Outcome(action, "failed", str(exc))

    try:
        await asyncio.gather(*(run(i, a) for i, a in enumerate(actions)))
    finally:
        life.armed = False
    final = tuple(
        o if o is not None else Outcome(a, "skipped", "not started")
        for o, a in zip(outcomes, actions, strict=True)
    )
    return Result(final, interrupted=bool(stopped), halted=life.halted,
                  stopped=stopped[0] if stopped else None)
