"""Rate-limit headers, the server's clock estimate and the pacer's budget, unit by unit."""

from __future__ import annotations

import asyncio
import email.utils

import pytest

from adapter_sync.pacing import BLOCKED, Pacer, TooLate, Turn
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


# --------------------------------------------------------------------------- the pacer's budget


class Clocks:
    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return NOW + self.now - 100.0


def answered(pacer: Pacer, turn: Turn | object, clocks: Clocks, **info: float) -> Turn:
    assert isinstance(turn, Turn)
    pacer.record(turn, RateLimitInfo(**info) if info else None, status=200,
                 sent=clocks.wall(), received=clocks.wall())
    return turn


def test_the_budget_left_is_spread_evenly_up_to_the_reset() -> None:
    clocks = Clocks()
    pacer = Pacer(None, clocks.clock, wall=clocks.wall)
    first = pacer.reserve()
    assert first.probe and pacer.reserve() is BLOCKED  # the others wait for its answer
    answered(pacer, first, clocks, limit=10, remaining=4, reset=NOW + 2.0)
    turns = [pacer.reserve() for _ in range(4)]
    assert [t.at - 100 for t in turns] == pytest.approx([0.0, 0.5, 1.0, 1.5])
    after = pacer.reserve()  # used up: after the reset (and a guard), probing the new budget
    assert after.probe and after.at - 100 == pytest.approx(2.02)


def test_the_budget_counts_requests_sent_since_its_answer() -> None:
    clocks = Clocks()
    pacer = Pacer(None, clocks.clock, wall=clocks.wall)
    answered(pacer, pacer.reserve(), clocks)  # no budget announced yet
    early = [pacer.reserve() for _ in range(3)]  # sent before the answer below
    answered(pacer, early[0], clocks, limit=10, remaining=3, reset=NOW + 1.0)
    # 3 left, 2 of them already spent by early[1:], so one more now, then the reset
    assert pacer.reserve().at == 100.0
    assert pacer.reserve().at - 100 == pytest.approx(1.02)


def test_rate_share_keeps_a_reserve_for_the_others() -> None:
    clocks = Clocks()
    pacer = Pacer(None, clocks.clock, wall=clocks.wall, rate_share=0.5)
    answered(pacer, pacer.reserve(), clocks, limit=10, remaining=7, reset=NOW + 1.0)
    turns = [pacer.reserve() for _ in range(3)]  # 7 left - 5 reserved = 2, then the reset
    assert [t.at - 100 for t in turns] == pytest.approx([0.0, 0.5, 1.02])
    assert turns[-1].probe
    with pytest.raises(ValueError):
        Pacer(None, clocks.clock, rate_share=0)


def test_a_reset_past_the_deadline_is_too_late_without_reserving() -> None:
    clocks = Clocks()
    pacer = Pacer(None, clocks.clock, wall=clocks.wall)
    answered(pacer, pacer.reserve(), clocks, limit=10, remaining=0, reset=NOW + 300)
    late = pacer.reserve(not_after=100.0 + 120)
    assert isinstance(late, TooLate) and late.reason == "rate_limit"
    assert late.at - 100 == pytest.approx(300.02)
    assert pacer.reserve(not_after=100.0 + 400).at == late.at  # nothing was taken


def test_news_of_a_budget_used_up_by_others_invalidates_waiting_turns() -> None:
    clocks = Clocks()
    pacer = Pacer(None, clocks.clock, wall=clocks.wall)
    answered(pacer, pacer.reserve(), clocks, limit=10, remaining=5, reset=NOW + 1.0)
    waiting = [pacer.reserve() for _ in range(3)]
    assert all(pacer.still_valid(t) for t in waiting)
    answered(pacer, waiting[0], clocks, limit=10, remaining=0, reset=NOW + 1.0)
    assert not pacer.still_valid(waiting[1])


def test_a_probe_that_gets_no_answer_still_releases_the_others() -> None:
    clocks = Clocks()

    async def main() -> None:
        pacer = Pacer(None, clocks.clock, wall=clocks.wall)
        probe = pacer.reserve()
        assert pacer.reserve() is BLOCKED
        waiter = pacer.probe_answered()
        assert not waiter.done()
        pacer.record(probe, None, status=None, sent=0.0, received=0.0)  # connection failed
        assert waiter.done() and isinstance(pacer.reserve(), Turn)
        cancelled = Pacer(None, clocks.clock)
        first = cancelled.reserve()
        cancelled.cancel(first)  # never sent: the next one probes instead
        assert cancelled.reserve().probe

    asyncio.run(main())
