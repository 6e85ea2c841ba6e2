"""The sandbox: a faithful emulator of the Adapter custom-connector API (adapter-api.md).

- :func:`adapter_sync.sandbox.app.create_app` — the Starlette app over one SQLite file;
- :func:`adapter_sync.sandbox.inprocess.transport` — an httpx transport for ``sandbox:`` URLs;
- :func:`adapter_sync.sandbox.server.serve` — ``adapter-sync sandbox serve`` (uvicorn);
- :class:`adapter_sync.sandbox.faults.FaultConfig` — latency, 5xx, 429 and dropped connections.

Key conventions (see :mod:`adapter_sync.sandbox.auth`): any ``Bearer pk_live_...`` key works;
``pk_live_ro_...`` lacks write scopes (403), ``pk_live_noscope_...`` lacks all,
``pk_live_revoked_...`` is refused (401). Imports nothing from ``adapter_sync.client``.
"""
