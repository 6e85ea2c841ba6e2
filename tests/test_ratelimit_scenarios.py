"""The client against a deterministic rate-limited fake API, in virtual time (issue #10).

Each scenario runs the real client (retry loop, pacer) against ``fake_api.RateLimitedApi``
on ``fake_api.run_virtual``: minutes of rate limiting take milliseconds and every run sends
the same requests. Workloads are like the applier's: N creates, at most 4 in flight.
Speed targets proper are measured against the sandbox by ``benchmarks/rate_limit.py``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from adapter_sync.client import make_client
from adapter_sync.errors import ApiError
from fake_api import EPOCH, Limits, RateLimitedApi, VirtualTimeLoop, run_virtual


@dataclass(frozen=True)
class Run:
    elapsed: float  # virtual seconds
    requests: int
    rate_limited: int  # 429 answers
    failed: Counter[str]  # error message -> count

    @property
    def failures(self) -> int:
        return sum(self.failed.values())


def creates(limits: Limits, n: int = 300, concurrency: int = 4, latency: float = 0.005,
            **client: Any) -> Run:
    """``n`` creates with at most ``concurrency`` in flight, as the applier runs them."""

    async def main(loop: VirtualTimeLoop) -> Run:
        def wall() -> float:
            return EPOCH + loop.time()

        api = RateLimitedApi(wall, limits, latency=latency)
        failed: Counter[str] = Counter()
        gate = asyncio.Semaphore(concurrency)
        async with make_client("https://api.test/v1", "pk_live_test", transport=api.transport,
                               clock=loop.time, wall_clock=wall, **client) as c:

            async def one(i: int) -> None:
                async with gate:
                    try:
                        await c.create({"source_name": f"c{i:04d}", "name": f"C{i}"})
                    except ApiError as exc:
                        failed[str(exc)] += 1

            started = loop.time()
            await asyncio.gather(*(one(i) for i in range(n)))
        return Run(loop.time() - started, len(api.log), api.statuses.count(429), failed)

    return run_virtual(main)


# --------------------------------------------------------------------------- zero or past hints


@pytest.mark.parametrize("limits", [
    Limits(retry_after_style="zero"),
    Limits(retry_after_style="none", clock_offset=-2.0),  # every reset looks 1-2 s past
], ids=["retry-after-0", "reset-past-skew-2s"])
def test_a_zero_or_past_hint_is_not_a_busy_loop(limits: Limits) -> None:
    # Before: 270 of 300 failed after ~2,200 requests within 2.8 s.
    run = creates(limits)
    assert run.failures == 0, run.failed.most_common(3)
    assert run.requests < 2 * 300
