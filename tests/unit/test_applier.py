"""The applier against a scripted fake API: lost creates, races, failures, concurrency."""

from __future__ import annotations

import asyncio

from adapter_sync.applier import apply_plan
from adapter_sync.errors import ApiError
from adapter_sync.model import Desired, DesiredConnector, Live, LiveConnector
from adapter_sync.planner import plan
from fake_api import FakeClient


def _desired(*names: str, **kw) -> Desired:
    return Desired(connectors={
        n: DesiredConnector(source_name=n, name=n.upper(), metadata={"team": "x"}, **kw)
        for n in names
    })


def _converge(desired: Desired, client: FakeClient, **kw):
    p = plan(desired, Live.from_list(list(client.store.values())))
    result = asyncio.run(apply_plan(p, client, **kw))
    again = plan(desired, Live.from_list(list(client.store.values())))
    return result, again


def test_apply_creates_updates_and_replans_empty():
    client = FakeClient([LiveConnector("id-old", "b", "wrong"),
                         LiveConnector("id-c", "c", "C", is_active=False)])
    result, again = _converge(_desired("a", "b", "c"), client)
    assert result.ok and result.count("done") == 3
    assert again.actions == ()
    assert client.store["c"].is_active and client.store["b"].name == "B"


def test_lost_create_is_adopted_not_duplicated():
    client = FakeClient()
    client.lose_creates = {"a", "b"}
    result, again = _converge(_desired("a", "b", "c"), client)
    assert result.ok and again.actions == ()
    assert [c for c in client.calls if c[0] == "create"].count(("create", "a")) == 1
    notes = {o.action.source_name: o.message for o in result.outcomes}
    assert "lost" in notes["a"] and notes["c"] == ""


def test_create_that_never_happened_is_created_again_after_relisting():
    client = FakeClient()
    client.drop_creates = {"a"}
    result, again = _converge(_desired("a"), client)
    assert result.ok and again.actions == ()
    assert client.calls == [("create", "a"), ("list", ""), ("create", "a")]


def test_conflict_from_a_concurrent_run_is_adopted_and_reconciled():
    # another run created "a" between our plan and our POST, with other fields
    client = FakeClient()
    p = plan(_desired("a"), Live())
    client.store["a"] = LiveConnector("id-other", "a", "someone else's",
                                      metadata={"team": "y", "extra": "z"})
    result = asyncio.run(apply_plan(p, client))
    assert result.ok and "adopted" in result.outcomes[0].message
    assert client.store["a"].name == "A" and client.store["a"].metadata == {"team": "x"}
    assert result.outcomes[0].connector_id == "id-other"


def test_a_conflicting_connector_someone_deactivated_is_not_taken_over():
    # between the plan and the POST, another actor created "a" and deactivated it: live
    # changed, so this create is stale; it must not reactivate their connector
    client = FakeClient()
    p = plan(_desired("a"), Live())
    client.store["a"] = LiveConnector("id-other", "a", "theirs", is_active=False)
    result = asyncio.run(apply_plan(p, client))
    (o,) = result.outcomes
    assert o.status == "failed" and "inactive" in o.message and "run plan again" in o.message
    assert client.store["a"] == LiveConnector("id-other", "a", "theirs", is_active=False)
    assert [c for c in client.calls if c[0] == "update"] == []


def test_a_409_that_is_not_about_the_slug_shows_the_servers_message():
    client = FakeClient()
    client.fail = {"a": ApiError("create 'a': a connector named 'A' exists (HTTP 409 conflict)",
                                 status=409)}
    result = asyncio.run(apply_plan(plan(_desired("a"), Live()), client))
    (o,) = result.outcomes
    assert o.status == "failed" and "a connector named 'A' exists" in o.message
    assert [c[0] for c in client.calls] == ["create", "list"]  # no blind retries


def test_a_create_whose_outcome_stays_unknown_backs_off_honours_attempts_and_says_why():
    from adapter_sync.errors import OutcomeUnknown

    client = FakeClient()
    client.fail = {"a": OutcomeUnknown("create 'a': the answer was lost (server error (503: "
                                       "writes are paused))", status=503)}
    waits: list[int] = []
    result = asyncio.run(apply_plan(plan(_desired("a"), Live()), client, attempts=3,
                                    backoff=lambda n: waits.append(n) or 0.0))
    (o,) = result.outcomes
    assert o.status == "failed" and "writes are paused" in o.message
    assert "not created after 3 attempts" in o.message
    assert [c[0] for c in client.calls].count("create") == 3 and waits == [1, 2]


def test_a_refused_key_halts_the_apply_and_is_reported_once():
    client = FakeClient()
    refused = ApiError("create: permission denied (HTTP 403): the API key lacks the scope(s) "
                       "connectors:write", status=403)
    client.fail = {n: refused for n in ("a", "b", "c", "d", "e", "f")}
    result = asyncio.run(apply_plan(plan(_desired("a", "b", "c", "d", "e", "f"), Live()),
                                    client, concurrency=2))
    assert not result.ok and "connectors:write" in result.halted
    # only the calls already in flight (at most the concurrency) fail; no new one starts
    assert 1 <= result.count("failed") <= 2 and result.count("skipped") >= 4
    assert sum("connectors:write" in o.message for o in result.outcomes) == 1


def test_one_failure_does_not_stop_the_others_and_rerun_finishes():
    client = FakeClient()
    client.fail = {"b": ApiError("b: invalid name", status=422)}
    result, _ = _converge(_desired("a", "b", "c"), client)
    assert not result.ok
    status = {o.action.source_name: (o.status, o.message) for o in result.outcomes}
    assert status["a"][0] == status["c"][0] == "done"
    assert status["b"] == ("failed", "b: invalid name")
    client.fail = {}
    result, again = _converge(_desired("a", "b", "c"), client)
    assert result.ok and again.actions == ()


def test_vanished_connector_update_fails_cleanly():
    client = FakeClient([LiveConnector("id-a", "a", "old")])
    p = plan(_desired("a"), Live.from_list(list(client.store.values())))
    client.store.clear()
    result = asyncio.run(apply_plan(p, client))
    (o,) = result.outcomes
    assert o.status == "failed" and "not found" in o.message


def test_many_lost_creates_share_few_relists():
    client = FakeClient()
    names = [f"c{i}" for i in range(40)]
    client.lose_creates = set(names)
    result, again = _converge(_desired(*names), client, concurrency=8)
    assert result.ok and again.actions == ()
    lists = sum(1 for c in client.calls if c[0] == "list")
    assert lists < len(names) / 2  # coalesced, not one GET per lost create


def test_concurrency_is_bounded():
    in_flight = peak = 0

    class Slow(FakeClient):
        async def create(self, body):
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.001)
            in_flight -= 1
            return await super().create(body)

    client = Slow()
    result, _ = _converge(_desired(*(f"c{i}" for i in range(30))), client, concurrency=3)
    assert result.ok and peak == 3


def test_a_saved_create_that_declares_only_a_name_survives_a_409(tmp_path):
    import json

    from adapter_sync.planfile import load

    path = tmp_path / "plan.json"
    path.write_text(json.dumps({
        "format_version": "2.0", "kind": "adapter-sync-plan", "tool_version": "0",
        "summary": {"create": 1, "update": 0, "reactivate": 0, "deactivate": 0, "total": 1},
        "has_changes": True, "prune": False, "live_active": 0, "unmanaged": [],
        "protected": [], "drift_resolved": [], "policy": [], "estimate": None,
        "safety": {"needs_force": False, "blocked": False, "findings": [],
                   "rules": {"max_deactivate_percent": 30, "min_active": 10}},
        "provenance": {"api_url": "https://x/v1", "selection": {"include": [], "exclude": []},
                       "base": None, "config_digest": "", "live_digest": ""},
        "actions": [{"action": "create", "source_name": "a", "connector_id": None,
                     "cause": None, "origin": None, "live": None,
                     "changes": {"name": {"before": None, "after": "A"}},
                     "desired": {"name": "A"}}]}))
    saved = load(str(path)).plan
    client = FakeClient([LiveConnector("id-9", "a", "made meanwhile", metadata={"k": "v"})])
    result = asyncio.run(apply_plan(saved, client))
    assert result.ok, result.outcomes
    assert client.store["a"].name == "A" and client.store["a"].metadata == {}
