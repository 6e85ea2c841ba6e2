"""The API client against scripted answers (httpx.MockTransport): errors, retries, parsing."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter_sync import __version__
from adapter_sync.client import AdapterClient, make_client
from adapter_sync.errors import AdapterSyncError, ApiError, OutcomeUnknown
from adapter_sync.pacing import BLOCKED, Pacer, Turn, WaitEvent
from adapter_sync.retry import RetryPolicy, server_wait_hint
from adapter_sync.secrets import ApiKey

URL = "https://api.test/v1"
KEY = "pk_live_unit_test_key"


def conn(source_name: str = "crm", **extra: Any) -> dict[str, Any]:
    return {"connector_id": f"id-{source_name}", "source_name": source_name,
            "name": source_name.upper(), "accepted_kinds": ["email"], "metadata": {"team": "a"},
            "is_active": True, "created_at": "2024-01-01T00:00:00Z", **extra}


class FakeTime:
    """A clock and a sleep that records waits; sleeping advances the clock (unless frozen).

    ``wall()`` is the matching wall clock (epoch seconds) for the headers that carry one.
    """

    EPOCH = 1_700_000_000.0

    def __init__(self, advance: bool = True) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.advance = advance

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.EPOCH + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.advance:
            self.now += seconds


Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """A transport answering with the given steps in order (the last one repeats)."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if callable(step) and not isinstance(step, httpx.Response):
            return step(request)
        return step

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


def client_for(script: Script, fake: FakeTime | None = None, **kw: Any) -> AdapterClient:
    fake = fake or FakeTime()
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_cap", 0.05)
    return make_client(kw.pop("url", URL), kw.pop("key", KEY), transport=script.transport,
                       sleep=fake.sleep, clock=fake.clock, **kw)


def run(coro_fn: Callable[[AdapterClient], Any], client: AdapterClient) -> Any:
    async def main() -> Any:
        async with client as c:
            return await coro_fn(c)

    return asyncio.run(main())


def ok(data: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=data, headers=headers)


def err(status: int, body: Any = None, text: str | None = None, **headers: str) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers={"content-type": "text/html", **headers})
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


def lost(exc_type: type[httpx.HTTPError], message: str = "boom") -> httpx.HTTPError:
    return exc_type(message, request=httpx.Request("GET", URL))


# --------------------------------------------------------------------------- make_client


@pytest.mark.parametrize("url", ["http://api.adapter.com/v1", "http://10.0.0.1/v1",
                                 "http://127.evil.com/v1", "http://localhostx/v1"])
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(AdapterSyncError, match="https:// is required"):
        make_client(url, KEY)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v1", "http://127.5.5.5/v1",
                                 "http://[::1]:9000/v1", "http://localhost:1/v1/",
                                 "https://api.adapter.com/v1"])
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    client = make_client(url, KEY)
    assert client.base_url == url.rstrip("/")
    asyncio.run(client.aclose())


@pytest.mark.parametrize("url", ["ftp://api.test/v1", "api.test/v1", "https:///v1", ""])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(AdapterSyncError, match="invalid API URL"):
        make_client(url, KEY)


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(AdapterSyncError, match="ADAPTER_API_KEY"):
        make_client("https://user:secret@api.test/v1", KEY)


@pytest.mark.parametrize("key", [None, "", "  ", ApiKey("")])
def test_missing_key_is_refused_before_any_request(key: str | ApiKey | None) -> None:
    script = Script(ok([]))
    with pytest.raises(AdapterSyncError, match="ADAPTER_API_KEY"):
        make_client(URL, key, transport=script.transport)
    assert script.requests == []


@pytest.mark.parametrize("key", ["pk_live_abc\nX-Evil: 1", "pk_live_ab c", "pk_live_é"])
def test_a_key_no_header_can_carry_is_refused_without_echoing_it(key: str) -> None:
    with pytest.raises(AdapterSyncError, match="ADAPTER_API_KEY contains") as info:
        make_client(URL, key)
    assert "pk_live" not in str(info.value)


def test_surrounding_whitespace_of_the_key_is_ignored() -> None:
    script = Script(ok([]))
    run(lambda c: c.list_connectors(), make_client(URL, f"  {KEY}\n", transport=script.transport))
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("url", ["sandbox:", "sandbox:/tmp/unused.db"])
def test_the_client_knows_no_sandbox_urls(url: str) -> None:
    # whoever wires a command turns sandbox: into a transport and a base URL (engine)
    with pytest.raises(AdapterSyncError, match="invalid API URL"):
        make_client(url, KEY, transport=Script(ok([])).transport)


def test_with_a_transport_plain_http_to_any_host_is_accepted() -> None:
    # requests never leave the process: the loopback-only rule has nothing to protect
    script = Script(ok([]))
    client = make_client("http://sandbox/v1", KEY, transport=script.transport)
    assert client.base_url == "http://sandbox/v1"
    assert run(lambda c: c.list_connectors(), client) == []
    assert str(script.requests[0].url) == "http://sandbox/v1/custom-connectors?include_inactive=true"
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(("url", "expected"), [
    ("ftp://sandbox/v1", "invalid API URL"), ("http:///v1", "invalid API URL"),
    ("http://user:pw@sandbox/v1", "must not carry credentials"),
])
def test_with_a_transport_the_other_url_checks_stay(url: str, expected: str) -> None:
    with pytest.raises(AdapterSyncError, match=expected):
        make_client(url, KEY, transport=Script(ok([])).transport)


def test_an_api_key_object_is_accepted_and_sent() -> None:
    script = Script(ok([]))
    run(lambda c: c.list_connectors(),
        make_client(URL, ApiKey(f" {KEY}\n"), transport=script.transport))
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_repr_does_not_show_the_key() -> None:
    client = make_client(URL, KEY)
    assert KEY not in repr(client) and URL in repr(client)
    asyncio.run(client.aclose())


# --------------------------------------------------------------------------- requests


def test_requests_carry_user_agent_key_and_json_body() -> None:
    script = Script(ok([conn()]), ok(conn(), 201), ok(conn(name="New")))
    client = client_for(script)

    async def calls(c: AdapterClient) -> None:
        await c.list_connectors()
        await c.create({"source_name": "crm", "name": "CRM"})
        await c.update("id/1", {"name": "New"}, source_name="crm")

    run(calls, client)
    get, post, patch = script.requests
    for request in script.requests:
        assert request.headers["user-agent"] == f"adapter-sync/{__version__}"
        assert request.headers["authorization"] == f"Bearer {KEY}"
    assert (get.method, get.url.path, get.url.params["include_inactive"]) == (
        "GET", "/v1/custom-connectors", "true")
    assert (post.method, post.url.path) == ("POST", "/v1/custom-connectors")
    assert json.loads(post.content) == {"source_name": "crm", "name": "CRM"}
    assert (patch.method, patch.url.raw_path) == ("PATCH", b"/v1/custom-connectors/id%2F1")
    assert json.loads(patch.content) == {"name": "New"}


def test_include_inactive_false_is_sent() -> None:
    script = Script(ok([]))
    run(lambda c: c.list_connectors(include_inactive=False), client_for(script))
    assert script.requests[0].url.params["include_inactive"] == "false"


# --------------------------------------------------------------------------- parsing


def test_list_is_parsed_tolerantly() -> None:
    items = [
        conn("a", future_field={"x": 1}, created_by={"id": "u1"}),
        {"connector_id": "id-b", "source_name": "b", "name": "B", "accepted_kinds": None,
         "metadata": None, "is_active": False},
        {"connector_id": "id-c", "source_name": "c", "name": "C"},
    ]
    a, b, c = run(lambda c: c.list_connectors(), client_for(Script(ok(items))))
    assert a.source_name == "a" and a.accepted_kinds == {"email"} and a.metadata == {"team": "a"}
    assert b.accepted_kinds == frozenset() and b.metadata == {} and b.is_active is False
    assert c.accepted_kinds == frozenset() and c.metadata == {} and c.is_active is True


def test_create_accepts_any_2xx() -> None:
    created = run(lambda c: c.create({"source_name": "crm", "name": "CRM"}),
                  client_for(Script(ok(conn(), 200))))
    assert created.connector_id == "id-crm"


@pytest.mark.parametrize(("response", "expected"), [
    (ok({"items": []}), "expected a JSON array"),
    (httpx.Response(200, content=b"[{", headers={"content-type": "application/json"}),
     "malformed JSON"),
    (httpx.Response(200, text="<html>hi</html>", headers={"content-type": "text/html"}),
     "content-type 'text/html'"),
    (ok([{"connector_id": "x", "name": "no source"}]), "unexpected item"),
    (ok(["just a string"]), "unexpected item"),
])
def test_bad_list_responses_are_clear_api_errors(response: httpx.Response, expected: str) -> None:
    with pytest.raises(ApiError, match=expected) as info:
        run(lambda c: c.list_connectors(), client_for(Script(response)))
    assert info.value.status == 200
    assert "\n" not in str(info.value)


def test_unreadable_create_answer_is_outcome_unknown() -> None:
    response = httpx.Response(201, text="created!", headers={"content-type": "text/plain"})
    with pytest.raises(OutcomeUnknown, match="create 'crm'"):
        run(lambda c: c.create({"source_name": "crm", "name": "x"}),
            client_for(Script(response)))


def test_unreadable_update_answer_is_an_api_error() -> None:
    with pytest.raises(ApiError, match="not a connector") as info:
        run(lambda c: c.update("id-1", {"name": "x"}), client_for(Script(ok({"ok": True}))))
    assert not isinstance(info.value, OutcomeUnknown)


# --------------------------------------------------------------------------- error messages


def call_create(c: AdapterClient):
    return c.create({"source_name": "crm-events", "name": "CRM"})


def call_update(c: AdapterClient):
    return c.update("id-7", {"name": "CRM"}, source_name="crm-events")


def fails_once(response: httpx.Response, call=call_update, url: str = URL
               ) -> tuple[ApiError, Script]:
    script = Script(response)
    with pytest.raises(ApiError) as info:
        run(call, client_for(script, url=url))
    return info.value, script


def test_401_says_check_the_key_and_is_not_retried() -> None:
    error, script = fails_once(err(401, {"error": "authentication_error",
                                         "message": "Invalid API key"}))
    assert "authentication failed" in str(error) and "ADAPTER_API_KEY" in str(error)
    assert error.status == 401 and len(script.requests) == 1
    assert KEY not in str(error)


def test_403_names_the_missing_scopes() -> None:
    error, _ = fails_once(err(403, {"error": "insufficient_scopes", "message": "nope",
                                    "details": {"missing_scopes": ["connectors:write"]}}))
    assert "connectors:write" in str(error) and "403" in str(error)


def test_404_shows_server_message_and_source_name() -> None:
    error, script = fails_once(err(404, {"error": "not_found", "message": "no such connector"}))
    assert "no such connector" in str(error) and "crm-events" in str(error)
    assert error.status == 404 and len(script.requests) == 1


def test_409_on_create_shows_server_message_and_source_name() -> None:
    error, _ = fails_once(err(409, {"error": "conflict", "message": "source_name is taken"}),
                          call=call_create)
    assert not isinstance(error, OutcomeUnknown)
    assert "source_name is taken" in str(error) and "crm-events" in str(error)
    assert "409" in str(error)


def test_400_error_shape_is_shown() -> None:
    error, script = fails_once(err(400, {"error": "invalid_request",
                                         "message": "metadata values must be strings",
                                         "details": {}}))
    assert "metadata values must be strings" in str(error) and "crm-events" in str(error)
    assert len(script.requests) == 1


def test_422_fastapi_shape_is_shown() -> None:
    body = {"detail": [{"loc": ["body", "metadata", "team"], "msg": "str type expected",
                        "type": "type_error.str"},
                       {"loc": ["body", "name"], "msg": "field required", "type": "missing"}]}
    error, _ = fails_once(err(422, body), call=call_create)
    assert "metadata.team: str type expected" in str(error)
    assert "name: field required" in str(error) and "crm-events" in str(error)
    assert error.status == 422 and not isinstance(error, OutcomeUnknown)


@pytest.mark.parametrize("body", ["<html><body>" + "Bad gateway " * 40 + "</body></html>", ""])
def test_non_json_error_body_gives_status_and_short_excerpt(body: str) -> None:
    error, script = fails_once(err(502, text=body), call=lambda c: c.list_connectors())
    assert "502" in str(error) and len(script.requests) == 8
    assert ("<html>" in str(error)) if body else ("empty body" in str(error))
    assert len(str(error)) < 300


def test_non_json_4xx_body() -> None:
    error, _ = fails_once(httpx.Response(418, text="I'm a teapot"))
    assert "418" in str(error) and "teapot" in str(error)


def test_request_id_is_in_message_and_attribute() -> None:
    error, _ = fails_once(err(409, {"error": "conflict", "message": "taken"},
                              **{"X-Request-Id": "req-42"}))
    assert error.request_id == "req-42" and "req-42" in str(error)


# --------------------------------------------------------------------------- retries


def test_retry_after_is_honoured() -> None:
    fake = FakeTime()
    script = Script(err(429, **{"Retry-After": "3"}), ok([conn()]))
    result = run(lambda c: c.list_connectors(), client_for(script, fake))
    assert [c.source_name for c in result] == ["crm"]
    assert fake.sleeps == [3.0] and len(script.requests) == 2


def test_x_ratelimit_reset_is_honoured_when_no_retry_after() -> None:
    fake = FakeTime()
    reset = int(time.time()) + 5
    script = Script(err(429, **{"X-RateLimit-Reset": str(reset)}), ok([]))
    run(lambda c: c.list_connectors(), client_for(script, fake))
    assert len(fake.sleeps) == 1 and 3.5 <= fake.sleeps[0] <= 5.0


def test_429_without_hints_backs_off_with_jitter_within_the_cap() -> None:
    fake = FakeTime()
    script = Script(err(429), err(429), err(429), ok([]))
    run(lambda c: c.list_connectors(), client_for(script, fake, backoff_base=0.1, backoff_cap=0.25))
    assert len(fake.sleeps) == 3
    assert all(0 <= s <= bound for s, bound in zip(fake.sleeps, [0.1, 0.2, 0.25], strict=True))


@pytest.mark.parametrize("headers", [
    {"Retry-After": "0"},
    {"X-RateLimit-Reset": str(int(FakeTime.EPOCH + 1000) - 3)},  # past: the server runs behind
    {"Retry-After": "0", "X-RateLimit-Reset": str(int(FakeTime.EPOCH + 1000) - 3)},
], ids=["retry-after-0", "reset-past", "both"])
def test_a_zero_or_past_hint_still_backs_off(headers: dict[str, str]) -> None:
    fake = FakeTime()
    script = Script(err(429, **headers), err(429, **headers), ok([]))
    run(lambda c: c.list_connectors(),
        client_for(script, fake, backoff_base=0.4, backoff_cap=10, wall_clock=fake.wall))
    assert len(fake.sleeps) == 2 and len(script.requests) == 3
    assert 0 < fake.sleeps[0] <= 0.4 and 0 < fake.sleeps[1] <= 0.8  # the normal backoff


def test_rate_limit_exhaustion_says_how_many_attempts() -> None:
    script = Script(err(429, **{"Retry-After": "0"}))
    with pytest.raises(ApiError, match=r"rate limited \(429\) after 8 attempts") as info:
        run(lambda c: c.list_connectors(), client_for(script))
    assert info.value.status == 429 and len(script.requests) == 8


def test_max_attempts_is_configurable() -> None:
    script = Script(err(503))
    with pytest.raises(ApiError, match=r"server error \(503.*after 3 attempts"):
        run(lambda c: c.list_connectors(), client_for(script, max_attempts=3))
    assert len(script.requests) == 3


def test_a_wait_past_the_deadline_fails_at_once() -> None:
    fake = FakeTime()
    script = Script(err(429, **{"Retry-After": "60"}), ok([]))
    with pytest.raises(ApiError, match=r"after 1 attempt; .*would pass the 10s deadline"):
        run(lambda c: c.list_connectors(), client_for(script, fake, deadline=10))
    assert fake.sleeps == [] and len(script.requests) == 1


def hhmmss(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def test_a_used_up_budget_resetting_past_the_deadline_fails_at_once_saying_when() -> None:
    fake = FakeTime()
    reset = int(fake.wall()) + 300
    script = Script(ok([], **{"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0",
                              "X-RateLimit-Reset": str(reset)}))
    client = client_for(script, fake, wall_clock=fake.wall)

    async def twice(c: AdapterClient) -> None:
        await c.list_connectors()  # answered: nothing left until the reset, 5 minutes away
        await c.list_connectors()

    with pytest.raises(ApiError) as info:
        run(twice, client)
    assert str(info.value) == (f"list connectors: not sent: the rate limit resets at "
                               f"{hhmmss(reset)} (in 300s), past this call's 120s deadline")
    assert fake.sleeps == [] and len(script.requests) == 1


def test_a_429_resetting_past_the_deadline_fails_at_once_saying_when() -> None:
    fake = FakeTime()
    reset = int(fake.wall()) + 300
    script = Script(err(429, **{"X-RateLimit-Reset": str(reset)}), ok([]))
    with pytest.raises(ApiError) as info:
        run(lambda c: c.list_connectors(), client_for(script, fake, wall_clock=fake.wall))
    assert str(info.value) == (
        "list connectors: rate limited (429) after 1 attempt; giving up: the next wait "
        f"(300.0s) would pass the 120s deadline; the rate limit resets at {hhmmss(reset)} "
        "(in 300s)")
    assert fake.sleeps == [] and len(script.requests) == 1


def test_429_holds_other_calls_of_the_same_client() -> None:
    fake = FakeTime(advance=False)
    script = Script(err(429, **{"Retry-After": "4"}), ok([]), ok([]))

    async def both(c: AdapterClient) -> None:
        await c.list_connectors()  # 429, waits 4 s (fake clock frozen), then succeeds
        await c.list_connectors()  # must also wait for the hold, not knock at once

    run(both, client_for(script, fake))
    assert fake.sleeps[0] == 4.0 and fake.sleeps[-1] == pytest.approx(4.0)
    assert len(fake.sleeps) >= 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_for_get(status: int) -> None:
    script = Script(err(status), err(status), ok([conn()]))
    assert len(run(lambda c: c.list_connectors(), client_for(script))) == 1
    assert len(script.requests) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_for_patch(status: int) -> None:
    script = Script(err(status), ok(conn("crm-events")))
    assert run(call_update, client_for(script)).source_name == "crm-events"
    assert len(script.requests) == 2


def test_501_is_not_retried() -> None:
    error, script = fails_once(err(501, {"error": "x", "message": "not implemented"}))
    assert "not implemented" in str(error) and len(script.requests) == 1


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError,
                                 httpx.ConnectError, httpx.WriteError])
def test_network_failures_are_retried_for_patch(exc: type[httpx.HTTPError]) -> None:
    script = Script(lost(exc), ok(conn("crm-events")))
    updated = run(call_update, client_for(script))
    assert updated.source_name == "crm-events" and len(script.requests) == 2


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ConnectTimeout])
def test_network_failures_are_retried_for_get(exc: type[httpx.HTTPError]) -> None:
    script = Script(lost(exc), lost(exc), ok([]))
    assert run(lambda c: c.list_connectors(), client_for(script)) == []
    assert len(script.requests) == 3


@pytest.mark.parametrize("step", [
    lost(httpx.ReadTimeout, "timed out"),
    lost(httpx.RemoteProtocolError, "Server disconnected without sending a response."),
    lost(httpx.ReadError, "Connection reset by peer"),
    err(500), err(503, text="<html>oops</html>"), err(504),
], ids=["read-timeout", "protocol", "reset", "500", "503-html", "504"])
def test_lost_post_is_outcome_unknown_and_not_resent(step: Step) -> None:
    script = Script(step, ok(conn("crm-events"), 201))
    with pytest.raises(OutcomeUnknown, match="create 'crm-events'.*may or may not"):
        run(call_create, client_for(script))
    assert len(script.requests) == 1


def test_post_that_could_not_connect_is_retried() -> None:
    script = Script(lost(httpx.ConnectError, "Connection refused"), lost(httpx.ConnectTimeout),
                    ok(conn("crm-events"), 201))
    created = run(call_create, client_for(script))
    assert created.source_name == "crm-events" and len(script.requests) == 3


def test_post_rate_limited_is_retried() -> None:
    script = Script(err(429, **{"Retry-After": "0"}), ok(conn("crm-events"), 201))
    assert run(call_create, client_for(script)).source_name == "crm-events"
    assert len(script.requests) == 2


def test_post_that_never_connects_is_a_plain_api_error() -> None:
    script = Script(lost(httpx.ConnectError, "Connection refused"))
    with pytest.raises(ApiError, match="connection failed.*after 8 attempts") as info:
        run(call_create, client_for(script))
    assert not isinstance(info.value, OutcomeUnknown)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.sampled_from(["429", "429-ra", "503", "reset", "timeout"]), min_size=1,
                   max_size=12),
    max_attempts=st.integers(1, 10),
    deadline=st.floats(0.5, 30),
    retry_after=st.integers(0, 20),
)
def test_retries_stay_within_attempts_and_deadline(steps, max_attempts, deadline, retry_after):
    make = {
        "429": lambda: err(429),
        "429-ra": lambda: err(429, **{"Retry-After": str(retry_after)}),
        "503": lambda: err(503),
        "reset": lambda: lost(httpx.ReadError),
        "timeout": lambda: lost(httpx.ReadTimeout),
    }
    fake = FakeTime()
    script = Script(*[make[s]() for s in steps], ok([]))
    client = client_for(script, fake, max_attempts=max_attempts, deadline=deadline,
                        backoff_base=1.0, backoff_cap=8.0)
    try:
        run(lambda c: c.list_connectors(), client)
        succeeded = True
    except ApiError as exc:
        succeeded = False
        assert "attempt" in str(exc)
    assert len(script.requests) <= max_attempts
    # The deadline is kept on the epoch clock, where a float resolves ~1e-7 s: 10+10+10 s
    # fits a 29.999999999999996 s deadline there.
    assert sum(fake.sleeps) <= deadline + 1e-6
    assert succeeded == (len(script.requests) == len(steps) + 1)


# --------------------------------------------------------------------------- pacing


def test_pacer_spaces_slots_and_honours_holds() -> None:
    now = [10.0]

    def answered(pacer: Pacer, turn: Turn) -> Turn:  # the first turn probes: answer it
        assert turn.probe and pacer.reserve() is BLOCKED
        pacer.record(turn, None, status=200, sent=0.0, received=0.0)
        return turn

    pacer = Pacer(4.0, lambda: now[0])
    first = answered(pacer, pacer.reserve())
    assert [first.at] + [pacer.reserve().at for _ in range(2)] == [10.0, 10.25, 10.5]
    pacer.hold_until(20.0)
    assert pacer.reserve().at == 20.0
    unpaced = Pacer(None, lambda: now[0])
    first = answered(unpaced, unpaced.reserve())
    assert [first.at] + [unpaced.reserve().at for _ in range(2)] == [10.0] * 3


def test_max_rps_paces_concurrent_calls_of_one_client() -> None:
    fake = FakeTime(advance=False)
    script = Script(ok([]))

    async def many(c: AdapterClient) -> None:
        await asyncio.gather(*(c.list_connectors() for _ in range(5)))

    run(many, client_for(script, fake, max_rps=10))
    assert sorted(fake.sleeps) == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert len(script.requests) == 5


def test_pacing_that_would_pass_the_deadline_is_refused() -> None:
    fake = FakeTime(advance=False)
    script = Script(ok([]))

    async def many(c: AdapterClient) -> None:
        await asyncio.gather(*(c.list_connectors() for _ in range(4)))

    with pytest.raises(ApiError, match="pass the 1s deadline"):
        run(many, client_for(script, fake, max_rps=2, deadline=1))


# --------------------------------------------------------------------------- misc


def test_debug_log_has_method_path_status_attempt_and_request_id(caplog) -> None:
    script = Script(err(503, **{"X-Request-Id": "r-1"}), ok([], **{"X-Request-Id": "r-2"}))
    with caplog.at_level(logging.DEBUG, logger="adapter_sync.client"):
        run(lambda c: c.list_connectors(), client_for(script))
    lines = [r.getMessage() for r in caplog.records if r.name == "adapter_sync.client"]
    assert any("GET /v1/custom-connectors" in line and "503" in line and "attempt 1/8" in line
               and "r-1" in line for line in lines)
    assert any("200" in line and "attempt 2/8" in line and "r-2" in line for line in lines)
    assert not any("Bearer" in line or KEY in line for line in lines)


def test_client_cannot_be_used_after_close() -> None:
    client = client_for(Script(ok([])))

    async def main() -> None:
        await client.aclose()
        await client.aclose()  # idempotent
        with pytest.raises(RuntimeError, match="closed"):
            await client.list_connectors()

    asyncio.run(main())


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after": "7"}, 7.0),
    ({"retry-after": "1.5"}, 1.5),
    ({"retry-after": "Thu, 01 Jan 1970 00:00:30 GMT"}, 20.0),
    ({"x-ratelimit-reset": "40"}, 40.0),  # a small value reads as a delta
    ({"x-ratelimit-reset": "1700000010"}, 10.0),
    ({"x-ratelimit-reset": "1700000010000"}, 10.0),  # milliseconds
    ({"retry-after": "soon", "x-ratelimit-reset": "1700000003"}, 3.0),
    ({"x-ratelimit-reset": "1699999990"}, 0.0),  # already past
    ({}, None),
])
def test_server_wait_hint(headers: dict[str, str], expected: float | None) -> None:
    now = 1_700_000_000.0 if "x-ratelimit-reset" in headers else 10.0
    assert server_wait_hint(headers, now) == expected


@pytest.mark.parametrize("retry_after", ["Thu, 01 Jan 1970 00:00:05 GMT",
                                         "Tue, 14 Nov 2023 22:13:00 GMT"])
def test_a_retry_after_date_in_the_past_never_gives_a_negative_wait(retry_after: str) -> None:
    # the server's clock reads 1_700_000_000 (22:13:20): both dates are behind it
    assert server_wait_hint({"retry-after": retry_after}, 1_700_000_000.0) == 0.0
    assert server_wait_hint({"retry-after": retry_after,
                             "x-ratelimit-reset": "1700000030"}, 1_700_000_000.0) == 0.0


def test_backoff_is_full_jitter_bounded_by_cap() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=5.0)
    for attempt in range(1, 80):
        assert 0 <= policy.backoff(attempt) <= min(5.0, 2 ** (attempt - 1))
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_an_unpaced_call_never_sleeps_on_the_real_clock() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    script = Script(ok([]))
    client = make_client(URL, KEY, transport=script.transport, sleep=sleep)

    async def calls(c: AdapterClient) -> None:
        for _ in range(20):
            await c.list_connectors()

    run(calls, client)
    assert slept == [] and len(script.requests) == 20


def test_tls_verification_is_on_for_https():
    import ssl

    from adapter_sync.client import make_client

    client = make_client("https://api.adapter.com/v1", "pk_live_x")
    try:
        pool = client._http._transport._pool
        assert pool._ssl_context.verify_mode == ssl.CERT_REQUIRED
        assert pool._ssl_context.check_hostname
    finally:
        import asyncio

        asyncio.run(client.aclose())


# --------------------------------------------------------------------------- wait events


def test_waits_are_reported_for_live_progress() -> None:
    fake = FakeTime()
    events: list[WaitEvent] = []
    script = Script(err(503, {"message": f"busy, key {KEY}"}),
                    err(429, **{"Retry-After": "4"}), ok(conn("crm-events")))
    run(call_update, client_for(script, fake, wall_clock=fake.wall, on_wait=events.append,
                                backoff_base=2.0, backoff_cap=2.0))
    retry, limit = events
    assert (retry.reason, retry.what, retry.attempt) == ("retry", "update 'crm-events' (id-7)", 2)
    assert 0 < retry.seconds <= 2.0 and retry.until == pytest.approx(fake.wall() - 4)
    # the message is only what the server said: the call and the wait are data, said once
    assert retry.message.startswith("server error (503: busy, key ***")
    assert "update" not in retry.message and "retry" not in retry.message
    assert KEY not in str(retry)
    assert (limit.reason, limit.seconds, limit.attempt) == ("rate_limit", 4.0, 3)
    assert limit.until == pytest.approx(fake.wall())  # the clock has slept through it since
    assert "429" in limit.message and "waiting" not in limit.message
    assert "crm-events" not in limit.message and hhmmss(limit.until) not in limit.message


def test_routine_pacing_is_not_reported() -> None:
    fake = FakeTime(advance=False)
    events: list[WaitEvent] = []
    script = Script(ok([]))

    async def many(c: AdapterClient) -> None:
        await asyncio.gather(*(c.list_connectors() for _ in range(5)))

    run(many, client_for(script, fake, max_rps=10, on_wait=events.append))
    assert events == [] and len(fake.sleeps) == 4


# --------------------------------------------------------------------------- a wrong base URL


@pytest.mark.parametrize(("url", "expected"), [
    ("https://api.test", "list connectors: not found (HTTP 404) at GET "
     "https://api.test/custom-connectors: the API URL must be the API's base URL, ending in /v1 "
     "(e.g. https://api.adapter.com/v1); did you mean https://api.test/v1?"),
    ("https://api.test/api/v2", "list connectors: not found (HTTP 404) at GET "
     "https://api.test/api/v2/custom-connectors: the API URL must be the API's base URL, ending "
     "in /v1 (e.g. https://api.adapter.com/v1) (server: Not Found)"),
])
def test_a_404_on_the_list_names_the_url_and_hints_at_v1(url: str, expected: str) -> None:
    body = {"detail": "Not Found"} if "v2" in url else None
    response = err(404, body) if body else err(404, text="<html>404</html>")
    error, script = fails_once(response, call=lambda c: c.list_connectors(), url=url)
    assert len(script.requests) == 1
    assert str(error) == expected and error.status == 404


@pytest.mark.parametrize("response", [
    httpx.Response(204), httpx.Response(200), httpx.Response(200, text="  \n"),
    httpx.Response(202, headers={"content-type": "application/json"}),
], ids=["204", "200-empty", "200-blank", "202-empty-json"])
def test_a_patch_answered_without_a_body_counts_as_applied(response: httpx.Response) -> None:
    script = Script(response)
    assert run(call_update, client_for(script)) is None
    assert len(script.requests) == 1


def test_a_create_answered_without_a_body_is_still_unknown() -> None:
    # it exists (2xx) but its id is unknown: the caller re-lists, as for a lost answer
    with pytest.raises(OutcomeUnknown, match="create 'crm-events'"):
        run(call_create, client_for(Script(httpx.Response(204))))


def test_a_failing_wait_callback_gives_its_turn_back() -> None:
    fake = FakeTime()
    calls: list[WaitEvent] = []

    def callback(event: WaitEvent) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("progress display broke")

    script = Script(err(429, **{"Retry-After": "4"}), ok([]))

    async def twice(c: AdapterClient) -> list:
        with pytest.raises(RuntimeError, match="display broke"):
            await c.list_connectors()
        return await c.list_connectors()  # not blocked behind a turn never given back

    assert run(twice, client_for(script, fake, on_wait=callback, deadline=5)) == []
    assert len(script.requests) == 2


def test_the_client_imports_neither_the_sandbox_nor_sqlite3() -> None:
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src"
    code = ("import sys; import adapter_sync.client; "
            "print(sorted(m for m in sys.modules "
            "if m.startswith('adapter_sync.sandbox') or m == 'sqlite3'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(src)}, check=True)
    assert done.stdout.strip() == "[]"
