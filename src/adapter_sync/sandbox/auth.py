"""API keys in the sandbox: any ``Bearer pk_live_...`` key is accepted; its prefix picks its scopes.

Conventions (the real service decides scopes per key in its console; the sandbox encodes them in
the key so tests can reach every answer):

- no ``Authorization: Bearer pk_live_<something>`` header → 401 ``authentication_error``;
- ``pk_live_revoked_...`` → 401 ``authentication_error`` (a revoked key);
- ``pk_live_ro_...`` → scopes ``connectors:read`` only: writes answer 403 ``insufficient_scopes``;
- ``pk_live_noscope_...`` → no scopes at all: every call answers 403;
- any other ``pk_live_...`` key (e.g. the built-in ``pk_live_sandbox``) → every scope.

The key itself is never stored: ``created_by.id`` is a UUID derived from it (a stand-in key id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from adapter_sync.sandbox.contract import KEY_PREFIX

#: The sandbox's built-in key, defined here only: what a client sends to an in-process sandbox
#: when no key is set (re-exported by :mod:`adapter_sync.sandbox.inprocess`).
SANDBOX_KEY = KEY_PREFIX + "sandbox"
ALL_SCOPES: frozenset[str] = frozenset({"connectors:read", "connectors:write", "events:write"})
_KEY_NAMESPACE = uuid.UUID("6f1d3c55-7a0e-4b8e-9a52-3c1f4e9b2d10")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a stand-in key id (UUID) and the scopes the key carries."""

    key_id: str
    scopes: frozenset[str]


class AuthError(Exception):
    """401 (``missing_scopes`` empty) or 403 ``insufficient_scopes``."""

    def __init__(self, status: int, message: str, missing_scopes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.missing_scopes = missing_scopes


def authenticate(authorization: str | None) -> Principal:
    """The principal behind an ``Authorization`` header value, or :class:`AuthError` (401)."""
    if not authorization:
        raise AuthError(401, "missing API key: send 'Authorization: Bearer pk_live_...'")
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key.startswith(KEY_PREFIX) or len(key) <= len(KEY_PREFIX):
        raise AuthError(401, "invalid API key: expected 'Authorization: Bearer pk_live_...'")
    if key.startswith(KEY_PREFIX + "revoked_"):
        raise AuthError(401, "this API key has been revoked")
    if key.startswith(KEY_PREFIX + "ro_"):
        scopes = frozenset({"connectors:read"})
    elif key.startswith(KEY_PREFIX + "noscope_"):
        scopes = frozenset()
    else:
        scopes = ALL_SCOPES
    return Principal(str(uuid.uuid5(_KEY_NAMESPACE, key)), scopes)


def required_scope(method: str, path: str) -> str:
    """The scope a call needs: reads need connectors:read, ingest events:write."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return "connectors:read"
    if "/ingest" in path:
        return "events:write"
    return "connectors:write"


def authorize(principal: Principal, method: str, path: str) -> None:
    """Raise a 403 :class:`AuthError` when the key lacks the scope of this call."""
    scope = required_scope(method, path)
    if scope not in principal.scopes:
        raise AuthError(403, f"this API key lacks the scope {scope}", (scope,))
