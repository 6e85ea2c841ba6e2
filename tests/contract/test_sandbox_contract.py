"""The sandbox against adapter-api.md: the same cases in-process and over TCP (a real server)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from conftest import API_KEY, InProcessSandbox, SandboxProcess

COLLECTION = "/custom-connectors"
_UNSET: Any = object()


class Target:
    """One way to reach the sandbox, with a sync facade over httpx.AsyncClient."""

    def __init__(self, mode: str, handle: InProcessSandbox | SandboxProcess) -> None:
        self.mode = mode
        self.handle = handle
        self._sync = httpx.Client(timeout=30, verify=False)  # plain http: skip loading CA certs

    def close(self) -> None:
        self._sync.close()

    def client(self, key: str | None = API_KEY) -> httpx.AsyncClient:
        if isinstance(self.handle, InProcessSandbox):
            return self.handle.client(key)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.handle.url, headers=headers, timeout=30,
                                 verify=False)

    async def _send(self, client: httpx.AsyncClient, method: str, path: str, body: Any,
                    params: dict[str, str] | None, content: bytes | None) -> httpx.Response:
        kwargs: dict[str, Any] = {"params": params}
        if content is not None:
            kwargs["content"] = content
            kwargs["headers"] = {"content-type": "application/json"}
        elif body is not _UNSET:
            kwargs["json"] = body
        return await client.request(method, path, **kwargs)

    def call(self, method: str, path: str = COLLECTION, body: Any = _UNSET, *,
             key: str | None = API_KEY, params: dict[str, str] | None = None,
             content: bytes | None = None) -> httpx.Response:
        if isinstance(self.handle, SandboxProcess):  # a sync client: no event loop per call
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            kwargs: dict[str, Any] = {"params": params, "headers": headers}
            if content is not None:
                kwargs["content"] = content
                headers["content-type"] = "application/json"
            elif body is not _UNSET:
                kwargs["json"] = body
            return self._sync.request(method, self.handle.url + path, **kwargs)

        async def run() -> httpx.Response:
            async with self.client(key) as client:
                return await self._send(client, method, path, body, params, content)

        return asyncio.run(run())

    def gather(self, calls: Sequence[tuple[str, str, Any]],
               key: str = API_KEY) -> list[httpx.Response | BaseException]:
        async def run() -> list[httpx.Response | BaseException]:
            async with self.client(key) as client:
                return await asyncio.gather(
                    *(self._send(client, m, p, b, None, None) for m, p, b in calls),
                    return_exceptions=True,
                )

        return asyncio.run(run())

    def create(self, source_name: str, **fields: Any) -> dict[str, Any]:
        response = self.call("POST", body={"name": source_name.upper(),
                                           "source_name": source_name, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    def listing(self, include_inactive: bool | None = None) -> list[dict[str, Any]]:
        params = None if include_inactive is None else {"include_inactive": str(include_inactive).lower()}
        response = self.call("GET", params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(params=["inprocess", "tcp"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    fixture = "sandbox_app" if request.param == "inprocess" else "reused_sandbox_server"
    target = Target(request.param, request.getfixturevalue(fixture))
    yield target
    target.close()


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    return body


# -- create and list -----------------------------------------------------------------------------


def test_create_answers_201_with_the_server_assigned_fields(target: Target) -> None:
    response = target.call("POST", body={"name": "Acme CRM", "source_name": "acme-crm"})
    assert response.status_code == 201
    created = response.json()
    assert uuid.UUID(created["connector_id"]).version == 4
    created_at = datetime.fromisoformat(created["created_at"].replace("Z", "+00:00"))
    assert created_at.utcoffset() == timezone.utc.utcoffset(None)
    assert created["created_by"]["type"] == "api_key" and created["created_by"]["id"]
    assert API_KEY not in json.dumps(created)
    assert created["is_active"] is True
    assert created["accepted_kinds"] == [] and created["metadata"] == {}
    assert (created["name"], created["source_name"]) == ("Acme CRM", "acme-crm")
    assert target.listing() == [created]


def test_create_keeps_kinds_and_metadata_and_treats_null_as_empty(target: Target) -> None:
    given = target.create("crm", accepted_kinds=["email", "page"], metadata={"env": "prod"})
    assert sorted(given["accepted_kinds"]) == ["email", "page"]
    assert given["metadata"] == {"env": "prod"}
    nulls = target.create("wiki", accepted_kinds=None, metadata=None)
    assert nulls["accepted_kinds"] == [] and nulls["metadata"] == {}


def test_list_is_a_bare_array_of_active_connectors_unless_inactive_asked(target: Target) -> None:
    assert target.listing() == []
    live = target.create("live")
    gone = target.create("gone")
    assert target.call("PATCH", f"{COLLECTION}/{gone['connector_id']}",
                       {"is_active": False}).status_code == 200
    assert [c["source_name"] for c in target.listing()] == ["live"]
    assert [c["source_name"] for c in target.listing(include_inactive=False)] == ["live"]
    everything = target.listing(include_inactive=True)
    assert {c["source_name"]: c["is_active"] for c in everything} == {"live": True, "gone": False}
    assert live in everything
    bad = target.call("GET", params={"include_inactive": "maybe"})
    assert bad.status_code == 422


def test_seeded_connectors_are_listed(target: Target) -> None:
    inserted = target.handle.seed([
        {"name": "One", "source_name": "one"},
        {"name": "Two", "source_name": "two", "is_active": False, "accepted_kinds": ["email"]},
    ])
    assert inserted == 2
    assert [c["source_name"] for c in target.listing()] == ["one"]
    two = next(c for c in target.listing(True) if c["source_name"] == "two")
    assert two["is_active"] is False and two["accepted_kinds"] == ["email"]


# -- patch, deactivate, delete -------------------------------------------------------------------


def test_patch_changes_only_the_given_fields_and_metadata_replaces_the_map(target: Target) -> None:
    created = target.create("crm", accepted_kinds=["email"], metadata={"env": "prod", "team": "a"})
    path = f"{COLLECTION}/{created['connector_id']}"

    renamed = target.call("PATCH", path, {"name": "CRM 2", "accepted_kinds": None, "metadata": None})
    assert renamed.status_code == 200
    assert renamed.json() == {**created, "name": "CRM 2"}

    replaced = target.call("PATCH", path, {"metadata": {"tier": "gold"}}).json()
    assert replaced["metadata"] == {"tier": "gold"}
    assert replaced["accepted_kinds"] == ["email"] and replaced["name"] == "CRM 2"

    cleared = target.call("PATCH", path, {"accepted_kinds": [], "metadata": {}}).json()
    assert cleared["accepted_kinds"] == [] and cleared["metadata"] == {}

    unchanged = target.call("PATCH", path, {})
    assert unchanged.status_code == 200 and unchanged.json() == cleared
    assert target.listing() == [cleared]
    assert cleared["connector_id"] == created["connector_id"]
    assert cleared["created_at"] == created["created_at"]


def test_deactivate_then_reactivate(target: Target) -> None:
    created = target.create("crm")
    path = f"{COLLECTION}/{created['connector_id']}"
    assert target.call("PATCH", path, {"is_active": False}).json()["is_active"] is False
    assert target.listing() == []
    assert target.call("PATCH", path, {"is_active": True}).json()["is_active"] is True
    assert [c["source_name"] for c in target.listing()] == ["crm"]


def test_patch_cannot_send_source_name(target: Target) -> None:
    created = target.create("crm")
    path = f"{COLLECTION}/{created['connector_id']}"
    for body in ({"source_name": "other"}, {"source_name": "crm"}, {"source_name": None}):
        assert_error(target.call("PATCH", path, body), 422, "validation_error")
    assert target.listing() == [created]


@pytest.mark.parametrize("connector_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_patch_of_an_unknown_id_is_404(target: Target, connector_id: str) -> None:
    assert_error(target.call("PATCH", f"{COLLECTION}/{connector_id}", {"name": "x"}),
                 404, "not_found")


def test_delete_is_not_allowed(target: Target) -> None:
    created = target.create("crm")
    response = target.call("DELETE", f"{COLLECTION}/{created['connector_id']}")
    assert_error(response, 405, "method_not_allowed")
    assert target.listing() == [created]


def test_duplicate_source_name_is_409_even_when_the_first_is_inactive(target: Target) -> None:
    first = target.create("crm")
    assert_error(target.call("POST", body={"name": "Again", "source_name": "crm"}), 409, "conflict")
    target.call("PATCH", f"{COLLECTION}/{first['connector_id']}", {"is_active": False})
    assert_error(target.call("POST", body={"name": "Again", "source_name": "crm"}), 409, "conflict")
    assert len(target.handle.state()) == 1


# -- validation ----------------------------------------------------------------------------------

VALID = {"name": "Acme", "source_name": "acme"}
INVALID_CREATES: dict[str, Any] = {
    "uppercase slug": {**VALID, "source_name": "Acme"},
    "underscore slug": {**VALID, "source_name": "acme_crm"},
    "leading hyphen": {**VALID, "source_name": "-acme"},
    "trailing hyphen": {**VALID, "source_name": "acme-"},
    "trailing newline": {**VALID, "source_name": "acme\n"},
    "65-char slug": {**VALID, "source_name": "a" * 65},
    "empty slug": {**VALID, "source_name": ""},
    "slug not a string": {**VALID, "source_name": 7},
    "empty name": {**VALID, "name": ""},
    "256-char name": {**VALID, "name": "n" * 256},
    "name not a string": {**VALID, "name": 5},
    "missing name": {"source_name": "acme"},
    "missing source_name": {"name": "Acme"},
    "unknown kind": {**VALID, "accepted_kinds": ["email", "fax"]},
    "kinds not a list": {**VALID, "accepted_kinds": "email"},
    "non-string metadata value": {**VALID, "metadata": {"port": 8080}},
    "metadata not an object": {**VALID, "metadata": ["env"]},
    "21 metadata keys": {**VALID, "metadata": {f"k{i}": "v" for i in range(21)}},
    "unknown field": {**VALID, "colour": "red"},
    "is_active on create": {**VALID, "is_active": False},
    "body is an array": [VALID],
    "body is a string": "acme",
}


@pytest.mark.parametrize("body", INVALID_CREATES.values(), ids=INVALID_CREATES.keys())
def test_invalid_create_is_422_and_creates_nothing(target: Target, body: Any) -> None:
    body_json = assert_error(target.call("POST", body=body), 422, "validation_error")
    assert body_json["details"]["errors"], body_json
    assert target.handle.state() == []


def test_malformed_json_is_422(target: Target) -> None:
    assert_error(target.call("POST", content=b'{"name": '), 422, "validation_error")


INVALID_PATCHES: dict[str, Any] = {
    "empty name": {"name": ""},
    "unknown kind": {"accepted_kinds": ["fax"]},
    "non-string metadata value": {"metadata": {"n": 1}},
    "21 metadata keys": {"metadata": {f"k{i}": "v" for i in range(21)}},
    "is_active not a bool": {"is_active": "false"},
    "unknown field": {"connector_id": "x"},
    "body is an array": [],
}


@pytest.mark.parametrize("body", INVALID_PATCHES.values(), ids=INVALID_PATCHES.keys())
def test_invalid_patch_is_422_and_changes_nothing(target: Target, body: Any) -> None:
    created = target.create("crm")
    response = target.call("PATCH", f"{COLLECTION}/{created['connector_id']}", body)
    assert_error(response, 422, "validation_error")
    assert target.handle.state() == [created]


def test_limits_are_inclusive(target: Target) -> None:
    target.create("a", name="n" * 255, metadata={f"k{i}": "v" for i in range(20)})
    target.create("a" * 64, name="x")
    target.create("0-9", name="x", accepted_kinds=["email", "page", "message", "calendar",
                                                   "issue", "custom"])
    assert len(target.listing()) == 3


def test_fastapi_error_shape_when_configured(target: Target) -> None:
    target.handle.set_faults(error_shape="fastapi")
    response = target.call("POST", body={"name": "", "source_name": "acme"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "name"] and detail[0]["msg"] and detail[0]["type"]


# -- auth and scopes -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "sk_live_abc", "pk_live_", "pk_live_revoked_abc"])
def test_missing_or_bad_key_is_401(target: Target, key: str | None) -> None:
    assert_error(target.call("GET", key=key), 401, "authentication_error")
    assert_error(target.call("POST", body=VALID, key=key), 401, "authentication_error")
    assert target.handle.state() == []


def test_non_bearer_scheme_is_401(target: Target) -> None:
    async def run() -> httpx.Response:
        async with target.client(None) as client:
            return await client.get(COLLECTION, headers={"Authorization": f"Basic {API_KEY}"})

    assert_error(asyncio.run(run()), 401, "authentication_error")


def test_read_only_key_lists_but_cannot_write(target: Target) -> None:
    created = target.create("crm")
    ro = "pk_live_ro_abc"
    assert target.call("GET", key=ro).json() == [created]
    for response in (target.call("POST", body=VALID, key=ro),
                     target.call("PATCH", f"{COLLECTION}/{created['connector_id']}",
                                 {"name": "x"}, key=ro)):
        body = assert_error(response, 403, "insufficient_scopes")
        assert body["details"]["missing_scopes"] == ["connectors:write"]
    ingest = target.call("POST", f"{COLLECTION}/{created['connector_id']}/ingest",
                         {"items": [{"kind": "email"}]}, key=ro)
    assert assert_error(ingest, 403, "insufficient_scopes")["details"]["missing_scopes"] == \
        ["events:write"]
    assert target.handle.state() == [created]


def test_key_without_scopes_cannot_even_list(target: Target) -> None:
    body = assert_error(target.call("GET", key="pk_live_noscope_abc"), 403, "insufficient_scopes")
    assert body["details"]["missing_scopes"] == ["connectors:read"]


# -- headers and the request budget --------------------------------------------------------------


def test_every_api_answer_carries_rate_limit_and_request_id_headers(target: Target) -> None:
    created = target.create("crm")
    answers = [
        target.call("GET"),
        target.call("POST", body={"name": "x", "source_name": "other"}),
        target.call("POST", body={"name": "x", "source_name": "other"}),  # 409
        target.call("POST", body={}),  # 422
        target.call("PATCH", f"{COLLECTION}/{uuid.uuid4()}", {}),  # 404
        target.call("DELETE", f"{COLLECTION}/{created['connector_id']}"),  # 405
        target.call("GET", key=None),  # 401
        target.call("GET", "/nowhere"),  # 404
    ]
    assert [r.status_code for r in answers] == [200, 201, 409, 422, 404, 405, 401, 404]
    request_ids = set()
    for response in answers:
        limit = int(response.headers["X-RateLimit-Limit"])
        assert 0 <= int(response.headers["X-RateLimit-Remaining"]) < limit
        assert int(response.headers["X-RateLimit-Reset"]) > 1_600_000_000  # epoch seconds
        request_ids.add(response.headers["X-Request-Id"])
    assert len(request_ids) == len(answers)


def test_a_configured_request_budget_answers_429_with_retry_after(target: Target) -> None:
    target.handle.set_faults(requests_per_minute=3)
    answers = [target.call("GET") for _ in range(7)]  # a minute boundary can reset it once
    assert {r.headers["X-RateLimit-Limit"] for r in answers} == {"3"}
    limited = [r for r in answers if r.status_code == 429]
    assert limited, [r.status_code for r in answers]
    assert_error(limited[0], 429, "rate_limit_exceeded")
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].headers["X-RateLimit-Remaining"] == "0"


# -- ingest --------------------------------------------------------------------------------------


def test_ingest_accepts_items_and_checks_kinds_and_activity(target: Target) -> None:
    created = target.create("crm", accepted_kinds=["email"])
    path = f"{COLLECTION}/{created['connector_id']}/ingest"
    ok = target.call("POST", path + "/typed",
                     {"items": [{"kind": "email", "external_id": "m-1"}, {"kind": "email"}]})
    assert ok.status_code == 200
    body = ok.json()
    assert body["status"] == "accepted" and body["events"] == 2
    assert body["external_ids"][0] == "m-1" and len(body["external_ids"]) == 2
    assert_error(target.call("POST", path + "/typed", {"items": [{"kind": "page"}]}),
                 400, "kind_not_accepted")
    assert target.call("POST", path + "/typed", {"items": [{"title": "x"}]}).status_code == 422
    assert_error(target.call("POST", f"{COLLECTION}/{uuid.uuid4()}/ingest",
                             {"items": [{"kind": "email"}]}), 404, "not_found")
    target.call("PATCH", f"{COLLECTION}/{created['connector_id']}", {"is_active": False})
    assert_error(target.call("POST", path, {"items": [{"kind": "email"}]}),
                 409, "connector_inactive")


def test_ingest_with_all_kinds_allowed(target: Target) -> None:
    created = target.create("crm")
    response = target.call("POST", f"{COLLECTION}/{created['connector_id']}/ingest",
                           {"items": [{"text": "hello"}, {"kind": "page"}]})
    assert response.status_code == 200 and response.json()["events"] == 2


# -- concurrency ---------------------------------------------------------------------------------


def test_concurrent_creates_of_one_source_name_make_exactly_one(target: Target) -> None:
    answers = target.gather([("POST", COLLECTION, {"name": f"n{i}", "source_name": "same"})
                             for i in range(20)])
    statuses = sorted(r.status_code for r in answers if isinstance(r, httpx.Response))
    assert statuses == [201] + [409] * 19
    assert len(target.handle.state()) == 1


def test_concurrent_creates_and_patches_all_land(target: Target) -> None:
    answers = target.gather([("POST", COLLECTION, {"name": "n", "source_name": f"c{i}"})
                             for i in range(40)])
    assert all(isinstance(r, httpx.Response) and r.status_code == 201 for r in answers)
    ids = [r.json()["connector_id"] for r in answers if isinstance(r, httpx.Response)]
    patched = target.gather([("PATCH", f"{COLLECTION}/{i}", {"metadata": {"n": str(n)}})
                             for n, i in enumerate(ids)])
    assert all(isinstance(r, httpx.Response) and r.status_code == 200 for r in patched)
    state = {c["connector_id"]: c["metadata"] for c in target.handle.state()}
    assert state == {i: {"n": str(n)} for n, i in enumerate(ids)}


# -- faults --------------------------------------------------------------------------------------


def test_injected_5xx_never_commits_and_uses_several_codes(target: Target) -> None:
    target.handle.set_faults(error_rate=1.0, seed=7)
    answers = [target.call("POST", body={"name": "x", "source_name": f"c{i}"}) for i in range(20)]
    assert {r.status_code for r in answers} == {500, 502, 503}
    assert target.handle.state() == []
    assert all("X-Request-Id" in r.headers for r in answers)
    five_hundred = next(r for r in answers if r.status_code == 500)
    assert_error(five_hundred, 500, "internal_error")


def test_injected_429_has_retry_after_and_does_not_commit(target: Target) -> None:
    target.handle.set_faults(rate_limit_rate=1.0, retry_after=2)
    response = target.call("POST", body=VALID)
    assert_error(response, 429, "rate_limit_exceeded")
    assert response.headers["Retry-After"] == "2"
    assert target.handle.state() == []


def test_dropped_write_is_committed_but_the_answer_is_lost(target: Target) -> None:
    target.handle.set_faults(drop_rate=1.0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        target.call("POST", body=VALID)
    assert [c["source_name"] for c in target.handle.state()] == ["acme"]
    connector_id = target.handle.state()[0]["connector_id"]
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        target.call("PATCH", f"{COLLECTION}/{connector_id}", {"is_active": False})
    assert target.handle.state()[0]["is_active"] is False
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        target.call("GET")


def test_the_same_seed_gives_the_same_faults(target: Target) -> None:
    def statuses() -> list[int | str]:
        target.handle.set_faults(error_rate=0.3, rate_limit_rate=0.2, drop_rate=0.2, seed=42)
        out: list[int | str] = []
        for _ in range(25):
            try:
                out.append(target.call("GET").status_code)
            except (httpx.RemoteProtocolError, httpx.ReadError):
                out.append("dropped")
        return out

    first = statuses()
    assert first == statuses()
    assert {200, 429, "dropped"} <= set(first) and set(first) & {500, 502, 503}


def test_latency_delays_each_call(target: Target) -> None:
    target.handle.set_faults(latency=0.2)
    started = time.monotonic()
    assert target.call("GET").status_code == 200
    assert time.monotonic() - started >= 0.2  # a lower bound: sleeps never end early


def test_control_calls_are_never_faulted_and_reset_clears_everything(target: Target) -> None:
    target.create("crm")
    target.handle.set_faults(error_rate=1.0, drop_rate=0.0)
    assert target.handle.faults()["error_rate"] == 1.0
    assert [c["source_name"] for c in target.handle.state()] == ["crm"]
    target.handle.reset()
    assert target.handle.faults()["error_rate"] == 0.0
    assert target.handle.state() == []
    assert target.call("GET").status_code == 200


# -- persistence ---------------------------------------------------------------------------------


@pytest.fixture(params=["inprocess", "tcp"])
def restartable(request: pytest.FixtureRequest, tmp_path: Any,
                start_sandbox: Callable[..., SandboxProcess]) -> Iterator[Callable[[], Target]]:
    """A factory: each call stops the previous sandbox and starts one on the same db file."""
    db = tmp_path / "state" / "sandbox.db"
    current: list[Any] = []

    def restart() -> Target:
        for handle in current:
            if isinstance(handle, SandboxProcess):
                assert handle.stop() == 0
            else:
                handle.close()
        current.clear()
        handle = InProcessSandbox(db) if request.param == "inprocess" else start_sandbox(db)
        current.append(handle)
        targets.append(Target(request.param, handle))
        return targets[-1]

    targets: list[Target] = []
    yield restart
    for target in targets:
        target.close()
    for handle in current:
        if isinstance(handle, InProcessSandbox):
            handle.close()


def test_state_survives_a_restart(restartable: Callable[[], Target]) -> None:
    first = restartable()
    created = first.create("crm", metadata={"env": "prod"})
    gone = first.create("gone")
    first.call("PATCH", f"{COLLECTION}/{gone['connector_id']}", {"is_active": False})
    second = restartable()
    assert second.listing() == [created]
    assert len(second.listing(include_inactive=True)) == 2
    assert_error(second.call("POST", body={"name": "x", "source_name": "gone"}), 409, "conflict")


@pytest.mark.parametrize("faults", [
    {"error_rate": 1.5}, {"drop_rate": -0.1}, {"latency": "slow"}, {"seed": 1.5},
    {"retry_after": 0.5}, {"requests_per_minute": 0}, {"error_shape": "xml"}, {"typo_rate": 1},
    ["error_rate"],
])
def test_the_control_api_refuses_bad_fault_settings(reused_sandbox_server: SandboxProcess,
                                                    faults: Any) -> None:
    response = httpx.post(f"{reused_sandbox_server.root}/_sandbox/faults", json=faults)
    assert_error(response, 422, "validation_error")
    assert reused_sandbox_server.faults()["error_rate"] == 0.0


def test_the_control_api_refuses_a_bad_seed(reused_sandbox_server: SandboxProcess) -> None:
    root = reused_sandbox_server.root
    response = httpx.post(f"{root}/_sandbox/seed", json={"connectors": [{"name": "x"}]})
    assert_error(response, 422, "validation_error")
    twice = [{"name": "A", "source_name": "a"}] * 2
    assert_error(httpx.post(f"{root}/_sandbox/seed", json={"connectors": twice}), 409, "conflict")
    assert reused_sandbox_server.state() == []
