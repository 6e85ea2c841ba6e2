"""The gate in front of every ``/v1`` call: request id, rate limit, auth, faults.

A pure ASGI middleware. Order per request: count it with the rate limiter
(:mod:`adapter_sync.sandbox.ratelimit`; every answer carries its ``X-RateLimit-*`` headers and an
``X-Request-Id``), sleep the configured latency, authenticate (401) and check scopes (403), refuse
a request over the limit (429 ``rate_limit_exceeded``, ``Retry-After`` in the configured style,
not executed), then roll the fault dice:

- ``rate_limit`` → 429 ``rate_limit_exceeded`` with ``Retry-After: retry_after`` (injected);
- ``error`` → 500 (JSON body), 502 (HTML body, like a proxy) or 503 (empty body); the call is
  never executed, so nothing is committed;
- ``drop`` → a read is not executed; a write is executed and committed. Then the response
  headers are sent (with a ``Content-Length``) and :class:`DroppedConnection` is raised before
  the body: uvicorn aborts the connection (the client sees a protocol error) and the in-process
  transport turns it into :class:`httpx.RemoteProtocolError`.

Other paths (``/_sandbox/...``) pass through untouched.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from adapter_sync.sandbox.auth import AuthError, authenticate, authorize
from adapter_sync.sandbox.contract import (
    API_PREFIX,
    AUTHENTICATION_ERROR,
    INSUFFICIENT_SCOPES,
    INTERNAL_ERROR,
    RATE_LIMIT_EXCEEDED,
)
from adapter_sync.sandbox.faults import FaultConfig, FaultDice
from adapter_sync.sandbox.ratelimit import RateLimiter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_BAD_GATEWAY_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center></body></html>"
)


class DroppedConnection(Exception):
    """Raised by the gate to make the server drop the connection without a response body."""


def _is_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


async def _answer(send: Send, status: int, body: bytes, content_type: str | None,
                  headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    out = [(b"content-length", str(len(body)).encode()), *headers]
    if content_type:
        out.append((b"content-type", content_type.encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


def _error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"error": code, "message": message, "details": details or {}},
                      separators=(",", ":")).encode()


class Gate:
    """ASGI middleware applying auth, rate-limit headers and faults to ``/v1`` calls.

    It holds only what it uses: ``config`` (called once per request for the current
    :class:`FaultConfig`), the fault ``dice`` and the rate ``limiter``.
    """

    def __init__(self, app: ASGIApp, *, config: Callable[[], FaultConfig], dice: FaultDice,
                 limiter: RateLimiter) -> None:
        self.app = app
        self.config = config
        self.dice = dice
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_api(scope["path"]):
            await self.app(scope, receive, send)
            return
        config = self.config()
        verdict = self.limiter.take()
        extra = [*verdict.headers(), (b"x-request-id", f"req_{uuid.uuid4().hex}".encode())]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        if config.latency:
            await asyncio.sleep(config.latency)
        method, path = scope["method"], scope["path"]
        try:
            principal = authenticate(_header(scope, b"authorization"))
            authorize(principal, method, path)
        except AuthError as exc:
            if exc.status == 401:
                body = _error_body(AUTHENTICATION_ERROR, exc.message)
            else:
                body = _error_body(INSUFFICIENT_SCOPES, exc.message,
                                   {"missing_scopes": list(exc.missing_scopes)})
            await _answer(send_with_headers, exc.status, body, "application/json")
            return
        scope.setdefault("state", {})["principal"] = principal

        if not verdict.allowed:
            retry_after = verdict.retry_after()
            await _answer(send_with_headers, 429,
                          _error_body(RATE_LIMIT_EXCEEDED,
                                      f"rate limit exceeded: {verdict.policy.describe()}"),
                          "application/json",
                          [] if retry_after is None else [(b"retry-after", retry_after.encode())])
            return

        decision = self.dice.roll()
        if decision.kind == "rate_limit":
            await _answer(send_with_headers, 429,
                          _error_body(RATE_LIMIT_EXCEEDED, "too many requests (injected)"),
                          "application/json",
                          [(b"retry-after", str(config.retry_after).encode())])
        elif decision.kind == "error":
            if decision.status == 502:
                await _answer(send_with_headers, 502, _BAD_GATEWAY_HTML, "text/html")
            elif decision.status == 503:
                await _answer(send_with_headers, 503, b"", None)
            else:
                await _answer(send_with_headers, 500,
                              _error_body(INTERNAL_ERROR, "internal server error (injected)"),
                              "application/json")
        elif decision.kind == "drop":
            await self._drop(scope, receive, send_with_headers, write=method not in ("GET", "HEAD"))
        else:
            await self.app(scope, receive, send_with_headers)

    async def _drop(self, scope: Scope, receive: Receive, send: Send, *, write: bool) -> None:
        start: Message = {"type": "http.response.start", "status": 200,
                          "headers": [(b"content-type", b"application/json")]}
        length = 2
        if write:  # execute (and commit) the call, keep its answer to ourselves
            captured: list[Message] = []

            async def capture(message: Message) -> None:
                captured.append(message)

            await self.app(scope, receive, capture)
            start = next((m for m in captured if m["type"] == "http.response.start"), start)
            length = sum(len(m.get("body", b"")) for m in captured
                         if m["type"] == "http.response.body") or 2
        headers = [(k, v) for k, v in start.get("headers", ()) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        raise DroppedConnection("connection dropped by the sandbox (injected fault)")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None
