"""The sandbox's HTTP routes: the custom-connector API of docs/api-contract.md, plus a control API.

API (``/v1``, behind :class:`~adapter_sync.sandbox.gate.Gate`: rate limit, auth, faults):

- ``GET /v1/custom-connectors?include_inactive=true|false`` → 200, bare JSON array
- ``POST /v1/custom-connectors`` → 201 created object; 409 duplicate source_name; 422 invalid
- ``PATCH /v1/custom-connectors/{id}`` → 200; 404 unknown id; 422 invalid (``source_name`` too)
- ``DELETE /v1/custom-connectors/{id}`` → 405 (and ``GET`` by id: 405, undocumented)
- ``POST /v1/custom-connectors/{id}/ingest`` and ``.../ingest/typed`` → 200 accepted;
  400 kind outside accepted_kinds; 404; 409 inactive connector; 422

Control (``/_sandbox``, no auth, never faulted):

- ``GET|POST /_sandbox/faults``: read / replace the fault config (missing keys = defaults);
  replacing it also restarts the rate limiter with a full budget
- ``POST /_sandbox/reset``: empty the store; the faults go back to the ones given at start
  (``sandbox serve`` flags) and the rate limiter starts afresh
- ``GET /_sandbox/state``: every connector, inactive included
- ``POST /_sandbox/seed`` ``{"connectors": [...]}``: bulk insert (POST fields + optional
  ``is_active``, ``connector_id``, ``created_at``, ``created_by``) → ``{"inserted": n}``
- ``GET /_sandbox/health`` → ``{"status": "ok"}``
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapter_sync.sandbox.auth import Principal
from adapter_sync.sandbox.contract import (
    COLLECTION_PATH,
    CONFLICT,
    CONNECTOR_INACTIVE,
    KIND_NOT_ACCEPTED,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    VALIDATION_ERROR,
)
from adapter_sync.sandbox.faults import FaultConfig, FaultConfigError, FaultDice
from adapter_sync.sandbox.gate import Gate
from adapter_sync.sandbox.ratelimit import Clock, RateLimiter
from adapter_sync.sandbox.store import ConnectorNotFound, DuplicateSourceName, Store
from adapter_sync.sandbox.validation import (
    SEED_FIELDS,
    Invalid,
    Issue,
    check_create,
    check_ingest,
    check_patch,
)

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class Sandbox:
    """Everything a running sandbox holds: the store, the fault dice and the rate limiter.

    ``clock`` (epoch seconds) drives the rate limiter; tests pass a fake one.
    """

    def __init__(self, db_path: str | os.PathLike[str], faults: FaultConfig | None = None,
                 *, clock: Clock = time.time) -> None:
        self.store = Store(db_path)
        self.initial_faults = faults or FaultConfig()  # what reset returns to
        self.dice = FaultDice(faults)
        self.limiter = RateLimiter(self.dice.config.limit_policy(), clock)

    @property
    def faults(self) -> FaultConfig:
        return self.dice.config

    def set_faults(self, config: FaultConfig) -> None:
        self.dice.configure(config)
        self.limiter.configure(config.limit_policy())

    def reset(self) -> None:
        """Empty the store; the faults go back to those the sandbox was started with."""
        self.store.reset()
        self.set_faults(self.initial_faults)

    def close(self) -> None:
        self.store.close()


def error(status: int, code: str, message: str, details: dict[str, Any] | None = None,
          headers: Mapping[str, str] | None = None) -> JSONResponse:
    """An error in the ``{"error", "message", "details"}`` shape."""
    return JSONResponse({"error": code, "message": message, "details": details or {}},
                        status_code=status, headers=headers)


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _invalid(request: Request, exc: Invalid) -> JSONResponse:
    issues = [issue.to_dict() for issue in exc.issues]
    if _sandbox(request).faults.error_shape == "fastapi":
        return JSONResponse({"detail": issues}, status_code=422)
    return error(422, VALIDATION_ERROR, str(exc), {"errors": issues})


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise Invalid([Issue(("body",), f"invalid JSON: {exc}", "value_error.jsondecode")]) \
            from exc


# -- the API -------------------------------------------------------------------------------------


async def list_connectors(request: Request) -> Response:
    raw = request.query_params.get("include_inactive", "false").lower()
    if raw not in _TRUE | _FALSE:
        return _invalid(request, Invalid([Issue(("query", "include_inactive"),
                                                "must be true or false", "type_error.bool")]))
    body = _sandbox(request).store.list_json(include_inactive=raw in _TRUE)
    return Response(body.encode(), media_type="application/json")


async def create_connector(request: Request) -> Response:
    try:
        fields = check_create(await _json_body(request))
    except Invalid as exc:
        return _invalid(request, exc)
    principal: Principal = request.state.principal
    try:
        doc = _sandbox(request).store.create(fields, {"type": "api_key", "id": principal.key_id})
    except DuplicateSourceName as exc:
        return error(409, CONFLICT, str(exc), {"source_name": exc.source_name})
    return JSONResponse(doc, status_code=201)


async def update_connector(request: Request) -> Response:
    connector_id = request.path_params["connector_id"]
    try:
        changes = check_patch(await _json_body(request))
    except Invalid as exc:
        return _invalid(request, exc)
    try:
        doc = _sandbox(request).store.update(connector_id, changes)
    except ConnectorNotFound as exc:
        return error(404, NOT_FOUND, str(exc))
    return JSONResponse(doc)


async def no_delete(request: Request) -> Response:
    return error(405, METHOD_NOT_ALLOWED,
                 "connectors cannot be deleted; deactivate with PATCH {\"is_active\": false}",
                 headers={"Allow": "PATCH"})


async def ingest(request: Request) -> Response:
    connector_id = request.path_params["connector_id"]
    typed = request.url.path.endswith("/typed")
    doc = _sandbox(request).store.get(connector_id)
    if doc is None:
        return error(404, NOT_FOUND, f"no custom connector with id {connector_id!r}")
    try:
        items = check_ingest(await _json_body(request), typed=typed)
    except Invalid as exc:
        return _invalid(request, exc)
    if not doc["is_active"]:
        return error(409, CONNECTOR_INACTIVE, "this connector is deactivated",
                     {"connector_id": connector_id})
    accepted = doc.get("accepted_kinds") or []
    for item in items:
        kind = item.get("kind", "custom")
        if accepted and kind not in accepted:
            return error(400, KIND_NOT_ACCEPTED,
                         f"kind {kind!r} is not accepted by this connector",
                         {"kind": kind, "accepted_kinds": accepted})
    external_ids = [item.get("external_id") or f"ext_{uuid.uuid4().hex}" for item in items]
    return JSONResponse({"status": "accepted", "events": len(items), "external_ids": external_ids})


# -- control -------------------------------------------------------------------------------------


async def get_faults(request: Request) -> Response:
    return JSONResponse(_sandbox(request).faults.to_dict())


async def set_faults(request: Request) -> Response:
    try:
        config = FaultConfig.from_dict(json.loads(await request.body() or b"{}"))
    except (ValueError, TypeError) as exc:  # FaultConfigError is a ValueError
        return error(422, VALIDATION_ERROR, str(exc))
    _sandbox(request).set_faults(config)
    return JSONResponse(config.to_dict())


async def reset(request: Request) -> Response:
    _sandbox(request).reset()
    return JSONResponse({"status": "reset"})


async def state(request: Request) -> Response:
    body = _sandbox(request).store.list_json(include_inactive=True)
    return Response(body.encode(), media_type="application/json")


async def seed(request: Request) -> Response:
    try:
        body = await _json_body(request)
        items = body.get("connectors") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise Invalid([Issue(("body", "connectors"), "must be a list", "type_error.list")])
        for item in items:
            check_create(item, allowed=SEED_FIELDS)
    except Invalid as exc:
        return error(422, VALIDATION_ERROR, str(exc),
                     {"errors": [i.to_dict() for i in exc.issues]})
    try:
        inserted = _sandbox(request).store.seed(items)
    except (DuplicateSourceName, sqlite3.IntegrityError) as exc:
        return error(409, CONFLICT, str(exc))
    return JSONResponse({"inserted": inserted})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


# -- the app -------------------------------------------------------------------------------------

_STATUS_CODES = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    return error(exc.status_code, code, str(exc.detail), headers=exc.headers)


def create_app(db_path: str | os.PathLike[str], *, faults: FaultConfig | None = None,
               clock: Clock = time.time) -> Starlette:
    """The sandbox as an ASGI app over the SQLite file ``db_path`` (created if missing).

    The app's :class:`Sandbox` is ``app.state.sandbox``; its store is closed at lifespan
    shutdown (or by :func:`adapter_sync.sandbox.inprocess.transport` when closed). ``clock``
    (epoch seconds) drives the rate limiter.
    """
    sandbox = Sandbox(db_path, faults, clock=clock)
    collection = COLLECTION_PATH

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            sandbox.close()

    routes = [
        Route(collection, list_connectors, methods=["GET"]),
        Route(collection, create_connector, methods=["POST"]),
        Route(collection + "/{connector_id}", update_connector, methods=["PATCH"]),
        Route(collection + "/{connector_id}", no_delete, methods=["DELETE"]),
        Route(collection + "/{connector_id}/ingest", ingest, methods=["POST"]),
        Route(collection + "/{connector_id}/ingest/typed", ingest, methods=["POST"]),
        Route("/_sandbox/faults", get_faults, methods=["GET"]),
        Route("/_sandbox/faults", set_faults, methods=["POST"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/state", state, methods=["GET"]),
        Route("/_sandbox/seed", seed, methods=["POST"]),
        Route("/_sandbox/health", health, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Gate, config=lambda: sandbox.faults, dice=sandbox.dice,
                               limiter=sandbox.limiter)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    return app


__all__ = ["FaultConfig", "FaultConfigError", "Sandbox", "create_app"]
