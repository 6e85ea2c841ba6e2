"""apply(plan, client) -> Result: execute a plan with bounded concurrency.

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
- A ``stop`` event (set by the command layer on Ctrl-C or SIGTERM) stops starting new actions;
  the calls in flight finish, and the Result says it was interrupted. ``progress`` is called
  with each outcome as it happens. This module installs no signal handler and draws nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from adapter_sync.diff import compare
from adapter_sync.errors import AdapterSyncError, ApiError, OutcomeUnknown
from adapter_sync.model import Action, LiveConnector, Outcome, Plan, Result

Progress = Callable[[Outcome], None]
Backoff = Callable[[int], float]

#: Statuses that every other write would meet too: the key is refused or lacks a scope.
HALTING_STATUSES = frozenset({401, 403})


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
    """How often a create whose outcome is unknown is tried, and how long to wait between."""

    attempts: int
    backoff: Backoff


async def _create(action: Action, client: Client, relister: Relister, rounds: _Rounds) -> Outcome:
    last: ApiError | None = None
    for attempt in range(1, rounds.attempts + 1):
        if attempt > 1:
            await asyncio.sleep(rounds.backoff(attempt - 1))
        try:
            created = await client.create(action.request_body())
            return Outcome(action, "done", "", created.connector_id)
        except OutcomeUnknown as exc:
            last, why = exc, "the create's answer was lost; found it live, adopted it"
        except ApiError as exc:
            if exc.status != 409:
                raise
            last, why = exc, "already existed live (created meanwhile); adopted it"
        found = await relister.lookup(action.source_name)
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
) -> Result:
    """Execute every action of ``plan``; never raises for a single action's failure.

    ``attempts``/``backoff``: how many rounds a create with an unknown outcome gets, and the
    seconds to wait before round n+1 (``backoff(n)``; default: none).
    """
    actions = plan.actions
    outcomes: list[Outcome | None] = [None] * len(actions)
    gate = asyncio.Semaphore(concurrency)
    interrupt = stop or threading.Event()
    halted: list[str] = []
    relister = Relister(client)
    rounds = _Rounds(attempts, backoff or (lambda _n: 0.0))

    async def run(index: int, action: Action) -> None:
        async with gate:
            if interrupt.is_set() or halted:
                why = "interrupted before it started" if interrupt.is_set() else "not started"
                outcomes[index] = Outcome(action, "skipped", why)
                return
            try:
                outcome = await _execute(action, client, relister, rounds)
            except ApiError as exc:
                message = str(exc)
                if exc.status in HALTING_STATUSES:
                    if halted:  # said once, in the Result
                        message = "refused for the same reason (see below)"
                    else:
                        halted.append(message)
                outcome = Outcome(action, "failed", message)
            except AdapterSyncError as exc:
                outcome = Outcome(action, "failed", str(exc))
            outcomes[index] = outcome
            if progress is not None:
                progress(outcome)

    await asyncio.gather(*(run(i, a) for i, a in enumerate(actions)))
    final = tuple(
        o if o is not None else Outcome(a, "skipped", "not started")
        for o, a in zip(outcomes, actions, strict=True)
    )
    return Result(final, interrupted=interrupt.is_set(), halted=halted[0] if halted else None)
