"""When to retry an API call, and how long to wait before the next attempt.

Pure policy: no I/O. The client decides *whether* a failure is retryable (that depends on the
method); this module says how many attempts, within which deadline, and how long each wait is.
"""

from __future__ import annotations

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


def server_wait_hint(headers: Mapping[str, str], now_epoch: float) -> float | None:
    """How long a 429 answer asks us to wait, in seconds, or None when it does not say.

    ``Retry-After`` wins (delta seconds or an HTTP date), then ``X-RateLimit-Reset`` (epoch
    seconds; a small value is read as a delta and a huge one as milliseconds, for servers that
    send those). Never negative.
    """
    retry_after = headers.get("retry-after")
    if retry_after:
        value = retry_after.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - now_epoch)
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            value_f = float(reset.strip())
        except ValueError:
            return None
        if value_f < _EPOCH_FLOOR:
            return max(0.0, value_f)
        if value_f > _EPOCH_MS_FLOOR:
            value_f /= 1000.0
        return max(0.0, value_f - now_epoch)
    return None
