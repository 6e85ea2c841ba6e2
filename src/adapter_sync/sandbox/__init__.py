"""The sandbox: a faithful emulator of the Adapter custom-connector API, as the project's
contract (docs/api-contract.md) describes it.

- :mod:`adapter_sync.sandbox.contract` — the API's facts (kinds, slug pattern, limits, error
  codes, headers), transcribed from docs/api-contract.md and checked against it by a test;
- :func:`adapter_sync.sandbox.app.create_app` — the Starlette app over one SQLite file;
- :mod:`adapter_sync.sandbox.inprocess` — ``transport(db_path)``, ``BASE_URL``, ``SANDBOX_KEY``
  and ``DEFAULT_DB``: everything needed to turn a ``sandbox:`` URL into an httpx transport;
- :func:`adapter_sync.sandbox.server.serve` — ``adapter-sync sandbox serve`` (uvicorn); it
  raises :class:`~adapter_sync.sandbox.server.CannotServe` when it cannot;
- :class:`adapter_sync.sandbox.faults.FaultConfig` — latency, 5xx, 429 and dropped connections,
  and the rate limit (:mod:`adapter_sync.sandbox.ratelimit`: a fixed window or a token bucket,
  ``X-RateLimit-*`` on every answer, ``Retry-After`` styles, a server clock offset, a budget
  shared with other integrations).

Key conventions (see :mod:`adapter_sync.sandbox.auth`): any ``Bearer pk_live_...`` key works;
``pk_live_ro_...`` lacks write scopes (403), ``pk_live_noscope_...`` lacks all,
``pk_live_revoked_...`` is refused (401). The sandbox is an independent emulator: it imports
nothing from the rest of adapter-sync (client, model, errors), so a wrong constant on either side
shows up as a failing contract test.
"""
