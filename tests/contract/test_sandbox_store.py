"""The sandbox store: SQLite state, uniqueness, PATCH semantics, bulk seed, restarts, threads."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapter_sync.sandbox.store import ConnectorNotFound, DuplicateSourceName, Store

BY = {"type": "api_key", "id": "key-1"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "nested" / "sandbox.db")
    yield store
    store.close()


def make(store: Store, slug: str, **fields) -> dict:
    return store.create({"name": slug.title(), "source_name": slug, **fields}, BY)


def test_create_fills_server_fields_and_lists_in_creation_order(store: Store) -> None:
    first = make(store, "crm", accepted_kinds=["email"], metadata={"env": "prod"})
    second = make(store, "wiki")
    assert uuid.UUID(first["connector_id"]).version == 4
    assert first["connector_id"] != second["connector_id"]
    assert first["created_by"] == BY and first["is_active"] is True
    assert first["created_at"].endswith("Z")
    assert second["accepted_kinds"] == [] and second["metadata"] == {}
    assert json.loads(store.list_json()) == [first, second]
    assert store.get(first["connector_id"]) == first
    assert store.get(str(uuid.uuid4())) is None


def test_list_filters_inactive_unless_asked(store: Store) -> None:
    live = make(store, "live")
    gone = make(store, "gone")
    store.update(gone["connector_id"], {"is_active": False})
    assert json.loads(store.list_json()) == [live]
    assert [c["source_name"] for c in json.loads(store.list_json(include_inactive=True))] == \
        ["live", "gone"]


def test_empty_store_lists_an_empty_array(store: Store) -> None:
    assert store.list_json() == "[]" and store.all() == [] and store.count() == 0


def test_source_name_is_unique_including_inactive(store: Store) -> None:
    created = make(store, "crm")
    with pytest.raises(DuplicateSourceName):
        make(store, "crm")
    store.update(created["connector_id"], {"is_active": False})
    with pytest.raises(DuplicateSourceName) as caught:
        make(store, "crm")
    assert caught.value.source_name == "crm"
    assert store.count() == 1


def test_update_changes_only_given_fields_and_replaces_metadata(store: Store) -> None:
    created = make(store, "crm", accepted_kinds=["email"], metadata={"env": "prod", "team": "a"})
    updated = store.update(created["connector_id"], {"metadata": {"tier": "gold"}})
    assert updated == {**created, "metadata": {"tier": "gold"}}
    renamed = store.update(created["connector_id"], {"name": "CRM", "accepted_kinds": []})
    assert renamed == {**updated, "name": "CRM", "accepted_kinds": []}
    assert store.update(created["connector_id"], {}) == renamed
    assert store.all() == [renamed]


def test_update_of_an_unknown_id_raises_and_leaves_no_transaction_open(store: Store) -> None:
    with pytest.raises(ConnectorNotFound):
        store.update(str(uuid.uuid4()), {"name": "x"})
    assert make(store, "after")["source_name"] == "after"


def test_seed_is_all_or_nothing(store: Store) -> None:
    make(store, "taken")
    with pytest.raises(DuplicateSourceName) as against_stored:
        store.seed([{"name": "A", "source_name": "a"}, {"name": "T", "source_name": "taken"}])
    assert against_stored.value.source_name == "taken"
    with pytest.raises(DuplicateSourceName) as within_batch:
        store.seed([{"name": "B", "source_name": "b"}, {"name": "B", "source_name": "b"}])
    assert within_batch.value.source_name == "b"
    assert [c["source_name"] for c in store.all()] == ["taken"]


def test_seed_keeps_given_fields_and_fills_the_rest(store: Store) -> None:
    fixed_id = str(uuid.uuid4())
    assert store.seed([
        {"name": "A", "source_name": "a", "connector_id": fixed_id, "is_active": False,
         "created_at": "2024-01-02T03:04:05Z", "metadata": {"k": "v"}},
        {"name": "B", "source_name": "b"},
    ]) == 2
    a, b = store.all()
    assert a == {"connector_id": fixed_id, "name": "A", "source_name": "a",
                 "created_at": "2024-01-02T03:04:05Z", "created_by": a["created_by"],
                 "is_active": False, "accepted_kinds": [], "metadata": {"k": "v"}}
    assert b["is_active"] is True and uuid.UUID(b["connector_id"])
    assert json.loads(store.list_json()) == [b]


def test_a_large_listing_is_one_valid_json_array(store: Store) -> None:
    store.seed({"name": f"Connector {i}", "source_name": f"c-{i}", "metadata": {"i": str(i)}}
               for i in range(10_000))
    listed = json.loads(store.list_json())
    assert len(listed) == 10_000
    assert listed[-1]["metadata"] == {"i": "9999"}


def test_unicode_survives_the_round_trip(store: Store) -> None:
    created = make(store, "intl", metadata={"owner": "Zoë ☃", "note": 'quote " and \\'})
    assert json.loads(store.list_json()) == [created]
    assert created["metadata"]["owner"] == "Zoë ☃"


def test_state_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    first = Store(path)
    created = make(first, "crm")
    first.update(created["connector_id"], {"is_active": False})
    first.close()
    again = Store(path)
    try:
        assert again.all() == [{**created, "is_active": False}]
        with pytest.raises(DuplicateSourceName):
            make(again, "crm")
    finally:
        again.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reset_empties_the_store(store: Store) -> None:
    make(store, "crm")
    store.reset()
    assert store.all() == []
    make(store, "crm")  # the name is free again


def test_threads_creating_one_source_name_make_exactly_one(store: Store) -> None:
    results: list[str] = []
    barrier = threading.Barrier(12)

    def create() -> None:
        barrier.wait()
        try:
            make(store, "same")
            results.append("created")
        except DuplicateSourceName:
            results.append("duplicate")

    threads = [threading.Thread(target=create) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["created"] + ["duplicate"] * 11
    assert store.count() == 1


def test_threads_writing_and_reading_lose_nothing(store: Store) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(50):
                created = make(store, f"w{worker}-{i}")
                store.update(created["connector_id"], {"metadata": {"w": str(worker)}})
                json.loads(store.list_json(include_inactive=True))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    everything = store.all()
    assert len(everything) == 300
    assert all(c["metadata"] == {"w": c["source_name"][1:].split("-")[0]} for c in everything)


def _not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 200)
    return path


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "file").write_text("")
    return tmp_path / "file" / "sandbox.db"


@pytest.mark.parametrize("bad_path, error", [
    (lambda tmp: tmp, sqlite3.Error),  # a folder
    (_not_a_database, sqlite3.Error),
    (_under_a_file, OSError),
    (lambda tmp: str(tmp / "nul\0byte.db"), OSError),
], ids=["folder", "not-a-database", "under-a-file", "nul-byte"])
def test_a_path_that_cannot_hold_the_database_raises_oserror_or_sqlite_error(
        tmp_path: Path, bad_path, error: type[Exception]) -> None:
    from adapter_sync.sandbox import inprocess

    path = bad_path(tmp_path)
    with pytest.raises(error):
        Store(path)
    with pytest.raises(error):  # the interface the engine uses for sandbox:PATH
        inprocess.transport(path)
