"""The sandbox's rate limiter: a fixed window or a token bucket, and the headers it answers with.

The contract (docs/api-contract.md) leaves the real limiter undocumented and asks the client to
survive a fixed window or a token bucket, any ``Retry-After`` spelling (absent, ``0``,
fractional, an HTTP date), a server clock that is not ours and a budget shared with other
integrations. A
:class:`LimitPolicy` picks one of each; :class:`RateLimiter` applies it to every ``/v1`` request.

Semantics (the same for both algorithms):

- every request is counted when it arrives (before auth and injected faults), so 401s and
  injected 5xx spend budget too; a request *refused* here (429) spends nothing: for a token
  bucket it takes no token, for a fixed window the window is already spent anyway;
- ``shared_usage`` is the chance that "another integration on the same key" spends one unit just
  before each of our requests (drawn with the seeded dice), so ``Remaining`` drops faster than
  our own requests explain; it never spends what is not there;
- ``X-RateLimit-Remaining`` is the whole number of requests left after this one (>= 0);
- ``X-RateLimit-Reset`` (``reset_style="epoch"``): integer epoch seconds, rounded up. Fixed
  window: the end of the current window. Token bucket: when the next token arrives if the bucket
  is empty (``Remaining: 0``), else when the bucket is full again — either way the moment after
  which spending ``Remaining`` cannot be refused;
- ``Retry-After`` on a 429 is the true wait until a request would be allowed, formatted by
  ``retry_after_style``: ``seconds`` (whole, rounded up, >= 1), ``fractional`` (two decimals,
  rounded up, >= 0.01), ``zero`` (``0``), ``date`` (an HTTP date, rounded up to the second) or
  ``none`` (no header);
- ``clock_offset`` seconds are added to the server's clock for ``X-RateLimit-Reset`` and HTTP
  dates only (negative: the server's clock runs behind ours, so a Reset can already be past).

A fixed window is aligned to the clock, as the classic algorithm keys its counter by
``floor(now / window)``: windows of 60 s start on the minute, windows of 1 s on the second, so
an ``X-RateLimit-Reset`` in whole epoch seconds is exact. A token bucket holds ``requests``
tokens, starts full and refills ``requests / window`` tokens per second.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from adapter_sync.sandbox.contract import HEADER_LIMIT, HEADER_REMAINING, HEADER_RESET

Algorithm = Literal["fixed_window", "token_bucket"]
RetryAfterStyle = Literal["seconds", "fractional", "zero", "date", "none"]
ResetStyle = Literal["epoch", "none"]
ALGORITHMS: tuple[Algorithm, ...] = ("fixed_window", "token_bucket")
RETRY_AFTER_STYLES: tuple[RetryAfterStyle, ...] = ("seconds", "fractional", "zero", "date", "none")
RESET_STYLES: tuple[ResetStyle, ...] = ("epoch", "none")

Clock = Callable[[], float]
#: Epoch seconds as floats are exact to ~0.24 µs only: a moment this close to a window's end,
#: or to a token's arrival, counts as reached.
_TOLERANCE = 1e-6
_LIMIT = HEADER_LIMIT.lower().encode()
_REMAINING = HEADER_REMAINING.lower().encode()
_RESET = HEADER_RESET.lower().encode()


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


@dataclass(frozen=True)
class LimitPolicy:
    """How requests are limited and how the limit is reported. Raises ValueError if invalid."""

    algorithm: Algorithm = "fixed_window"
    requests: int = 60
    window: float = 60.0
    retry_after_style: RetryAfterStyle = "seconds"
    reset_style: ResetStyle = "epoch"
    clock_offset: float = 0.0
    shared_usage: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"rate_limit must be null or one of: {', '.join(ALGORITHMS)}")
        if isinstance(self.requests, bool) or not isinstance(self.requests, int) \
                or self.requests < 1:
            raise ValueError("rate_limit_requests must be an integer >= 1")
        if not _is_number(self.window) or self.window <= 0:
            raise ValueError("rate_limit_window must be a number of seconds > 0")
        if self.retry_after_style not in RETRY_AFTER_STYLES:
            raise ValueError(f"retry_after_style must be one of: {', '.join(RETRY_AFTER_STYLES)}")
        if self.reset_style not in RESET_STYLES:
            raise ValueError(f"reset_style must be one of: {', '.join(RESET_STYLES)}")
        if not _is_number(self.clock_offset):
            raise ValueError("clock_offset must be a number of seconds")
        if not _is_number(self.shared_usage) or not 0 <= self.shared_usage <= 1:
            raise ValueError("shared_usage must be a number between 0 and 1")

    def describe(self) -> str:
        if self.algorithm == "token_bucket":
            return (f"a bucket of {self.requests} requests refilled over {self.window:g} s "
                    "(token bucket)")
        return f"{self.requests} requests per {self.window:g} s (fixed window)"


@dataclass(frozen=True)
class Verdict:
    """The limiter's answer to one request; ``now`` and ``reset_at`` are on the true clock."""

    policy: LimitPolicy
    allowed: bool
    remaining: int
    reset_at: float
    #: Seconds until a request would be allowed (0 when this one is).
    wait: float
    now: float

    def headers(self) -> list[tuple[bytes, bytes]]:
        """``X-RateLimit-Limit``, ``-Remaining`` and (unless ``reset_style="none"``) ``-Reset``."""
        out = [(_LIMIT, str(self.policy.requests).encode()),
               (_REMAINING, str(self.remaining).encode())]
        if self.policy.reset_style == "epoch":
            reset = math.ceil(self.reset_at + self.policy.clock_offset)
            out.append((_RESET, str(reset).encode()))
        return out

    def retry_after(self) -> str | None:
        """The ``Retry-After`` value of a 429 in the policy's style (None: send no header)."""
        style = self.policy.retry_after_style
        if style == "none":
            return None
        if style == "zero":
            return "0"
        if style == "seconds":
            return str(max(_ceil(self.wait), 1))
        if style == "fractional":
            return f"{max(_ceil(self.wait * 100), 1) / 100:.2f}"
        at = _ceil(self.now + self.policy.clock_offset + self.wait)
        return email.utils.formatdate(at, usegmt=True)


def _ceil(value: float) -> int:
    """Round up, ignoring float noise (``0.37 * 100`` is ``37.00000000000001``)."""
    return math.ceil(round(value, 6))


class _FixedWindow:
    """``requests`` per window; windows are aligned to the clock (``floor(now / window)``)."""

    def __init__(self, requests: int, window: float) -> None:
        self.requests = requests
        self.window = window
        self._end = -math.inf
        self._used = 0

    def _roll(self, now: float) -> None:
        if now >= self._end - _TOLERANCE:
            start = math.floor((now + _TOLERANCE) / self.window) * self.window
            self._end, self._used = start + self.window, 0

    def spend_other(self, now: float) -> None:
        self._roll(now)
        self._used = min(self._used + 1, self.requests)

    def take(self, now: float) -> tuple[bool, int, float, float]:
        self._roll(now)
        if self._used >= self.requests:
            return False, 0, self._end, self._end - now
        self._used += 1
        return True, self.requests - self._used, self._end, 0.0


class _TokenBucket:
    """``requests`` tokens, full at the start, refilled at ``requests / window`` per second."""

    def __init__(self, requests: int, window: float) -> None:
        self.capacity = float(requests)
        self.rate = requests / window
        self._whole = 1 - min(self.rate * _TOLERANCE, 1e-3)  # counts as one token
        self._tokens = self.capacity
        self._last: float | None = None

    def _refill(self, now: float) -> None:
        if self._last is not None and now > self._last:
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        if self._last is None or now > self._last:
            self._last = now

    def spend_other(self, now: float) -> None:
        self._refill(now)
        if self._tokens >= self._whole:
            self._tokens = max(self._tokens - 1, 0.0)

    def take(self, now: float) -> tuple[bool, int, float, float]:
        self._refill(now)
        if self._tokens < self._whole:
            wait = (1 - self._tokens) / self.rate
            return False, 0, now + wait, wait
        self._tokens = max(self._tokens - 1, 0.0)
        remaining = math.floor(self._tokens + 1 - self._whole)
        if remaining == 0:
            reset = now + (1 - self._tokens) / self.rate  # the next token
        else:
            reset = now + (self.capacity - self._tokens) / self.rate  # full again
        return True, remaining, reset, 0.0


class RateLimiter:
    """The limit in force and its state; thread-safe. :meth:`configure` starts afresh.

    ``clock`` gives epoch seconds (``time.time``); tests pass a fake one.
    """

    def __init__(self, policy: LimitPolicy | None = None, clock: Clock = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.configure(policy or LimitPolicy())

    @property
    def policy(self) -> LimitPolicy:
        return self._policy

    def configure(self, policy: LimitPolicy) -> None:
        """Apply ``policy`` with a full budget and fresh shared-usage dice."""
        algorithm: _FixedWindow | _TokenBucket
        if policy.algorithm == "token_bucket":
            algorithm = _TokenBucket(policy.requests, policy.window)
        else:
            algorithm = _FixedWindow(policy.requests, policy.window)
        # its own dice (seeded from the fault seed): the fault dice keep their sequence
        rng = random.Random(None if policy.seed is None else f"shared-usage:{policy.seed}")
        with self._lock:
            self._policy, self._algorithm, self._rng = policy, algorithm, rng

    def take(self) -> Verdict:
        """Count one request now; the verdict says whether it may run and what to report."""
        with self._lock:
            policy, algorithm = self._policy, self._algorithm
            now = self._clock()
            if policy.shared_usage and self._rng.random() < policy.shared_usage:
                algorithm.spend_other(now)
            allowed, remaining, reset_at, wait = algorithm.take(now)
        return Verdict(policy, allowed, remaining, reset_at, wait, now)
