"""Deterministic fakes for fast tests.

- :class:`FakeClient`: an in-memory stand-in for the API client, for applier tests. The sandbox
  is the faithful emulator; this fake only exists to script exact failure sequences (a lost
  create, a 409 race, a 404) deterministically.
- :class:`RateLimitedApi`: a fake API server behind a rate limiter (fixed window or token
  bucket; ``Retry-After`` and ``X-RateLimit-*`` in every style the contract says to survive; a
  server clock off ours; a budget shared with others), as an httpx transport handler.
- :func:`connect_error`: a connection error chained as httpx raises it (DNS, TLS).
- :func:`serve_body`: a real HTTP server on 127.0.0.1 answering every GET with one body,
  recording the paths asked for (for answers the sandbox cannot give, and for what must never
  be fetched).
- :func:`run_virtual`: runs a coroutine on an event loop whose clock is virtual: time jumps to
  the next timer whenever every task waits, so minutes of rate limiting take milliseconds and
  every run is identical. The client under test gets ``clock=loop.time`` and a wall clock
  ``EPOCH + loop.time()``.

Client tests use these rather than the sandbox, so they do not depend on its code.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http.server
import itertools
import json
import math
import selectors
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import httpx

from adapter_sync.errors import ApiError, OutcomeUnknown
from adapter_sync.model import LiveConnector, normalize_kinds, normalize_metadata


class FakeClient:
    def __init__(self, live: list[LiveConnector] | None = None) -> None:
        self.store: dict[str, LiveConnector] = {c.source_name: c for c in live or []}
        self.calls: list[tuple[str, str]] = []
        self.lose_creates: set[str] = set()      # commit, then report OutcomeUnknown (once)
        self.drop_creates: set[str] = set()      # do not commit, report OutcomeUnknown (once)
        self.fail: dict[str, ApiError] = {}      # source_name -> error on every write
        self._ids = itertools.count(1)

    async def list_connectors(self, include_inactive: bool = True) -> list[LiveConnector]:
        self.calls.append(("list", ""))
        return [c for c in self.store.values() if include_inactive or c.is_active]

    async def create(self, body: dict[str, Any]) -> LiveConnector:
        name = body["source_name"]
        self.calls.append(("create", name))
        if name in self.fail:
            raise self.fail[name]
        if name in self.drop_creates:
            self.drop_creates.discard(name)
            raise OutcomeUnknown(f"{name}: connection lost")
        if name in self.store:
            raise ApiError(f"{name}: already exists", status=409)
        created = LiveConnector(
            connector_id=f"id-{next(self._ids)}", source_name=name, name=body["name"],
            accepted_kinds=normalize_kinds(body.get("accepted_kinds")),
            metadata=normalize_metadata(body.get("metadata")),
        )
        self.store[name] = created
        if name in self.lose_creates:
            self.lose_creates.discard(name)
            raise OutcomeUnknown(f"{name}: connection lost after commit")
        return created

    async def update(self, connector_id: str, body: dict[str, Any], *,
                     source_name: str | None = None) -> LiveConnector:
        self.calls.append(("update", source_name or connector_id))
        if source_name in self.fail:
            raise self.fail[source_name]
        current = next((c for c in self.store.values() if c.connector_id == connector_id), None)
        if current is None:
            raise ApiError(f"{source_name}: connector not found", status=404)
        changes: dict[str, Any] = {}
        if body.get("name") is not None:
            changes["name"] = body["name"]
        if body.get("accepted_kinds") is not None:
            changes["accepted_kinds"] = normalize_kinds(body["accepted_kinds"])
        if body.get("metadata") is not None:
            changes["metadata"] = normalize_metadata(body["metadata"])
        if body.get("is_active") is not None:
            changes["is_active"] = body["is_active"]
        updated = replace(current, **changes)
        self.store[current.source_name] = updated
        return updated


# --------------------------------------------------------------------------- network errors


@contextlib.contextmanager
def serve_body(body: bytes, seen: list[str] | None = None) -> Iterator[int]:
    """Serve ``body`` as JSON to every GET on 127.0.0.1; yields the port. Each path asked for
    is appended to ``seen``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if seen is not None:
                seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def connect_error(cause: BaseException) -> httpx.ConnectError:
    """A ConnectError chained as httpx raises it: httpx <- httpcore <- the OS error."""
    import httpcore


    try:
        try:
            raise cause
        except BaseException as exc:
            raise httpcore.ConnectError(str(exc)) from exc
    except httpcore.ConnectError as inner:
        outer = httpx.ConnectError(str(inner), request=httpx.Request("GET", "https://api.test/v1"))
        outer.__cause__ = inner
        return outer


# --------------------------------------------------------------------------- virtual time

T = TypeVar("T")
#: The wall-clock epoch at virtual time 0 (a whole second, so fixed windows align).
EPOCH = 1_700_000_000.0


class _VirtualSelector(selectors.BaseSelector):
    """Wraps the real selector; instead of blocking for ``timeout``, advances virtual time."""

    def __init__(self, loop: VirtualTimeLoop, real: selectors.BaseSelector) -> None:
        self._loop, self._real = loop, real

    def register(self, fileobj, events, data=None):  # type: ignore[no-untyped-def]
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj):  # type: ignore[no-untyped-def]
        return self._real.unregister(fileobj)

    def modify(self, fileobj, events, data=None):  # type: ignore[no-untyped-def]
        return self._real.modify(fileobj, events, data)

    def select(self, timeout=None):  # type: ignore[no-untyped-def]
        ready = self._real.select(0)
        if ready:
            return ready
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is due (virtual time)")
        self._loop.now += max(timeout, 0.0)
        return []

    def close(self) -> None:
        self._real.close()

    def get_map(self):  # type: ignore[no-untyped-def]
        return self._real.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` only moves when every task waits for a timer."""

    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(selector=_VirtualSelector(self, selectors.DefaultSelector()))

    def time(self) -> float:
        return self.now


def run_virtual(main: Callable[[VirtualTimeLoop], Awaitable[T]]) -> T:
    """Run ``main(loop)`` on a fresh :class:`VirtualTimeLoop` and close it."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main(loop))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


# --------------------------------------------------------------------------- a rate-limited API

RetryAfterStyle = Literal["seconds", "fractional", "zero", "date", "none"]


@dataclass
class Limits:
    """How :class:`RateLimitedApi` limits (names follow the sandbox's fault settings)."""

    kind: Literal["fixed_window", "token_bucket"] = "fixed_window"
    requests: int = 10  # per window / bucket capacity
    window: float = 1.0  # seconds (a token bucket refills ``requests`` per ``window``)
    retry_after_style: RetryAfterStyle = "seconds"
    reset_style: Literal["epoch", "none"] = "epoch"
    budget_headers: bool = True  # X-RateLimit-Limit / -Remaining (and -Reset per reset_style)
    clock_offset: float = 0.0  # seconds the server's clock is ahead of ours (negative: behind)
    shared_usage: float = 0.0  # share of the budget other integrations use (0..1)
    date_header: bool = False  # send an HTTP Date (whole seconds, the server's clock)


@dataclass
class RateLimitedApi:
    """A connector API behind a rate limiter; ``handler`` is an async httpx MockTransport handler.

    ``wall``: our wall clock (epoch seconds); the server's clock is ``wall() + clock_offset``.
    Every request counts against the limit. ``log`` keeps (our time, method, status) per request.
    """

    wall: Callable[[], float]
    limits: Limits = field(default_factory=Limits)
    latency: float = 0.0  # seconds before the server stamps and answers each request
    log: list[tuple[float, str, int]] = field(default_factory=list)
    remaining: list[int] = field(default_factory=list)  # X-RateLimit-Remaining sent, in order
    connectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    _window: int = -1
    _used: float = 0.0
    _tokens: float | None = None
    _filled_at: float = 0.0

    def server_now(self) -> float:
        return self.wall() + self.limits.clock_offset

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    @property
    def statuses(self) -> list[int]:
        return [status for _, _, status in self.log]

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        now = self.server_now()
        allowed, remaining, reset, wait = self._take(now)
        headers: dict[str, str] = {}
        lim = self.limits
        if lim.budget_headers:
            self.remaining.append(remaining)
            headers["X-RateLimit-Limit"] = str(lim.requests)
            headers["X-RateLimit-Remaining"] = str(remaining)
            if lim.reset_style == "epoch":
                headers["X-RateLimit-Reset"] = str(math.ceil(reset))
        if lim.date_header:
            headers["Date"] = email.utils.formatdate(math.floor(now), usegmt=True)
        if allowed:
            response = self._serve(request, headers)
        else:
            style = lim.retry_after_style
            if style == "seconds":
                headers["Retry-After"] = str(max(math.ceil(wait), 1))
            elif style == "fractional":
                headers["Retry-After"] = f"{wait:.3f}"
            elif style == "zero":
                headers["Retry-After"] = "0"
            elif style == "date":
                headers["Retry-After"] = email.utils.formatdate(math.ceil(now + wait),
                                                                usegmt=True)
            response = httpx.Response(429, json={"error": "rate_limited",
                                                 "message": "too many requests"},
                                      headers=headers)
        self.log.append((self.wall(), request.method, response.status_code))
        return response

    def _take(self, now: float) -> tuple[bool, int, float, float]:
        """(allowed, remaining after this request, reset epoch, seconds until one more)."""
        lim = self.limits
        others = lim.shared_usage * lim.requests
        if lim.kind == "fixed_window":
            window = math.floor(now / lim.window)
            if window != self._window:
                self._window, self._used = window, others
            reset = (window + 1) * lim.window
            allowed = self._used + 1 <= lim.requests
            if allowed:
                self._used += 1
            remaining = max(math.floor(lim.requests - self._used), 0)
            return allowed, remaining, reset, reset - now
        rate = lim.requests / lim.window * (1.0 - lim.shared_usage)  # others take the rest
        if self._tokens is None:
            self._tokens, self._filled_at = float(lim.requests), now
        self._tokens = min(lim.requests, self._tokens + (now - self._filled_at) * rate)
        self._filled_at = now
        allowed = self._tokens >= 1.0
        if allowed:
            self._tokens -= 1.0
        reset = now + (lim.requests - self._tokens) / rate if rate else now + lim.window
        wait = (1.0 - self._tokens) / rate if rate else lim.window
        return allowed, math.floor(self._tokens), reset, max(wait, 0.0)

    def _serve(self, request: httpx.Request, headers: dict[str, str]) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=list(self.connectors.values()), headers=headers)
        body = json.loads(request.content or b"{}")
        if request.method == "POST":
            slug = body["source_name"]
            created = {"connector_id": f"id-{slug}", "source_name": slug, "name": body["name"],
                       "is_active": True, "accepted_kinds": [], "metadata": {}}
            self.connectors[slug] = created
            return httpx.Response(201, json=created, headers=headers)
        connector_id = request.url.path.rsplit("/", 1)[-1]
        for item in self.connectors.values():
            if item["connector_id"] == connector_id:
                item.update({k: v for k, v in body.items() if v is not None})
                return httpx.Response(200, json=item, headers=headers)
        return httpx.Response(404, json={"error": "not_found", "message": "no such connector"},
                              headers=headers)
