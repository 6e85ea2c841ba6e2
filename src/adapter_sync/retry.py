"""When to retry an API call, and how long to wait before the next attempt.

Pure policy: no I/O. The client decides *whether* a failure is retryable (that depends on the
method); this module says how many attempts, within which deadline, and how long each wait is.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

#: 5xx statuses worth another attempt for a safe (GET) or idempotent (PATCH) call.
RETRYABLE_5XX: frozenset[int] = frozenset({500, 502, 503, 504})

#: X-RateLimit-Reset values below this are read as "seconds from now", not an epoch.
_EPOCH_FLOOR = 1_000_000_000.0
#: ... and values above this as an epoch in milliseconds.
_EPOCH_MS_FLOOR = 100_000_000_000.0


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts within a deadline per call; exponential backoff with full jitter."""

    max_attempts: int = 8
    deadline: float = 120.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.deadline <= 0:
            raise ValueError("deadline must be positive")
        if self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("backoff_base and backoff_cap must not be negative")

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): full jitter."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** min(attempt - 1, 62)))
        return (rng or random).uniform(0.0, ceiling)


def parse_reset(value: str | None) -> tuple[float | None, float | None]:
    """``X-RateLimit-Reset`` as (epoch seconds, None) or (None, seconds from now).

    Epoch seconds per the contract; a small value is read as a delta and a huge one as
    milliseconds, for servers that send those. (None, None) when absent or unreadable.
    """
    if not value:
        return None, None
    try:
        number = float(value.strip())
    except ValueError:
        return None, None
    if not math.isfinite(number):
        return None, None
    if number < _EPOCH_FLOOR:
        return None, max(0.0, number)
    if number > _EPOCH_MS_FLOOR:
        number /= 1000.0
    return number, None


def server_wait_hint(headers: Mapping[str, str], now_epoch: float) -> float | None:
    """How long a 429 answer asks us to wait, in seconds, or None when it does not say.

    ``Retry-After`` wins (delta seconds or an HTTP date), then ``X-RateLimit-Reset`` (see
    :func:`parse_reset`). ``now_epoch`` is the server's clock (as best known): dates and resets
    are the server's. Never negative: 0 means "zero or already past" (the caller still backs
    off).
    """
    retry_after = headers.get("retry-after")
    if retry_after:
        value = retry_after.strip()
        try:
            seconds = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(seconds):
                return max(0.0, seconds)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - now_epoch)
    epoch, after = parse_reset(headers.get("x-ratelimit-reset"))
    if after is not None:
        return after
    if epoch is not None:
        return max(0.0, epoch - now_epoch)
    return None
