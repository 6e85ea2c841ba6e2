"""The sandbox in the client's own process: an httpx transport, no server, no port.

Used by ``--api-url sandbox:`` (db ``.adapter-sync/sandbox.db``) and ``sandbox:PATH``::

    from adapter_sync.sandbox import inprocess
    t = inprocess.transport(".adapter-sync/sandbox.db")
    client = httpx.AsyncClient(base_url=inprocess.BASE_URL, transport=t,
                               headers={"Authorization": f"Bearer {inprocess.SANDBOX_KEY}"})

The sandbox still requires ``Authorization: Bearer pk_live_...``; with no ``ADAPTER_API_KEY``
the client sends the built-in :data:`SANDBOX_KEY` (``pk_live_sandbox``). A dropped-connection
fault reaches the caller as :class:`httpx.RemoteProtocolError`, as it would over TCP.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from adapter_sync.sandbox.app import Sandbox, create_app
from adapter_sync.sandbox.auth import SANDBOX_KEY
from adapter_sync.sandbox.faults import FaultConfig
from adapter_sync.sandbox.gate import DroppedConnection

#: Base URL to use with the in-process transport (any host works; the path must be /v1).
BASE_URL = "http://sandbox/v1"
DEFAULT_DB = ".adapter-sync/sandbox.db"


class SandboxTransport(httpx.ASGITransport):
    """An ASGI transport on a sandbox app; ``.sandbox`` gives direct control (faults, state).

    Closing it (``aclose``, e.g. when its AsyncClient closes) closes the SQLite store, unless
    ``close_store=False`` (then call ``.sandbox.close()`` yourself).
    """

    def __init__(self, db_path: str | os.PathLike[str], faults: FaultConfig | None = None,
                 *, close_store: bool = True) -> None:
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        self.close_store = close_store
        self.app = create_app(db_path, faults=faults)
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


def transport(db_path: str | os.PathLike[str] = DEFAULT_DB, *,
              faults: FaultConfig | None = None) -> SandboxTransport:
    """An httpx async transport serving the sandbox over the SQLite file ``db_path``."""
    return SandboxTransport(db_path, faults)


def set_faults(target: SandboxTransport, **settings: Any) -> FaultConfig:
    """Replace the faults of an in-process sandbox (keys as ``POST /_sandbox/faults``)."""
    config = FaultConfig.from_dict(settings)
    target.sandbox.set_faults(config)
    return config


__all__ = ["BASE_URL", "DEFAULT_DB", "SANDBOX_KEY", "SandboxTransport", "set_faults", "transport"]
