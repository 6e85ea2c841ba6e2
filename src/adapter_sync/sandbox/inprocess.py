"""The sandbox in the client's own process: an httpx transport, no server, no port.

The one interface the rest of adapter-sync uses to run the sandbox in-process (``--api-url
sandbox:`` uses :func:`default_db`, ``sandbox:PATH`` the file PATH)::

    from adapter_sync.sandbox import inprocess
    t = inprocess.transport(inprocess.default_db())
    client = httpx.AsyncClient(base_url=inprocess.BASE_URL, transport=t,
                               headers={"Authorization": f"Bearer {inprocess.SANDBOX_KEY}"})

The sandbox still requires ``Authorization: Bearer pk_live_...``; with no ``ADAPTER_API_KEY``
the client sends the built-in :data:`SANDBOX_KEY` (``pk_live_sandbox``). A dropped-connection
fault reaches the caller as :class:`httpx.RemoteProtocolError`, as it would over TCP.
"""

from __future__ import annotations

import os
import time
from typing import Any

import httpx

from adapter_sync.sandbox.app import Sandbox, create_app
from adapter_sync.sandbox.auth import SANDBOX_KEY
from adapter_sync.sandbox.contract import API_PREFIX
from adapter_sync.sandbox.faults import FaultConfig
from adapter_sync.sandbox.gate import DroppedConnection
from adapter_sync.sandbox.ratelimit import Clock
from adapter_sync.sandbox.store import default_db

#: Base URL to use with the in-process transport (any host works; the path must be /v1).
BASE_URL = "http://sandbox" + API_PREFIX


class SandboxTransport(httpx.ASGITransport):
    """An ASGI transport on a sandbox app; ``.sandbox`` gives direct control (faults, state).

    Closing it (``aclose``, e.g. when its AsyncClient closes) closes the SQLite store, unless
    ``close_store=False`` (then call ``.sandbox.close()`` yourself). ``clock`` (epoch seconds)
    drives the rate limiter. Opening a path that cannot
    hold the database raises :class:`OSError` or :class:`sqlite3.Error`.
    """

    def __init__(self, db_path: str | os.PathLike[str], faults: FaultConfig | None = None,
                 *, close_store: bool = True, clock: Clock = time.time) -> None:
        self.close_store = close_store
        self.app = create_app(db_path, faults=faults, clock=clock)
        self.sandbox: Sandbox = self.app.state.sandbox
        super().__init__(app=self.app, raise_app_exceptions=True)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except DroppedConnection as exc:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            ) from exc

    async def aclose(self) -> None:
        if self.close_store:
            self.sandbox.close()


def transport(db_path: str | os.PathLike[str] | None = None, *,
              faults: FaultConfig | None = None) -> SandboxTransport:
    """An httpx async transport serving the sandbox over the SQLite file ``db_path`` (the
    per-user :func:`default_db` when None).

    The file and its folder are created if missing; a path that cannot hold the database
    raises :class:`OSError` or :class:`sqlite3.Error` (nothing else).
    """
    return SandboxTransport(default_db() if db_path is None else db_path, faults)


def set_faults(target: SandboxTransport, **settings: Any) -> FaultConfig:
    """Replace the faults of an in-process sandbox (keys as ``POST /_sandbox/faults``)."""
    config = FaultConfig.from_dict(settings)
    target.sandbox.set_faults(config)
    return config


__all__ = ["BASE_URL", "SANDBOX_KEY", "SandboxTransport", "default_db", "set_faults", "transport"]
