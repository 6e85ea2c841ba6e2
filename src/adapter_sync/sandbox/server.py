"""``adapter-sync sandbox serve``: the sandbox over HTTP with uvicorn.

Binds first (port 0 picks a free port), then prints exactly one line to stdout, flushed::

    Sandbox listening on http://127.0.0.1:PORT/v1  (use: --api-url http://127.0.0.1:PORT/v1, key: any pk_live_... value)

and serves until Ctrl-C or SIGTERM, which stop it cleanly (exit 0, no traceback). Access logs
are off; dropped connections (an injected fault) are not logged as errors. A port that cannot be
bound raises :class:`CannotServe` (one line, for the CLI to print).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sqlite3
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn
from starlette.requests import ClientDisconnect

from adapter_sync.sandbox.app import create_app
from adapter_sync.sandbox.faults import FaultConfig, FaultConfigError
from adapter_sync.sandbox.gate import DroppedConnection
from adapter_sync.sandbox.store import default_db


class CannotServe(Exception):
    """The sandbox cannot serve (e.g. the port is taken); the message is one line for a user."""


#: A wildcard address is where the server listens, not an address to send to; the client is
#: told the loopback address of the same family (which it accepts over plain http).
_REACHABLE = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1", "[::]": "::1"}


def listening_line(host: str, port: int) -> str:
    """The one line ``serve`` prints: a URL the client accepts as it is."""
    bare = host.strip("[]") if host not in _REACHABLE else host
    reachable = _REACHABLE.get(host, _REACHABLE.get(bare, bare))
    shown = f"[{reachable}]" if ":" in reachable else reachable
    url = f"http://{shown}:{port}/v1"
    where = f" on all interfaces ({host or '0.0.0.0'})" if host in _REACHABLE else ""
    return (f"Sandbox listening{where} on {url}  (use: --api-url {url}, key: any pk_live_... "
            "value)")


class _QuietDrops(logging.Filter):
    """Hide uvicorn's 'Exception in ASGI application' for intentionally dropped connections
    and for clients that went away before sending their whole request (a client timeout):
    neither is a server error."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, (DroppedConnection, ClientDisconnect))


class _Server(uvicorn.Server):
    """uvicorn's server, announcing itself once bound and stopping on a signal without re-raising
    it (uvicorn re-raises the captured signal after shutdown, which would end in a traceback or
    a non-zero exit)."""

    def __init__(self, config: uvicorn.Config, announce: str) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            sys.stdout.write(self._announce + "\n")
            sys.stdout.flush()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(sig: int, frame: FrameType | None) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        signals = [signal.SIGINT, signal.SIGTERM]
        previous = {sig: signal.signal(sig, stop) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(host: str = "127.0.0.1", port: int = 8787, db: str | None = None,
          latency: float = 0.0, error_rate: float = 0.0, rate_limit_rate: float = 0.0,
          drop_rate: float = 0.0, seed: int | None = None, *,
          access_log: bool = False, **settings: Any) -> None:
    """Serve the sandbox on ``host:port`` (0 = any free port) over the SQLite file ``db``
    (the per-user :func:`~adapter_sync.sandbox.store.default_db` when None).

    ``settings`` are further :class:`FaultConfig` keys (``rate_limit``, ``rate_limit_requests``,
    ``rate_limit_window``, ``retry_after_style``, ``reset_style``, ``clock_offset``,
    ``shared_usage``, ...); ``None`` means the default. Invalid settings, a port that cannot be
    bound or a database that cannot be opened raise :class:`CannotServe`.
    """
    try:
        faults = FaultConfig.from_dict({
            "latency": latency, "error_rate": error_rate, "rate_limit_rate": rate_limit_rate,
            "drop_rate": drop_rate, "seed": seed, **settings})
    except FaultConfigError as exc:
        raise CannotServe(f"invalid fault settings: {exc}") from None
    db = default_db() if db is None else db
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP (not 0) so asyncio sets TCP_NODELAY on accepted sockets (else ~40 ms stalls)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise CannotServe(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    bound_port = sock.getsockname()[1]

    try:
        app = create_app(db, faults=faults)
    except (OSError, sqlite3.Error) as exc:
        sock.close()
        raise CannotServe(f"cannot open the sandbox database {db!r}: {exc}") from exc
    config = uvicorn.Config(app, log_level="warning", access_log=access_log, lifespan="on",
                            timeout_graceful_shutdown=3)
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    server = _Server(config, listening_line(host, bound_port))
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
