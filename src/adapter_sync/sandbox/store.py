"""The sandbox's state: custom connectors in one SQLite file (stdlib sqlite3, WAL).

Each row keeps the connector's JSON document next to the columns that are queried
(``source_name`` unique, ``is_active``), so listing is one query and a string join: no per-row
decoding. One connection guarded by a lock serves every request (calls are short: sub-millisecond
writes, ~tens of ms to list 50k), which keeps uniqueness checks and read-modify-write patches
atomic under concurrent requests. Data survives a restart: every write is committed before it
returns.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def default_db() -> str:
    """Where the sandbox keeps its state unless told otherwise: one stable path per user,
    whichever folder a command runs from (``$XDG_STATE_HOME/adapter-sync/sandbox.db``, else
    ``~/.local/state/adapter-sync/sandbox.db``). Defined here only, re-exported by
    :mod:`adapter_sync.sandbox.inprocess`."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return os.path.join(os.path.abspath(state), "adapter-sync", "sandbox.db")

def is_store(path: str | os.PathLike[str]) -> bool:
    """Whether the existing file ``path`` is a sandbox database (an SQLite file with the
    sandbox's ``connectors`` table), checked read-only: opening it as a :class:`Store` would
    add that table to any SQLite file."""
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except (sqlite3.Error, ValueError, OSError):
        return False
    try:
        row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                           "AND name = 'connectors'").fetchone()
    except sqlite3.Error:  # not a database at all
        return False
    finally:
        conn.close()
    return row is not None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS connectors (
    seq INTEGER PRIMARY KEY,
    connector_id TEXT NOT NULL UNIQUE,
    source_name TEXT NOT NULL UNIQUE,
    is_active INTEGER NOT NULL,
    doc TEXT NOT NULL
)
"""


class DuplicateSourceName(Exception):
    """A connector with this source_name exists already (active or not)."""

    def __init__(self, source_name: str) -> None:
        super().__init__(f"a connector with source_name {source_name!r} already exists")
        self.source_name = source_name


class ConnectorNotFound(Exception):
    """No connector has this id."""

    def __init__(self, connector_id: str) -> None:
        super().__init__(f"no custom connector with id {connector_id!r}")
        self.connector_id = connector_id


def utc_now() -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``, e.g. ``2025-01-31T12:00:00.123Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


class Store:
    """Connectors in SQLite. Thread-safe; every method is one short transaction."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open (or create, with its folder) the database at ``path``; ``":memory:"`` works.

        A path that cannot hold the database raises :class:`OSError` (folder cannot be made,
        a NUL byte in the path) or :class:`sqlite3.Error` (a folder, or a file that is not a
        database), and leaves nothing open.
        """
        self.path = Path(path)
        if "\0" in str(path):  # sqlite3 and pathlib would raise ValueError
            raise OSError(errno.EINVAL, "a NUL byte in the database path", str(path))
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        try:
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- reads ---------------------------------------------------------------------------------

    def list_json(self, include_inactive: bool = False) -> str:
        """The JSON array of connectors in creation order, built without decoding any row."""
        where = "" if include_inactive else " WHERE is_active = 1"
        with self._lock:
            rows = self._conn.execute(f"SELECT doc FROM connectors{where} ORDER BY seq").fetchall()
        return "[" + ",".join([row[0] for row in rows]) + "]"

    def all(self) -> list[dict[str, Any]]:
        """Every connector, inactive ones included, in creation order."""
        connectors: list[dict[str, Any]] = json.loads(self.list_json(include_inactive=True))
        return connectors

    def get(self, connector_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT doc FROM connectors WHERE connector_id = ?", (connector_id,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM connectors").fetchone()[0])

    # -- writes --------------------------------------------------------------------------------

    def create(self, fields: Mapping[str, Any], created_by: Mapping[str, Any]) -> dict[str, Any]:
        """Insert a connector from validated POST fields; returns the stored document."""
        doc = {
            "connector_id": str(uuid.uuid4()),
            "name": fields["name"],
            "source_name": fields["source_name"],
            "created_at": utc_now(),
            "created_by": dict(created_by),
            "is_active": True,
            "accepted_kinds": list(fields.get("accepted_kinds") or []),
            "metadata": dict(fields.get("metadata") or {}),
        }
        self._insert([doc])
        return doc

    def seed(self, connectors: Iterable[Mapping[str, Any]]) -> int:
        """Bulk-insert validated connectors in one transaction (all or nothing).

        Each item has the POST fields plus optional ``is_active``, ``connector_id``,
        ``created_at`` and ``created_by``; missing ones are filled in as a create would.
        """
        now = utc_now()
        docs = [
            {
                "connector_id": str(item.get("connector_id") or uuid.uuid4()),
                "name": item["name"],
                "source_name": item["source_name"],
                "created_at": item.get("created_at") or now,
                "created_by": dict(item.get("created_by") or {"type": "user", "id": "usr_seed"}),
                "is_active": item.get("is_active") is not False,
                "accepted_kinds": list(item.get("accepted_kinds") or []),
                "metadata": dict(item.get("metadata") or {}),
            }
            for item in connectors
        ]
        self._insert(docs)
        return len(docs)

    def _insert(self, docs: list[dict[str, Any]]) -> None:
        rows = [
            (d["connector_id"], d["source_name"], int(d["is_active"]), _dumps(d)) for d in docs
        ]
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(
                    "INSERT INTO connectors (connector_id, source_name, is_active, doc) "
                    "VALUES (?, ?, ?, ?)",
                    rows,
                )
                self._conn.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                self._conn.execute("ROLLBACK")
                duplicate = self._duplicate(docs) if "source_name" in str(exc) else None
                if duplicate is None:
                    raise
                raise duplicate from exc
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _duplicate(self, docs: list[dict[str, Any]]) -> DuplicateSourceName:
        names = [d["source_name"] for d in docs]
        seen: set[str] = set()
        for name in names:  # a duplicate inside the batch, or one already stored
            if name in seen:
                return DuplicateSourceName(name)
            seen.add(name)
        stored = {row[0] for row in self._conn.execute("SELECT source_name FROM connectors")}
        for name in names:
            if name in stored:
                return DuplicateSourceName(name)
        return DuplicateSourceName(names[0])

    def update(self, connector_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply validated PATCH fields (metadata replaces the whole map); returns the document."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute(
                    "SELECT doc FROM connectors WHERE connector_id = ?", (connector_id,)
                ).fetchone()
                if row is None:
                    raise ConnectorNotFound(connector_id)
                doc: dict[str, Any] = json.loads(row[0])
                for key in ("name", "is_active"):
                    if key in changes:
                        doc[key] = changes[key]
                if "accepted_kinds" in changes:
                    doc["accepted_kinds"] = list(changes["accepted_kinds"])
                if "metadata" in changes:
                    doc["metadata"] = dict(changes["metadata"])
                self._conn.execute(
                    "UPDATE connectors SET is_active = ?, doc = ? WHERE connector_id = ?",
                    (int(doc["is_active"]), _dumps(doc), connector_id),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return doc

    def reset(self) -> None:
        """Remove every connector."""
        with self._lock:
            self._conn.execute("DELETE FROM connectors")
