"""When the next request of a client may leave: one pacer shared by every concurrent call.

Four things decide it:

- ``max_rps`` (optional): requests are spaced ``1 / max_rps`` seconds apart.
- The budget the server announces (``X-RateLimit-Limit``/``-Remaining``/``-Reset``). Left
  means ``Remaining`` of the newest answer, minus the requests sent since, minus a reserve of
  ``(1 - rate_share) x Limit`` kept for the other integrations on the same key (so with a
  fixed window at most ``rate_share`` of each window is ours). When the caller said how much
  work is left (:meth:`Pacer.expect`: an apply's writes) and the budget left covers it, it is
  spent at once: with ``Remaining: 10`` and a reset an hour away, 3 creates go now, none
  waits for a pacing gap that only an hour-long spread would need. Otherwise (more work than
  budget, or the work unknown) the budget left is spread evenly up to the reset instead of
  bursting into a 429: only work that would overrun the budget is paced. Once it is used up,
  the next request waits for the reset (plus a small guard). The work left is counted down by
  each request sent, so retries beyond it are paced again. (Why the caller's count rather than
  the calls waiting right now: an apply holds at most ``--concurrency`` calls in flight, so
  the calls waiting never show that 300 writes are coming and the budget must last.)
- A hold set by a 429: the server said "wait", so every call of this client waits, not only
  the refused one. Waiting in a hold is not a failed attempt of the calls that did not get
  the 429.
- Probing: when what the server allows next is unknown (the first request; after a hold;
  after a reset that ended a used-up budget), one request goes first and every other call
  waits for its answer (not for a clock). Then they are released at the rate that answer
  allows: spread over the new budget; or, from a server that announces no budget, one per the
  last hint's interval while calls wait (halved after 4 successes in a row, grown by half on a
  429 despite it).

``reserve()`` is synchronous, so under asyncio it is atomic: concurrent callers each get their
own turn without a lock. Clocks: ``clock`` (monotonic) for turns, ``wall`` (epoch) to read the
server's epoch headers through :class:`~adapter_sync.ratelimit.ServerClock`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from adapter_sync.ratelimit import RateLimitInfo, ServerClock

Clock = Callable[[], float]
Reason = Literal["", "rate_limit", "pacing"]

#: Seconds added after a reset before the first request of the new budget (clock skew within
#: our estimate, rounding), on top of the fastest round trip seen.
RESET_GUARD = 0.02
#: Successes in a row after which the release interval of a server announcing no budget halves.
RAMP_AFTER = 4
#: Below this, a release interval is dropped (no spacing).
MIN_INTERVAL = 0.001


@dataclass(frozen=True)
class WaitEvent:
    """A call about to wait: for the rate limit, or before a retry. For live progress."""

    reason: Literal["rate_limit", "retry"]
    seconds: float
    until: float  # epoch seconds (our clock)
    what: str  # e.g. "create 'acme'"
    attempt: int  # the attempt that comes after the wait
    message: str  # one line, e.g. "create 'acme': waiting for the rate limit until 12:00:05"


@dataclass(frozen=True)
class Turn:
    """A reserved turn: send at ``at`` (clock time)."""

    seq: int
    at: float
    reason: Reason  # why ``at`` may be later than now
    version: int  # the pacer's version when reserved (see :meth:`Pacer.still_valid`)
    probe: bool  # the other calls wait for this one's answer
    #: When the announced budget resets (clock time), if known: what messages name, not ``at``.
    reset: float | None = None


@dataclass(frozen=True)
class Blocked:
    """A probe is out: wait for its answer (:meth:`Pacer.probe_answered`), then reserve again."""


@dataclass(frozen=True)
class TooLate:
    """The next turn (``at``, clock time) is past the caller's ``not_after``. ``reset``:
    when the announced budget resets (clock time), if known; ``left``: the requests it has
    left (those are spread up to the reset when the work left needs more)."""

    at: float
    reason: Reason
    reset: float | None = None
    left: int | None = None


BLOCKED = Blocked()


@dataclass(frozen=True)
class _Budget:
    seq: int  # the turn whose answer announced it
    limit: int | None
    remaining: int
    reset: float | None  # epoch seconds on the server's clock
    reset_at: float | None  # clock time (for a reset given as seconds from the answer)


class Pacer:
    """The turns of one client's requests (see the module docstring)."""

    def __init__(self, max_rps: float | None, clock: Clock, *, wall: Clock | None = None,
                 rate_share: float = 1.0) -> None:
        if max_rps is not None and max_rps <= 0:
            raise ValueError("max_rps must be positive")
        if not 0.0 < rate_share <= 1.0:
            raise ValueError("rate_share must be more than 0 and at most 1")
        self._interval = 1.0 / max_rps if max_rps else 0.0
        self._clock = clock
        self._wall = wall
        self._share = rate_share
        self.server_clock = ServerClock()
        self._seq = 0
        self._version = 0
        self._next = float("-inf")  # max_rps spacing
        self._hold = float("-inf")
        self._budget: _Budget | None = None
        self._next_budget = float("-inf")
        #: Turns newer than the budget's answer that do not spend it: cancelled ones, and those
        #: reserved for after its reset (they spend the next budget).
        self._uncounted: set[int] = set()
        self._release = 0.0  # release interval, for a server announcing no budget
        self._streak = 0
        self._last_turn = float("-inf")
        self._outstanding = 0  # turns reserved and not yet recorded or cancelled
        self._released = 0  # calls that waited for a probe and have not had their turn yet
        self._hold_seq = 0  # the last turn reserved when the last hold began
        self._probe_seq = 0  # the turn probing (0: none)
        self._probe_waiters: list[asyncio.Future[None]] = []
        # The very first request probes too: what it learns (the budget) paces the others.
        self._probe_needed = True
        self._fastest = math.inf  # fastest round trip seen (seconds)
        self._work: int | None = None  # requests the caller still expects to make (None: unknown)

    @property
    def max_rps(self) -> float | None:
        return 1.0 / self._interval if self._interval else None

    def expect(self, requests: int | None) -> None:
        """About ``requests`` more requests are coming (None: unknown): a budget left that
        covers them is spent at once instead of spread up to its reset."""
        self._work = None if requests is None else max(requests, 0)

    # -- turns

    def reserve(self, now: float | None = None, not_after: float = math.inf
                ) -> Turn | Blocked | TooLate:
        """The next turn; or wait for a probe's answer; or "too late" (nothing reserved)."""
        if self._probe_seq:
            return BLOCKED
        now = self._clock() if now is None else now
        at = max(now, self._next, self._hold)
        reason: Reason = "rate_limit" if self._hold > now else "pacing" if at > now else ""
        probe = self._probe_needed
        spacing: float | None = None
        counted = True
        budget = self._budget
        reset_at: float | None = None
        left: float | None = None
        if budget is not None:
            left = self._left(budget)
            reset_at = self._reset_at(budget, now)
            if left < 1:
                # Used up: wait for the reset, then find out with one request.
                probe, counted = True, False
                if reset_at is not None and reset_at + self._guard() > at:
                    at, reason = reset_at + self._guard(), "rate_limit"
            elif reset_at is not None and reset_at > at and not self._covers(left):
                if self._next_budget > at:
                    at, reason = self._next_budget, "rate_limit"
                spacing = max(reset_at - at, 0.0) / left
        elif (self._release and (self._released or self._outstanding)
              and self._last_turn + self._release > at):
            at, reason = self._last_turn + self._release, "rate_limit"
        if at > not_after:
            return TooLate(at, reason, reset_at,
                           None if left is None else max(math.floor(left), 0))
        self._seq += 1
        self._outstanding += 1
        self._released = max(self._released - 1, 0)
        if self._work:
            self._work -= 1
        if not counted:
            self._uncount(self._seq)
        if self._interval:
            self._next = at + self._interval
        if spacing is not None:
            self._next_budget = at + spacing
        self._last_turn = at
        if probe:
            self._probe_seq, self._probe_needed = self._seq, False
        return Turn(self._seq, at, reason, self._version, probe, reset_at)

    def probe_answered(self) -> asyncio.Future[None]:
        """A future done when the probe out now has its answer (or gave up)."""
        waiter = asyncio.get_running_loop().create_future()
        if self._probe_seq:
            self._probe_waiters.append(waiter)
        else:
            waiter.set_result(None)
        return waiter

    def still_valid(self, turn: Turn) -> bool:
        """False when a hold or a used-up budget arrived since ``turn`` was reserved: then
        :meth:`cancel` it and reserve again."""
        return turn.version == self._version

    def cancel(self, turn: Turn) -> None:
        """``turn`` was not used (nothing was sent)."""
        self._outstanding -= 1
        self._uncount(turn.seq)
        if self._work is not None:
            self._work += 1  # it will ask again
        if turn.probe:
            self._probe_needed = True
            self._end_probe(turn)

    def record(self, turn: Turn, info: RateLimitInfo | None, *, status: int | None,
               sent: float, received: float) -> None:
        """The end of a sent turn: its answer's status and rate-limit info (None for no
        answer), ``sent``/``received`` on the wall clock."""
        self._outstanding -= 1
        if info is not None:
            self.server_clock.observe(info, sent, received)
            if info.remaining is not None and (self._budget is None
                                               or turn.seq > self._budget.seq):
                reset_at = (self._clock() + info.reset_after if info.reset_after is not None
                            else None)
                self._budget = _Budget(turn.seq, info.limit, info.remaining, info.reset,
                                       reset_at)
                self._uncounted = {seq for seq in self._uncounted if seq > turn.seq}
                if self._left(self._budget) < 0:
                    # Others used the budget too: turns reserved before this news overdraw it
                    # and must ask again.
                    self._version += 1
        if status is not None:
            self._fastest = min(self._fastest, max(received - sent, 0.0))
            if 200 <= status < 300 and self._release:
                self._streak += 1
                if self._streak >= RAMP_AFTER:
                    self._streak = 0
                    self._release = self._release / 2 if self._release / 2 >= MIN_INTERVAL \
                        else 0.0
        if turn.probe:
            self._end_probe(turn)

    def hold(self, seconds: float, turn: Turn | None = None, now: float | None = None) -> None:
        """A 429 (to ``turn``): no call of this client sends for ``seconds``; then one probes
        first and the calls that waited are released one by one."""
        now = self._clock() if now is None else now
        self._hold = max(self._hold, now + seconds)
        self._probe_needed = True
        self._version += 1
        self._streak = 0
        if self._budget is None:  # no budget announced: release at the interval it implies
            if turn is None or turn.seq > self._hold_seq:  # a 429 despite the last hold
                self._release = max(seconds, self._release * 1.5)
            else:  # one more 429 of a burst sent before the last hold
                self._release = max(seconds, self._release)
        self._hold_seq = self._seq

    def hold_until(self, when: float) -> None:
        """Keep every call of this client from sending before ``when`` (clock time)."""
        if when > self._hold:
            self._hold = when
            self._version += 1

    # -- the server's clock

    def server_now(self) -> float:
        """The server's clock now (epoch seconds), as best known."""
        wall = self._wall() if self._wall is not None else 0.0
        return self.server_clock.server_now(wall)

    def to_wall(self, clock_time: float) -> float:
        """Our wall-clock epoch for a time on ``clock``."""
        wall = self._wall() if self._wall is not None else 0.0
        return wall + (clock_time - self._clock())

    # -- internals

    def _covers(self, left: float) -> bool:
        """The budget left covers the work the caller said is left (this request included)."""
        return self._work is not None and left >= max(self._work, 1)

    def _left(self, budget: _Budget) -> float:
        sent_since = self._seq - budget.seq - sum(seq > budget.seq for seq in self._uncounted)
        reserve = (1.0 - self._share) * budget.limit if budget.limit else 0.0
        return budget.remaining - sent_since - reserve

    def _reset_at(self, budget: _Budget, now: float) -> float | None:
        if budget.reset_at is not None:
            return budget.reset_at
        if budget.reset is None or self._wall is None:
            return None
        return now + (budget.reset - self.server_now())

    def _uncount(self, seq: int) -> None:
        if len(self._uncounted) > 10_000:  # bounded even if no budget is ever announced
            self._uncounted.clear()
        self._uncounted.add(seq)

    def _guard(self) -> float:
        return RESET_GUARD + (self._fastest if math.isfinite(self._fastest) else 0.0)

    def _end_probe(self, turn: Turn) -> None:
        if turn.seq == self._probe_seq:
            self._probe_seq = 0
            waiters, self._probe_waiters = self._probe_waiters, []
            for waiter in waiters:
                if not waiter.done():  # (a waiter past its deadline gave up: cancelled)
                    waiter.set_result(None)
                    self._released += 1
