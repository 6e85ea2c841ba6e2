"""The API client against the sandbox: in-process and over real HTTP, with and without faults."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from adapter_sync.client import AdapterClient, make_client
from adapter_sync.engine import Engine, Settings
from adapter_sync.errors import ApiError, OutcomeUnknown
from adapter_sync.sandbox.inprocess import BASE_URL, SANDBOX_KEY

KEY = "pk_live_test"
FAST = {"backoff_base": 0.001, "backoff_cap": 0.01}


class Backend:
    """One way of reaching a sandbox: ``.client()`` builds an AdapterClient on it."""

    def __init__(self, kind: str, handle: Any) -> None:
        self.kind = kind
        self.handle = handle

    def client(self, key: str | None = KEY, **kw: Any) -> AdapterClient:
        kw = {**FAST, **kw}
        if self.kind == "inprocess":
            return make_client(BASE_URL, key or SANDBOX_KEY, transport=self.handle.transport,
                               **kw)
        return make_client(self.handle.url, key, **kw)

    def set_faults(self, **faults: Any) -> None:
        self.handle.set_faults(**faults)

    def state(self) -> dict[str, dict[str, Any]]:
        return {c["source_name"]: c for c in self.handle.state()}


@pytest.fixture(params=["inprocess", "http"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "inprocess":
        return Backend("inprocess", request.getfixturevalue("sandbox_app"))
    return Backend("http", request.getfixturevalue("reused_sandbox_server"))


def run(client: AdapterClient, fn: Callable[[AdapterClient], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with client as c:
            return await fn(c)

    return asyncio.run(main())


def new(source_name: str, **extra: Any) -> dict[str, Any]:
    return {"source_name": source_name, "name": source_name.title(), **extra}


# --------------------------------------------------------------------------- the happy path


def test_create_list_update_deactivate_reactivate(backend: Backend) -> None:
    async def lifecycle(c: AdapterClient) -> dict[str, Any]:
        made = await c.create(new("crm-events", accepted_kinds=["email", "page"],
                                  metadata={"team": "growth"}))
        listed = await c.list_connectors()
        updated = await c.update(made.connector_id,
                                 {"name": "CRM", "accepted_kinds": ["issue"],
                                  "metadata": {"owner": "ops"}}, source_name="crm-events")
        off = await c.update(made.connector_id, {"is_active": False}, source_name="crm-events")
        active_only = await c.list_connectors(include_inactive=False)
        everything = await c.list_connectors()
        on = await c.update(made.connector_id, {"is_active": True}, source_name="crm-events")
        return locals()

    r = run(backend.client(), lifecycle)
    made = r["made"]
    assert made.source_name == "crm-events" and made.is_active
    assert made.accepted_kinds == {"email", "page"} and made.metadata == {"team": "growth"}
    assert [c.connector_id for c in r["listed"]] == [made.connector_id]
    assert r["updated"].name == "CRM" and r["updated"].accepted_kinds == {"issue"}
    assert r["updated"].metadata == {"owner": "ops"}  # the map is replaced, not merged
    assert r["off"].is_active is False
    assert r["active_only"] == []
    assert [c.is_active for c in r["everything"]] == [False]
    assert r["on"].is_active is True
    assert backend.state()["crm-events"]["is_active"] is True


def test_server_refusals_are_clear(backend: Backend) -> None:
    async def refusals(c: AdapterClient) -> list[ApiError]:
        made = await c.create(new("dup"))
        errors = []
        for call in (c.create(new("dup")),
                     c.create(new("Bad_Slug", metadata={"n": 1})),
                     c.update("no-such-id", {"name": "x"}, source_name="ghost")):
            try:
                await call
            except ApiError as exc:
                errors.append(exc)
        assert made.source_name == "dup"
        return errors

    dup, invalid, missing = run(backend.client(), refusals)
    assert dup.status == 409 and "'dup'" in str(dup) and dup.request_id
    assert invalid.status in (400, 422) and "Bad_Slug" in str(invalid)
    assert "metadata" in str(invalid)
    assert missing.status == 404 and "ghost" in str(missing)


def test_fastapi_shaped_validation_errors(backend: Backend) -> None:
    backend.set_faults(error_shape="fastapi")
    with pytest.raises(ApiError) as info:
        run(backend.client(), lambda c: c.create(new("ok-slug", metadata={"n": 1})))
    assert info.value.status in (400, 422) and "metadata" in str(info.value)
    assert "ok-slug" in str(info.value)


def test_read_only_key_names_the_missing_scope(backend: Backend) -> None:
    with pytest.raises(ApiError) as info:
        run(backend.client(key="pk_live_ro_viewer"), lambda c: c.create(new("ro")))
    assert info.value.status == 403 and "lacks the scope" in str(info.value)
    assert run(backend.client(key="pk_live_ro_viewer"), lambda c: c.list_connectors()) == []


def test_bad_key_is_an_authentication_error(backend: Backend) -> None:
    with pytest.raises(ApiError, match="ADAPTER_API_KEY") as info:
        run(backend.client(key="sk_wrong_kind"), lambda c: c.list_connectors())
    assert info.value.status == 401


# --------------------------------------------------------------------------- faults survived


def test_5xx_and_429_are_survived_by_reads_and_patches(backend: Backend) -> None:
    made = run(backend.client(), lambda c: c.create(new("flaky")))
    backend.set_faults(error_rate=0.4, rate_limit_rate=0.3, retry_after=0, seed=7)

    async def busy(c: AdapterClient) -> list[Any]:
        results = []
        for i in range(10):
            results.append(await c.list_connectors())
            results.append(await c.update(made.connector_id, {"name": f"Flaky {i}"},
                                          source_name="flaky"))
        return results

    results = run(backend.client(max_attempts=30), busy)
    assert results[-1].name == "Flaky 9"
    backend.set_faults()
    assert backend.state()["flaky"]["name"] == "Flaky 9"


def test_creates_survive_rate_limits(backend: Backend) -> None:
    backend.set_faults(rate_limit_rate=0.5, retry_after=0, seed=3)

    async def creates(c: AdapterClient) -> list[Any]:
        return [await c.create(new(f"c{i}")) for i in range(8)]

    made = run(backend.client(max_attempts=30), creates)
    backend.set_faults()
    assert sorted(c.source_name for c in made) == sorted(backend.state())


def test_latency_is_survived(backend: Backend) -> None:
    backend.set_faults(latency=0.05)
    made = run(backend.client(), lambda c: c.create(new("slow")))
    assert made.source_name == "slow"
    assert [c.source_name for c in run(backend.client(), lambda c: c.list_connectors())] == [
        "slow"]


def test_permanent_rate_limit_is_reported_after_the_attempts(backend: Backend) -> None:
    backend.set_faults(rate_limit_rate=1.0, retry_after=0)
    with pytest.raises(ApiError, match=r"rate limited \(429\) after 3 attempts") as info:
        run(backend.client(max_attempts=3), lambda c: c.list_connectors())
    assert info.value.status == 429


def test_retry_after_past_the_deadline_fails_without_waiting(backend: Backend) -> None:
    backend.set_faults(rate_limit_rate=1.0, retry_after=30)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with pytest.raises(ApiError, match="would pass the 5s deadline"):
        run(backend.client(deadline=5, sleep=sleep), lambda c: c.list_connectors())
    assert slept == []


def test_permanent_server_errors_are_reported_after_the_attempts(backend: Backend) -> None:
    backend.set_faults(error_rate=1.0)
    with pytest.raises(ApiError, match=r"server error \(50[023].*after 4 attempts"):
        run(backend.client(max_attempts=4), lambda c: c.list_connectors())


# --------------------------------------------------------------------------- faults reported


def test_lost_create_is_outcome_unknown_and_the_connector_exists(backend: Backend) -> None:
    backend.set_faults(drop_rate=1.0)
    with pytest.raises(OutcomeUnknown, match="create 'lost-one'"):
        run(backend.client(), lambda c: c.create(new("lost-one")))
    backend.set_faults()
    live = run(backend.client(), lambda c: c.list_connectors())
    assert [c.source_name for c in live] == ["lost-one"]  # committed, answered by a drop


def test_create_answered_by_5xx_is_outcome_unknown_and_not_resent(backend: Backend) -> None:
    backend.set_faults(error_rate=1.0)
    with pytest.raises(OutcomeUnknown, match="may or may not"):
        run(backend.client(), lambda c: c.create(new("maybe")))
    backend.set_faults()
    # the sandbox commits nothing on an injected 5xx; the client could not know that
    assert run(backend.client(), lambda c: c.list_connectors()) == []


def test_dropped_patches_are_retried(backend: Backend) -> None:
    made = run(backend.client(), lambda c: c.create(new("dropme")))
    backend.set_faults(drop_rate=0.5, seed=11)

    async def patches(c: AdapterClient) -> Any:
        for i in range(6):
            last = await c.update(made.connector_id, {"name": f"D{i}"}, source_name="dropme")
        return last

    assert run(backend.client(max_attempts=30), patches).name == "D5"


def test_dropped_reads_are_reported_after_the_attempts(backend: Backend) -> None:
    backend.set_faults(drop_rate=1.0)
    with pytest.raises(ApiError, match=r"connection lost.*after 3 attempts") as info:
        run(backend.client(max_attempts=3), lambda c: c.list_connectors())
    assert not isinstance(info.value, OutcomeUnknown)


# --------------------------------------------------------------------------- HTTP only


def test_many_concurrent_calls_share_one_pool(reused_sandbox_server: Any) -> None:
    reused_sandbox_server.set_faults(latency=0.02)

    async def many(c: AdapterClient) -> list[Any]:
        made = await asyncio.gather(*(c.create(new(f"p{i:03d}")) for i in range(150)))
        assert len({m.connector_id for m in made}) == 150
        return await c.list_connectors()

    live = run(make_client(reused_sandbox_server.url, KEY, timeout=10, **FAST), many)
    assert len(live) == 150


def test_read_timeout_is_retried_for_reads_and_unknown_for_creates(start_sandbox: Any) -> None:
    server = start_sandbox(latency=0.5)
    with pytest.raises(ApiError, match=r"timed out.*after 2 attempts") as info:
        run(make_client(server.url, KEY, timeout=0.1, max_attempts=2, **FAST),
            lambda c: c.list_connectors())
    assert not isinstance(info.value, OutcomeUnknown)
    with pytest.raises(OutcomeUnknown, match="create 'slowpoke'.*timed out"):
        run(make_client(server.url, KEY, timeout=0.1, **FAST),
            lambda c: c.create(new("slowpoke")))


def test_closed_server_is_a_connection_error(start_sandbox: Any) -> None:
    server = start_sandbox()
    url = server.url
    server.stop()
    with pytest.raises(ApiError, match=r"connection failed.*after 2 attempts"):
        run(make_client(url, KEY, max_attempts=2, **FAST), lambda c: c.create(new("x")))


# --------------------------------------------------------------------------- sandbox: URLs


def sandbox_client(url: str) -> AdapterClient:
    """The client the engine wires for a ``sandbox:`` URL (no key given)."""
    return Engine(Settings(api_url=url)).connect()


def test_sandbox_url_persists_in_its_db_without_a_key(tmp_path: Path) -> None:
    db = tmp_path / "state" / "sb.db"
    run(sandbox_client(f"sandbox:{db}"), lambda c: c.create(new("kept")))
    live = run(sandbox_client(f"sandbox:{db}"), lambda c: c.list_connectors())
    assert [c.source_name for c in live] == ["kept"] and db.exists()


def test_bare_sandbox_url_uses_one_stable_state_whichever_folder_it_runs_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    monkeypatch.chdir(tmp_path / "one")
    run(sandbox_client("sandbox:"), lambda c: c.create(new("here")))
    monkeypatch.chdir(tmp_path / "two")
    live = run(sandbox_client("sandbox:"), lambda c: c.list_connectors())
    assert [c.source_name for c in live] == ["here"]
    assert (tmp_path / "state" / "adapter-sync" / "sandbox.db").exists()
    assert Engine(Settings(api_url="sandbox:")).sandbox_db == str(
        tmp_path / "state" / "adapter-sync" / "sandbox.db")
