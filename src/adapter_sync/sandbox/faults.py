"""Fault injection for the sandbox: what can go wrong, and the seeded dice that decide when.

Rates are shares of ``/v1`` requests. One draw per request picks at most one fault, in this
order: ``rate_limit_rate`` (429 + ``Retry-After: retry_after``, whole seconds, 0 allowed), ``error_rate`` (500/502/503, nothing
committed), ``drop_rate`` (writes: committed, then the connection is dropped; reads: dropped).
If the rates add up to more than 1, the later kinds get what is left.

``latency`` (seconds, ``asyncio.sleep``) is added to every ``/v1`` request.
``error_shape="fastapi"`` answers validation errors as ``{"detail": [...]}`` instead of the
``{"error", "message", "details"}`` body (both shapes exist per docs/api-contract.md).

A real rate limiter (:mod:`adapter_sync.sandbox.ratelimit`) counts every ``/v1`` request; over
its limit: 429 ``rate_limit_exceeded``, not executed. ``rate_limit`` picks it:

- ``null`` (default): a fixed window of ``requests_per_minute`` requests per 60 s (by default
  too high to be hit by a test or a benchmark);
- ``"fixed_window"`` / ``"token_bucket"``: ``rate_limit_requests`` per ``rate_limit_window``
  seconds (the bucket's capacity; it refills ``rate_limit_requests / rate_limit_window`` tokens
  per second and starts full). ``requests_per_minute`` must then be left at its default.

Whichever limit is active, ``retry_after_style`` (``seconds`` | ``fractional`` | ``zero`` |
``date`` | ``none``), ``reset_style`` (``epoch`` | ``none``), ``clock_offset`` (seconds added to
the server's clock in ``X-RateLimit-Reset`` and dates) and ``shared_usage`` (0..1: the chance
that another integration on the key spends one unit before each request) shape it.
``retry_after`` belongs to the injected 429s only.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from adapter_sync.sandbox.ratelimit import (
    Algorithm,
    LimitPolicy,
    ResetStyle,
    RetryAfterStyle,
)

FaultKind = Literal["none", "rate_limit", "error", "drop"]

#: Default request budget: high enough never to be hit by a test or a benchmark.
DEFAULT_REQUESTS_PER_MINUTE = 1_000_000
ERROR_STATUSES: tuple[int, ...] = (500, 502, 503)


class FaultConfigError(ValueError):
    """A fault configuration that makes no sense (unknown key, rate outside 0..1, ...)."""


@dataclass(frozen=True)
class FaultConfig:
    """What the sandbox injects. The default injects nothing."""

    latency: float = 0.0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int | None = None
    retry_after: int = 1
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE
    error_shape: Literal["adapter", "fastapi"] = "adapter"
    rate_limit: Algorithm | None = None
    rate_limit_requests: int = 60
    rate_limit_window: float = 60.0
    retry_after_style: RetryAfterStyle = "seconds"
    reset_style: ResetStyle = "epoch"
    clock_offset: float = 0.0
    shared_usage: float = 0.0

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "drop_rate"):
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 <= value <= 1.0:
                raise FaultConfigError(f"{name} must be a number between 0 and 1")
        if not _is_number(self.latency) or not 0 <= self.latency < math.inf:
            raise FaultConfigError("latency must be a number of seconds >= 0")
        if isinstance(self.retry_after, bool) or not isinstance(self.retry_after, int) \
                or self.retry_after < 0:
            raise FaultConfigError("retry_after must be a whole number of seconds >= 0")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise FaultConfigError("seed must be an integer or null")
        rpm = self.requests_per_minute
        if isinstance(rpm, bool) or not isinstance(rpm, int) or rpm < 1:
            raise FaultConfigError("requests_per_minute must be an integer >= 1")
        if self.error_shape not in ("adapter", "fastapi"):
            raise FaultConfigError("error_shape must be 'adapter' or 'fastapi'")
        if self.rate_limit is not None and rpm != DEFAULT_REQUESTS_PER_MINUTE:
            raise FaultConfigError("requests_per_minute and rate_limit both set a limit: "
                                   "use rate_limit_requests and rate_limit_window")
        try:
            self.limit_policy()
            if self.rate_limit is None:  # kept for later; still checked now
                LimitPolicy(requests=self.rate_limit_requests, window=self.rate_limit_window)
        except ValueError as exc:
            raise FaultConfigError(str(exc)) from None

    def limit_policy(self) -> LimitPolicy:
        """The rate limit in force: ``rate_limit``'s, or the ``requests_per_minute`` window."""
        algorithm: Algorithm
        if self.rate_limit is None:
            algorithm, requests, window = "fixed_window", self.requests_per_minute, 60.0
        else:
            algorithm, requests, window = (self.rate_limit, self.rate_limit_requests,
                                           self.rate_limit_window)
        return LimitPolicy(algorithm, requests, window, retry_after_style=self.retry_after_style,
                           reset_style=self.reset_style, clock_offset=self.clock_offset,
                           shared_usage=self.shared_usage, seed=self.seed)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Build from a JSON object; missing keys take their defaults, unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise FaultConfigError("faults must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultConfigError(f"unknown fault setting(s): {', '.join(unknown)}")
        values = {k: v for k, v in data.items() if v is not None or k == "seed"}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def active(self) -> bool:
        return bool(self.error_rate or self.rate_limit_rate or self.drop_rate)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Decision:
    """The fault chosen for one request; ``status`` is set for ``error`` (500, 502 or 503)."""

    kind: FaultKind
    status: int | None = None


NO_FAULT = Decision("none")


class FaultDice:
    """Decides the fault of each request with a seeded :class:`random.Random` (thread-safe)."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)

    def roll(self) -> Decision:
        config = self._config
        if not config.active:
            return NO_FAULT
        with self._lock:
            draw = self._rng.random()
            threshold = config.rate_limit_rate
            if draw < threshold:
                return Decision("rate_limit")
            if draw < threshold + config.error_rate:  # where in the band picks the code
                share = (draw - threshold) / config.error_rate
                return Decision("error", ERROR_STATUSES[int(share * len(ERROR_STATUSES))])
            threshold += config.error_rate
            threshold += config.drop_rate
            if draw < threshold:
                return Decision("drop")
            return NO_FAULT
