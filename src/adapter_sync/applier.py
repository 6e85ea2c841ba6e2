"""apply(plan, client) -> Result: execute a plan with bounded concurrency.

- Never re-plans: it does exactly the plan's actions. A create carries the connector it
  declares; when one is found live in its place it is adopted and brought to that declaration
  (compared by :mod:`adapter_sync.diff`), which is still the create's own intent.
- A create whose answer was lost (OutcomeUnknown), or that meets a 409 because another run
  created it meanwhile, is resolved by re-listing: an existing connector is adopted (and patched
  where its fields differ), a missing one is created again. Never created twice.
- One failing action does not stop the others; the Result lists what failed and why.
- A ``stop`` event (set by the command layer on Ctrl-C or SIGTERM) stops starting new actions;
  the calls in flight finish, and the Result says it was interrupted. ``progress`` is called
  with each outcome as it happens. This module installs no signal handler and draws nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from adapter_sync.diff import compare
from adapter_sync.errors import AdapterSyncError, ApiError, OutcomeUnknown
from adapter_sync.model import Action, LiveConnector, Outcome, Plan, Result

Progress = Callable[[Outcome], None]

#: How many times a create may come back "outcome unknown" before we give up on it.
MAX_CREATE_ROUNDS = 10


class Client(Protocol):
    async def list_connectors(self, include_inactive: bool = True) -> list[LiveConnector]: ...
    async def create(self, body: dict[str, Any]) -> LiveConnector: ...
    async def update(self, connector_id: str, body: dict[str, Any], *,
                     source_name: str | None = None) -> LiveConnector: ...


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


async def _create(action: Action, client: Client, relister: Relister) -> Outcome:
    for _ in range(MAX_CREATE_ROUNDS):
        try:
            created = await client.create(action.request_body())
            return Outcome(action, "done", "", created.connector_id)
        except OutcomeUnknown:
            why = "the create's answer was lost; found it live, adopted it"
        except ApiError as exc:
            if exc.status != 409:
                raise
            why = "already existed live (created meanwhile); adopted it"
        found = await relister.lookup(action.source_name)
        if found is not None:
            return await _adopt(action, found, client, why)
        # Not there: the lost create never happened (or a 409 came from elsewhere); try again.
    raise ApiError(
        f"{action.source_name}: create still unconfirmed after {MAX_CREATE_ROUNDS} attempts; "
        "run apply again"
    )


async def _execute(action: Action, client: Client, relister: Relister) -> Outcome:
    if action.kind == "create":
        return await _create(action, client, relister)
    assert action.connector_id is not None
    updated = await client.update(
        action.connector_id, action.request_body(), source_name=action.source_name
    )
    return Outcome(action, "done", "", updated.connector_id)


async def apply_plan(
    plan: Plan,
    client: Client,
    *,
    concurrency: int = 4,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> Result:
    """Execute every action of ``plan``; never raises for a single action's failure."""
    actions = plan.actions
    outcomes: list[Outcome | None] = [None] * len(actions)
    gate = asyncio.Semaphore(concurrency)
    halt = stop or threading.Event()
    relister = Relister(client)

    async def run(index: int, action: Action) -> None:
        async with gate:
            if halt.is_set():
                outcomes[index] = Outcome(action, "skipped", "interrupted before it started")
                return
            try:
                outcome = await _execute(action, client, relister)
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
    return Result(final, interrupted=halt.is_set())
