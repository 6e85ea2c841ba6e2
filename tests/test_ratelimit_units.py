"""Rate-limit headers and the server's clock estimate, unit by unit."""

from __future__ import annotations

import email.utils

import pytest

from adapter_sync.ratelimit import RateLimitInfo, ServerClock
from adapter_sync.retry import parse_reset

NOW = 1_700_000_000.0


def date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


# --------------------------------------------------------------------------- headers


def test_rate_limit_headers_are_read() -> None:
    info = RateLimitInfo.from_headers({"x-ratelimit-limit": "60", "x-ratelimit-remaining": "7",
                                       "x-ratelimit-reset": str(int(NOW) + 30),
                                       "date": date(NOW)})
    assert info == RateLimitInfo(60, 7, NOW + 30, None, NOW)


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, None),
    ({"content-type": "application/json"}, None),
    ({"x-ratelimit-remaining": "-1", "x-ratelimit-limit": "ten"}, None),
    ({"x-ratelimit-remaining": "3"}, RateLimitInfo(remaining=3)),
    ({"x-ratelimit-reset": "12"}, RateLimitInfo(reset_after=12.0)),  # a delta
    ({"x-ratelimit-reset": "1700000010000"}, RateLimitInfo(reset=NOW + 10)),  # milliseconds
    ({"x-ratelimit-reset": "soon", "date": "yesterday"}, None),
])
def test_odd_rate_limit_headers(headers: dict[str, str], expected: RateLimitInfo | None) -> None:
    assert RateLimitInfo.from_headers(headers) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (None, (None, None)), ("", (None, None)), ("nan", (None, None)), ("x", (None, None)),
    ("40", (None, 40.0)), ("-5", (None, 0.0)), ("1700000010", (NOW + 10, None)),
    ("1700000010000", (NOW + 10, None)),
])
def test_parse_reset(value: str | None, expected: tuple) -> None:
    assert parse_reset(value) == expected


# --------------------------------------------------------------------------- the server's clock


def test_clocks_are_assumed_in_sync_until_the_evidence_says_otherwise() -> None:
    clock = ServerClock()
    assert clock.offset == 0.0
    clock.observe(RateLimitInfo(reset=NOW + 0.7, date=NOW), sent=NOW + 0.1, received=NOW + 0.2)
    assert clock.offset == 0.0  # within [Date - received, reset - sent]


def test_a_server_behind_us_is_bounded_by_its_resets_without_a_date() -> None:
    clock = ServerClock()
    # the server's clock is 2 s behind: its resets look past on ours
    for sent, reset in [(NOW + 0.1, NOW - 1), (NOW + 0.95, NOW - 1), (NOW + 1.5, NOW)]:
        clock.observe(RateLimitInfo(reset=reset), sent=sent, received=sent + 0.01)
    assert clock.offset == pytest.approx(-1.95)  # never later than the true -2 + the gap seen
    assert clock.server_now(NOW + 3) == pytest.approx(NOW + 1.05)


def test_a_date_header_brackets_the_offset_and_its_lower_bound_is_taken() -> None:
    clock = ServerClock()
    # server 2.4 s ahead: Date is its whole second while our request was out
    for ours in (NOW + 0.2, NOW + 0.55, NOW + 0.61):
        server = ours + 2.4
        clock.observe(RateLimitInfo(date=float(int(server))), sent=ours - 0.01, received=ours)
    # bounds: Date - received <= offset < Date + 1 - sent; the lower one is the safe side
    assert 2.3 < clock.offset <= 2.4


def test_a_reset_bound_that_contradicts_the_date_gives_way() -> None:
    clock = ServerClock()
    clock.observe(RateLimitInfo(reset=NOW - 5, date=NOW), sent=NOW, received=NOW + 0.1)
    # the reset says <= -5, the Date [-0.1, 1.0): the Date wins, and it allows clocks in sync
    assert clock.offset == 0.0


def test_a_clock_that_jumped_starts_the_estimate_again() -> None:
    clock = ServerClock()
    clock.observe(RateLimitInfo(date=NOW), sent=NOW, received=NOW)
    clock.observe(RateLimitInfo(date=NOW + 60), sent=NOW + 1, received=NOW + 1)
    assert clock.offset == pytest.approx(59.0)
