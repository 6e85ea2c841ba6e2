"""Client-side pacing shared by every concurrent call of one client.

Two things decide when the next request may leave:

- an optional ``max_rps`` interval: requests are spaced ``1 / max_rps`` seconds apart;
- a hold set by a 429 answer: once the server says "wait N seconds", every call of this
  client waits, not only the one that was refused (so a concurrent apply does not keep
  knocking while the server asked for quiet).

``reserve()`` is synchronous and does not await, so under asyncio it is atomic: concurrent
callers each get their own slot without a lock.
"""

from __future__ import annotations

from collections.abc import Callable


class Pacer:
    def __init__(self, max_rps: float | None, clock: Callable[[], float]) -> None:
        if max_rps is not None and max_rps <= 0:
            raise ValueError("max_rps must be positive")
        self._interval = 1.0 / max_rps if max_rps else 0.0
        self._clock = clock
        self._next = float("-inf")
        self._hold = float("-inf")

    @property
    def max_rps(self) -> float | None:
        return 1.0 / self._interval if self._interval else None

    def reserve(self, now: float | None = None) -> float:
        """Take the next free slot; return its time on the clock (``now`` if free at once)."""
        slot = max(self._clock() if now is None else now, self._next, self._hold)
        if self._interval:
            self._next = slot + self._interval
        return slot

    def hold_until(self, when: float) -> None:
        """Keep every call of this client from sending before ``when`` (clock time)."""
        if when > self._hold:
            self._hold = when
