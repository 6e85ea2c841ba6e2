"""What an answer says about the rate limit, and how far the server's clock is from ours.

Pure: no I/O; the caller passes the times.

- :class:`RateLimitInfo` reads ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` and ``Date``.
- :class:`ServerClock` estimates the server's clock offset (server minus ours). The contract
  warns that ``X-RateLimit-Reset`` (epoch seconds) may be "a few seconds in the past or the
  future": the server's clock is not ours. Two kinds of evidence bound the offset:

  * a ``Date`` header, stamped while our request was in flight, whole seconds:
    ``Date - received <= offset < Date + 1 - sent``;
  * a reset is never in the server's own past when it answers (a window ends, a bucket fills
    up, after "now"): ``offset <= Reset - sent``. Over many answers some land just before a
    reset, so this bound closes in on the true offset from above.

  The estimate assumes synchronised clocks (offset 0) until the evidence rules that out; then
  it takes the lower bound, on whose side resets look later (we wait a little longer, never
  less), and only without a ``Date`` the upper bound. When the two kinds disagree (a server
  that rounds its reset down), the ``Date`` wins. So, with no ``Date`` header: a server ahead
  of us looks in sync (we wait up to the skew longer than needed, never less), and a server
  behind us is tracked from the reset bound, which may leave us early by the smallest gap
  seen between a request and a reset (the pacer adds a guard, probes with one request, and
  each 429 it meets tightens the bound).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from adapter_sync.retry import parse_reset


@dataclass(frozen=True)
class RateLimitInfo:
    """The rate-limit headers of one answer (any may be missing)."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None  # epoch seconds on the server's clock
    reset_after: float | None = None  # seconds from the answer (servers sending a delta)
    date: float | None = None  # the Date header, epoch seconds (whole)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """The info in ``headers``, or None when they say nothing about the limit or clock."""
        limit = _count(headers.get("x-ratelimit-limit"))
        remaining = _count(headers.get("x-ratelimit-remaining"))
        reset, reset_after = parse_reset(headers.get("x-ratelimit-reset"))
        date = _http_date(headers.get("date"))
        if limit is None and remaining is None and reset is None and reset_after is None \
                and date is None:
            return None
        return cls(limit, remaining, reset, reset_after, date)


def _count(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number >= 0 else None


def _http_date(value: str | None) -> float | None:
    return _parse_http_date(value) if value else None


@functools.lru_cache(maxsize=8)  # a server's Date changes once a second: parse it once
def _parse_http_date(value: str) -> float | None:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() if when.tzinfo is not None else None


class ServerClock:
    """The server's clock offset (server minus ours, seconds), from the answers seen."""

    def __init__(self) -> None:
        self._low = -math.inf  # from Date
        self._high_date = math.inf  # from Date
        self._high_reset = math.inf  # from X-RateLimit-Reset

    def observe(self, info: RateLimitInfo, sent: float, received: float) -> None:
        """Take the evidence of one answer; ``sent``/``received`` on our wall clock."""
        if info.date is not None:
            low, high = info.date - received, info.date + 1.0 - sent
            if low > self._high_date or high < self._low:  # a clock jumped: start again
                self._low, self._high_date, self._high_reset = low, high, math.inf
            else:
                self._low, self._high_date = max(self._low, low), min(self._high_date, high)
        if info.reset is not None:
            self._high_reset = min(self._high_reset, info.reset - sent)

    @property
    def offset(self) -> float:
        low, high = self._low, min(self._high_date, self._high_reset)
        if low > high:  # the reset bound contradicts the Date: trust the Date
            high = self._high_date
        if low <= 0.0 <= high:
            return 0.0
        # Clocks proven apart: the lower bound makes resets look later (we wait a little
        # longer, never less); only without one (no Date) is the upper bound all there is.
        return low if math.isfinite(low) else high

    def server_now(self, wall: float) -> float:
        """The server's clock when ours reads ``wall``."""
        return wall + self.offset
