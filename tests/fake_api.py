"""An in-memory stand-in for the API client, for fast applier tests.

The sandbox is the faithful emulator; this fake only exists to script exact failure sequences
(a lost create, a 409 race, a 404) deterministically.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

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
