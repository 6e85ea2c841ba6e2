"""The sandbox's rate limiter (#10): a fixed window or a token bucket, X-RateLimit-* on every
answer, 429 with Retry-After in every style, a server clock offset and a shared budget.

The limiter itself is driven with a fake clock; the API-level cases run in-process and over TCP.
"""

from __future__ import annotations

import email.utils
import math
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapter_sync.sandbox.faults import FaultConfig, FaultConfigError
from adapter_sync.sandbox.ratelimit import LimitPolicy, RateLimiter, Verdict
from conftest import InProcessSandbox, SandboxProcess

T0 = 1_700_000_000.0
Handle = InProcessSandbox | SandboxProcess


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def takes(limiter: RateLimiter, n: int) -> list[Verdict]:
    return [limiter.take() for _ in range(n)]


# -- the algorithms, on a fake clock ------------------------------------------------------------


def test_a_fixed_window_counts_down_then_refuses_until_it_ends() -> None:
    clock = FakeClock()
    limiter = RateLimiter(LimitPolicy("fixed_window", requests=5, window=0.5), clock)
    first = takes(limiter, 5)
    assert [v.allowed for v in first] == [True] * 5
    assert [v.remaining for v in first] == [4, 3, 2, 1, 0]
    assert {v.reset_at for v in first} == {T0 + 0.5}
    clock.advance(0.2)
    refused = limiter.take()
    assert (refused.allowed, refused.remaining, refused.reset_at) == (False, 0, T0 + 0.5)
    assert refused.wait == pytest.approx(0.3)
    clock.advance(0.3)  # the window's end: a new one starts with this request
    again = limiter.take()
    assert (again.allowed, again.remaining, again.reset_at) == (True, 4, T0 + 1.0)


def test_a_fixed_window_is_aligned_to_the_clock() -> None:
    clock = FakeClock(T0 + 0.3)
    limiter = RateLimiter(LimitPolicy("fixed_window", requests=5, window=0.5), clock)
    first = limiter.take()
    assert first.remaining == 4 and first.reset_at == pytest.approx(T0 + 0.5, abs=1e-6)
    clock.advance(0.4)  # T0 + 0.7: the next window, [T0 + 0.5, T0 + 1.0), not [T0 + 0.7, ...)
    later = limiter.take()
    assert later.remaining == 4 and later.reset_at == pytest.approx(T0 + 1.0, abs=1e-6)
    minute = RateLimiter(LimitPolicy("fixed_window", requests=60, window=60), FakeClock(T0 + 61))
    # T0 is 20 s past a minute: T0 + 61 is in the minute that ends at T0 + 100
    assert minute.take().reset_at == pytest.approx(T0 + 100, abs=1e-6)


def test_a_token_bucket_starts_full_and_refills_at_its_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(LimitPolicy("token_bucket", requests=5, window=0.5), clock)  # 10/s
    first = takes(limiter, 5)
    assert [v.remaining for v in first] == [4, 3, 2, 1, 0]
    # not empty: when the bucket is full again; empty: when the next token arrives
    assert [round(v.reset_at - T0, 6) for v in first] == [0.1, 0.2, 0.3, 0.4, 0.1]
    refused = limiter.take()
    assert not refused.allowed and refused.remaining == 0
    assert refused.wait == pytest.approx(0.1) and refused.reset_at == pytest.approx(T0 + 0.1, abs=1e-6)
    clock.advance(0.25)  # 2.5 tokens
    two = takes(limiter, 3)
    assert [v.allowed for v in two] == [True, True, False]
    assert [v.remaining for v in two] == [1, 0, 0]
    assert two[0].reset_at == pytest.approx(clock.now + 0.35)  # 1.5 tokens -> full in 0.35 s
    assert two[1].reset_at == pytest.approx(clock.now + 0.05)  # 0.5 tokens -> next in 0.05 s
    assert two[2].wait == pytest.approx(0.05)


def test_a_token_bucket_never_holds_more_than_its_capacity() -> None:
    clock = FakeClock()
    limiter = RateLimiter(LimitPolicy("token_bucket", requests=5, window=0.5), clock)
    limiter.take()
    clock.advance(3600)
    assert [v.remaining for v in takes(limiter, 6)] == [4, 3, 2, 1, 0, 0]


def test_a_refused_request_takes_no_token() -> None:
    clock = FakeClock()
    limiter = RateLimiter(LimitPolicy("token_bucket", requests=5, window=0.5), clock)
    takes(limiter, 5)
    assert not any(v.allowed for v in takes(limiter, 20))
    clock.advance(0.1)  # exactly one token, as if the 20 refusals had never happened
    assert [v.allowed for v in takes(limiter, 2)] == [True, False]


def test_a_clock_going_backwards_neither_refills_nor_breaks_the_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(LimitPolicy("token_bucket", requests=2, window=1.0), clock)
    takes(limiter, 2)
    clock.advance(-10)
    assert not limiter.take().allowed
    clock.advance(10.5)  # half a second after the bucket emptied: one token
    assert [v.allowed for v in takes(limiter, 2)] == [True, False]


@pytest.mark.parametrize("algorithm", ["fixed_window", "token_bucket"])
def test_shared_usage_spends_budget_beyond_our_own_requests(algorithm: str) -> None:
    every = RateLimiter(LimitPolicy(algorithm, requests=5, window=600, shared_usage=1.0),
                        FakeClock())
    verdicts = takes(every, 3)
    assert [(v.allowed, v.remaining) for v in verdicts] == [(True, 3), (True, 1), (False, 0)]

    def remaining(seed: int, share: float) -> list[int]:
        limiter = RateLimiter(LimitPolicy(algorithm, requests=1000, window=600,
                                          shared_usage=share, seed=seed), FakeClock())
        return [v.remaining for v in takes(limiter, 100)]

    half = remaining(7, 0.5)
    assert half == remaining(7, 0.5)  # seeded: the same every time
    assert 900 - 70 < half[-1] < 900 - 30  # ~50 extra units spent by "other integrations"
    assert remaining(7, 0.0)[-1] == 900
    assert half != remaining(8, 0.5)


@pytest.mark.parametrize("algorithm", ["fixed_window", "token_bucket"])
def test_the_limiter_is_thread_safe(algorithm: str) -> None:
    limiter = RateLimiter(LimitPolicy(algorithm, requests=300, window=1e9), FakeClock())
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [limiter.take().allowed for _ in range(100)]
        with lock:
            allowed.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 800 and sum(allowed) == 300


def test_configure_starts_afresh() -> None:
    clock = FakeClock()
    limiter = RateLimiter(LimitPolicy("fixed_window", requests=1, window=60), clock)
    assert [v.allowed for v in takes(limiter, 2)] == [True, False]
    limiter.configure(LimitPolicy("token_bucket", requests=3, window=60))
    assert [v.remaining for v in takes(limiter, 3)] == [2, 1, 0]


# -- what the verdict reports -------------------------------------------------------------------


def verdict(wait: float, *, now: float = T0, reset_at: float | None = None,
            **policy: Any) -> Verdict:
    return Verdict(LimitPolicy(**policy), wait == 0, 0, now + wait if reset_at is None
                   else reset_at, wait, now)


@pytest.mark.parametrize("style, wait, expected", [
    ("seconds", 0.1, "1"), ("seconds", 2.0, "2"), ("seconds", 2.3, "3"), ("seconds", 0.0, "1"),
    ("fractional", 0.37, "0.37"), ("fractional", 0.0001, "0.01"), ("fractional", 2.5, "2.50"),
    ("fractional", 0.371, "0.38"),
    ("zero", 5.0, "0"),
    ("none", 5.0, None),
])
def test_retry_after_styles(style: str, wait: float, expected: str | None) -> None:
    assert verdict(wait, retry_after_style=style).retry_after() == expected


@pytest.mark.parametrize("offset", [0.0, -30.0, 12.5])
def test_retry_after_as_an_http_date_uses_the_server_clock(offset: float) -> None:
    value = verdict(0.5, now=T0 + 0.2, retry_after_style="date", clock_offset=offset).retry_after()
    assert value is not None and value.endswith(" GMT")
    assert email.utils.parsedate_to_datetime(value).timestamp() == math.ceil(T0 + 0.7 + offset)


def test_the_headers_follow_the_reset_style_and_the_clock_offset() -> None:
    seen = dict(verdict(0, reset_at=T0 + 0.2, requests=7, clock_offset=-30.0).headers())
    assert seen == {b"x-ratelimit-limit": b"7", b"x-ratelimit-remaining": b"0",
                    b"x-ratelimit-reset": str(math.ceil(T0 + 0.2 - 30)).encode()}
    bare = dict(verdict(0, reset_style="none", requests=7).headers())
    assert set(bare) == {b"x-ratelimit-limit", b"x-ratelimit-remaining"}


@pytest.mark.parametrize("settings, message", [
    ({"algorithm": "leaky_bucket"}, "rate_limit"),
    ({"requests": 0}, "rate_limit_requests"), ({"requests": 2.5}, "rate_limit_requests"),
    ({"requests": True}, "rate_limit_requests"),
    ({"window": 0}, "rate_limit_window"), ({"window": math.inf}, "rate_limit_window"),
    ({"window": "60"}, "rate_limit_window"),
    ({"retry_after_style": "minutes"}, "retry_after_style"), ({"reset_style": "iso"}, "reset_style"),
    ({"clock_offset": math.nan}, "clock_offset"), ({"clock_offset": "3"}, "clock_offset"),
    ({"shared_usage": 1.5}, "shared_usage"), ({"shared_usage": -0.1}, "shared_usage"),
])
def test_a_policy_that_makes_no_sense_is_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LimitPolicy(**settings)


def test_fault_config_maps_to_the_limit_policy() -> None:
    assert FaultConfig().limit_policy() == LimitPolicy("fixed_window", 1_000_000, 60.0)
    assert FaultConfig(requests_per_minute=5, retry_after_style="none", seed=3).limit_policy() \
        == LimitPolicy("fixed_window", 5, 60.0, retry_after_style="none", seed=3)
    config = FaultConfig.from_dict({
        "rate_limit": "token_bucket", "rate_limit_requests": 10, "rate_limit_window": 2.5,
        "retry_after_style": "date", "reset_style": "none", "clock_offset": -4,
        "shared_usage": 0.25, "seed": 9})
    assert config.limit_policy() == LimitPolicy("token_bucket", 10, 2.5, "date", "none", -4,
                                                0.25, 9)
    assert FaultConfig.from_dict({"rate_limit": None}).rate_limit is None
    with pytest.raises(FaultConfigError, match="requests_per_minute"):
        FaultConfig(rate_limit="fixed_window", requests_per_minute=5)
    with pytest.raises(FaultConfigError, match="shared_usage"):
        FaultConfig.from_dict({"shared_usage": 2})


# -- through the API: in-process and over TCP ---------------------------------------------------


@pytest.fixture(params=["inprocess", "tcp"])
def handle(request: pytest.FixtureRequest) -> Handle:
    return request.getfixturevalue(
        "sandbox_app" if request.param == "inprocess" else "reused_sandbox_server")


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[InProcessSandbox, FakeClock]]:
    clock = FakeClock()
    sandbox = InProcessSandbox(tmp_path / "clocked.db", clock=clock)
    yield sandbox, clock
    sandbox.close()


def rate(response: httpx.Response) -> tuple[str | None, str | None, str | None]:
    h = response.headers
    return h.get("X-RateLimit-Limit"), h.get("X-RateLimit-Remaining"), h.get("X-RateLimit-Reset")


def assert_limited(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["error"] == "rate_limit_exceeded" and body["message"]
    return body


@pytest.mark.parametrize("algorithm", ["fixed_window", "token_bucket"])
def test_every_answer_carries_the_limiters_headers(handle: Handle, algorithm: str) -> None:
    handle.set_faults(rate_limit=algorithm, rate_limit_requests=10, rate_limit_window=600)
    started = time.time()
    created = handle.request("POST", json={"name": "A", "source_name": "a"}).json()
    answers = [
        handle.request("GET"),
        handle.request("POST", json={"name": "A", "source_name": "a"}),  # 409
        handle.request("POST", json={}),  # 422
        handle.request("PATCH", "/custom-connectors/nope", json={}),  # 404
        handle.request("DELETE", f"/custom-connectors/{created['connector_id']}"),  # 405
        handle.request("GET", key=None),  # 401
        handle.request("GET", key="pk_live_ro_x"),  # 200
        handle.request("POST", key="pk_live_ro_x", json={}),  # 403
        handle.request("GET"),  # the 10th: the last one
        handle.request("GET"),  # 429
    ]
    assert [r.status_code for r in answers] == [200, 409, 422, 404, 405, 401, 200, 403, 200, 429]
    assert [rate(r)[0] for r in answers] == ["10"] * 10
    assert [rate(r)[1] for r in answers] == ["8", "7", "6", "5", "4", "3", "2", "1", "0", "0"]
    for response in answers:
        reset = int(rate(response)[2] or 0)
        assert started < reset <= math.ceil(time.time()) + 600
    handle.set_faults(rate_limit=algorithm, rate_limit_requests=9, rate_limit_window=600,
                      error_rate=1.0, seed=1)  # new faults: a full budget again
    faulted = [handle.request("GET") for _ in range(4)]
    assert {r.status_code for r in faulted} <= {500, 502, 503}
    assert [rate(r)[1] for r in faulted] == ["8", "7", "6", "5"]


@pytest.mark.parametrize("algorithm", ["fixed_window", "token_bucket"])
def test_a_request_over_the_limit_is_429_and_not_executed(handle: Handle, algorithm: str) -> None:
    handle.set_faults(rate_limit=algorithm, rate_limit_requests=3, rate_limit_window=600)
    statuses = [handle.request("POST", json={"name": "N", "source_name": f"c{i}"}).status_code
                for i in range(3)]
    assert statuses == [201, 201, 201]
    body = assert_limited(handle.request("POST", json={"name": "N", "source_name": "late"}))
    assert "3 requests" in body["message"]
    assert sorted(c["source_name"] for c in handle.state()) == ["c0", "c1", "c2"]


_FRACTIONAL = re.compile(r"^\d+\.\d\d$")


@pytest.mark.parametrize("algorithm", ["fixed_window", "token_bucket"])
@pytest.mark.parametrize("style", ["seconds", "fractional", "zero", "date", "none"])
def test_retry_after_in_each_style(handle: Handle, algorithm: str, style: str) -> None:
    handle.set_faults(rate_limit=algorithm, rate_limit_requests=2, rate_limit_window=30,
                      retry_after_style=style)
    handle.request("GET")
    handle.request("GET")
    before = time.time()
    limited = handle.request("GET")
    assert_limited(limited)
    value = limited.headers.get("Retry-After")
    if style == "none":
        assert value is None
    elif style == "zero":
        assert value == "0"
    elif style == "seconds":
        assert value is not None and value.isdigit() and 1 <= int(value) <= 30
    elif style == "fractional":
        assert value is not None and _FRACTIONAL.match(value), value
        assert 0 < float(value) <= 30 and "." in value
    else:
        assert value is not None
        when = email.utils.parsedate_to_datetime(value).timestamp()
        assert before < when <= before + 31


def test_retry_after_is_the_true_remaining_wait(
        clocked: tuple[InProcessSandbox, FakeClock]) -> None:
    sandbox, clock = clocked
    sandbox.set_faults(rate_limit="fixed_window", rate_limit_requests=2, rate_limit_window=0.5,
                       retry_after_style="fractional")
    sandbox.request("GET")
    clock.advance(0.13)
    sandbox.request("GET")
    limited = sandbox.request("GET")
    assert_limited(limited)
    assert limited.headers["Retry-After"] == "0.37"
    assert limited.headers["X-RateLimit-Reset"] == str(math.ceil(T0 + 0.5))


def test_the_clock_offset_moves_reset_and_dates(handle: Handle) -> None:
    handle.set_faults(rate_limit="fixed_window", rate_limit_requests=1, rate_limit_window=60,
                      clock_offset=-120.0, retry_after_style="date")
    first = handle.request("GET")
    assert int(rate(first)[2] or 0) < time.time()  # the server's clock is behind: already past
    limited = handle.request("GET")
    assert_limited(limited)
    assert email.utils.parsedate_to_datetime(limited.headers["Retry-After"]).timestamp() \
        < time.time()
    handle.set_faults(rate_limit="fixed_window", rate_limit_requests=1, rate_limit_window=60,
                      clock_offset=3600.0)
    ahead = handle.request("GET")
    assert int(rate(ahead)[2] or 0) > time.time() + 3600


def test_reset_style_none_omits_the_reset_header(handle: Handle) -> None:
    handle.set_faults(rate_limit="token_bucket", rate_limit_requests=4, rate_limit_window=60,
                      reset_style="none")
    response = handle.request("GET")
    assert rate(response) == ("4", "3", None)


def test_a_fixed_window_resets_in_real_time(handle: Handle) -> None:
    handle.set_faults(rate_limit="fixed_window", rate_limit_requests=3, rate_limit_window=1.0,
                      retry_after_style="fractional")
    assert [handle.request("GET").status_code for _ in range(3)] == [200, 200, 200]
    limited = handle.request("GET")
    assert_limited(limited)
    time.sleep(float(limited.headers["Retry-After"]) + 0.02)  # rounded up: the window is over
    after = handle.request("GET")
    assert after.status_code == 200 and rate(after)[1] == "2"


def test_a_fixed_window_resets_on_the_clock(clocked: tuple[InProcessSandbox, FakeClock]) -> None:
    sandbox, clock = clocked
    sandbox.set_faults(rate_limit="fixed_window", rate_limit_requests=5, rate_limit_window=0.5)
    assert [sandbox.request("GET").status_code for _ in range(6)] == [200] * 5 + [429]
    clock.advance(0.49)
    assert_limited(sandbox.request("GET"))
    clock.advance(0.01)
    fresh = sandbox.request("GET")
    assert fresh.status_code == 200
    assert rate(fresh) == ("5", "4", str(math.ceil(T0 + 1.0)))


def test_a_token_bucket_refills_through_the_api(
        clocked: tuple[InProcessSandbox, FakeClock]) -> None:
    sandbox, clock = clocked
    sandbox.set_faults(rate_limit="token_bucket", rate_limit_requests=5, rate_limit_window=0.5,
                       retry_after_style="fractional")
    assert [sandbox.request("GET").status_code for _ in range(5)] == [200] * 5
    limited = sandbox.request("GET")
    assert_limited(limited)
    assert limited.headers["Retry-After"] == "0.10"
    clock.advance(0.1)
    assert [sandbox.request("GET").status_code for _ in range(2)] == [200, 429]
    clock.advance(0.3)
    answers = [sandbox.request("GET") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [rate(r)[1] for r in answers] == ["2", "1", "0", "0"]


def test_shared_usage_makes_remaining_drop_faster(handle: Handle) -> None:
    handle.set_faults(rate_limit="fixed_window", rate_limit_requests=10, rate_limit_window=600,
                      shared_usage=1.0)
    answers = [handle.request("GET") for _ in range(6)]
    assert [rate(r)[1] for r in answers] == ["8", "6", "4", "2", "0", "0"]
    assert [r.status_code for r in answers] == [200] * 5 + [429]

    def seeded() -> list[str | None]:
        handle.set_faults(rate_limit="token_bucket", rate_limit_requests=100,
                          rate_limit_window=3600, shared_usage=0.5, seed=11)
        return [rate(handle.request("GET"))[1] for _ in range(20)]

    first = seeded()
    assert first == seeded()  # the seed decides when the others spend
    assert 100 - 20 - 18 < int(first[-1] or 0) < 100 - 20  # 20 of ours, ~10 of theirs


def test_a_request_is_counted_before_auth_and_auth_comes_before_the_429(handle: Handle) -> None:
    handle.set_faults(rate_limit="fixed_window", rate_limit_requests=3, rate_limit_window=600)
    refused = handle.request("GET", key="pk_live_revoked_x")
    assert refused.status_code == 401 and rate(refused)[1] == "2"
    assert [handle.request("GET").status_code for _ in range(3)] == [200, 200, 429]
    assert handle.request("GET", key=None).status_code == 401


def test_sandbox_reset_and_new_faults_restart_the_limiter(handle: Handle) -> None:
    limited = {"rate_limit": "fixed_window", "rate_limit_requests": 2, "rate_limit_window": 600}
    handle.set_faults(**limited)
    assert [handle.request("GET").status_code for _ in range(3)] == [200, 200, 429]
    handle.reset()
    after_reset = handle.request("GET")
    assert after_reset.status_code == 200
    assert rate(after_reset)[:2] == ("1000000", "999999")  # the default budget, fresh
    handle.set_faults(**limited)
    handle.request("GET")
    assert [handle.request("GET").status_code for _ in range(2)] == [200, 429]
    handle.set_faults(**limited)  # the same settings again: a full budget again
    assert rate(handle.request("GET"))[1] == "1"


def test_the_requests_per_minute_budget_takes_the_styles_too(handle: Handle) -> None:
    handle.set_faults(requests_per_minute=2, retry_after_style="none", reset_style="none")
    answers = [handle.request("GET") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [rate(r) for r in answers] == [("2", "1", None), ("2", "0", None), ("2", "0", None)]
    assert "Retry-After" not in answers[2].headers


def test_injected_429s_keep_their_own_retry_after(handle: Handle) -> None:
    handle.set_faults(rate_limit="token_bucket", rate_limit_requests=50, rate_limit_window=60,
                      rate_limit_rate=1.0, retry_after=2, retry_after_style="none")
    injected = handle.request("GET")
    assert_limited(injected)
    assert injected.headers["Retry-After"] == "2" and rate(injected)[1] == "49"


@pytest.mark.parametrize("faults", [
    {"rate_limit": "leaky_bucket"}, {"rate_limit": "fixed_window", "rate_limit_requests": 0},
    {"rate_limit_window": -1}, {"retry_after_style": "never"}, {"reset_style": "date"},
    {"clock_offset": "soon"}, {"shared_usage": 1.01},
    {"rate_limit": "token_bucket", "requests_per_minute": 5},
])
def test_the_control_api_refuses_bad_rate_limit_settings(reused_sandbox_server: SandboxProcess,
                                                         faults: dict[str, Any]) -> None:
    response = httpx.post(f"{reused_sandbox_server.root}/_sandbox/faults", json=faults)
    assert response.status_code == 422 and response.json()["error"] == "validation_error"
    assert reused_sandbox_server.faults()["rate_limit"] is None


def test_the_control_api_shows_the_rate_limit_settings(reused_sandbox_server: SandboxProcess) -> None:
    settings = {"rate_limit": "token_bucket", "rate_limit_requests": 600,
                "rate_limit_window": 60.0, "retry_after_style": "date", "reset_style": "none",
                "clock_offset": -2.5, "shared_usage": 0.3}
    assert {k: reused_sandbox_server.set_faults(**settings)[k] for k in settings} == settings
    assert {k: reused_sandbox_server.faults()[k] for k in settings} == settings
