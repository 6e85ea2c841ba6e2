"""Rate limits: N creates against the sandbox's real rate limiter, against the floor N / rate.

Runs the real client (retry loop, pacer) against the in-process sandbox
(``adapter_sync.sandbox.inprocess``), its limiter switched on with the fault settings of
``POST /_sandbox/faults``:

- **fixed window**: ``rate_limit="fixed_window"``, RATE requests per 1 s window, whole-second
  ``Retry-After`` and an epoch ``X-RateLimit-Reset``;
- **token bucket, reset only**: ``rate_limit="token_bucket"``, a bucket of RATE refilled at RATE
  per second, 429s carrying no ``Retry-After`` (``X-RateLimit-Reset`` only).

N creates with at most CONCURRENCY in flight, as ``apply`` runs them. The floor is N / RATE
seconds. Targets (issue #10): fixed window within 1.1 x the floor with 429s under 2% of the
requests; token bucket within 1.2 x.

    PYTHONPATH=src python benchmarks/rate_limit.py                  # 300 creates at 10/s
    PYTHONPATH=src python benchmarks/rate_limit.py --size 20        # a smoke run

Needs a sandbox with the rate limiter (the keys above): against an older one it stops with an
error instead of measuring nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common as c

SCENARIOS: dict[str, dict[str, Any]] = {
    "fixed window": {"rate_limit": "fixed_window", "retry_after_style": "seconds",
                     "reset_style": "epoch"},
    "token bucket, reset only": {"rate_limit": "token_bucket", "retry_after_style": "none",
                                 "reset_style": "epoch"},
}
TARGETS = {"fixed window": (1.1, 0.02), "token bucket, reset only": (1.2, None)}


class SandboxTooOld(RuntimeError):
    """The sandbox does not have the rate limiter this benchmark measures against."""


@dataclass(frozen=True)
class Measured:
    seconds: float
    requests: int
    rate_limited: int
    failed: int
    first_error: str


def _counting(transport: Any) -> Any:
    """The in-process transport, counting answers by status and checking the limiter is on."""
    import httpx

    class Counting(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.statuses: Counter[int] = Counter()
            self.limits: set[str] = set()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await transport.handle_async_request(request)
            self.statuses[response.status_code] += 1
            self.limits.add(response.headers.get("x-ratelimit-limit", "(none)"))
            return response

        async def aclose(self) -> None:
            await transport.aclose()

    return Counting()


def _measure(db: Path, faults: dict[str, Any], n: int, concurrency: int) -> Measured:
    from adapter_sync.client import make_client
    from adapter_sync.errors import ApiError
    from adapter_sync.sandbox.inprocess import BASE_URL, set_faults, transport

    sandbox = transport(db)
    try:
        set_faults(sandbox, **faults)
    except Exception as exc:  # an older sandbox refuses the keys: say so, do not measure
        sandbox.sandbox.close()
        raise SandboxTooOld(f"the sandbox refused the rate-limit settings {faults}: "
                            f"{type(exc).__name__}: {exc}") from None
    counting = _counting(sandbox)

    async def go() -> Measured:
        failed: list[str] = []
        gate = asyncio.Semaphore(concurrency)
        async with make_client(BASE_URL, c.API_KEY, transport=counting) as client:

            async def one(i: int) -> None:
                async with gate:
                    try:
                        await client.create(c.declared(i))
                    except ApiError as exc:
                        failed.append(str(exc))

            started = time.perf_counter()
            client.expect_requests(n)  # as apply tells it how many writes are coming
            await asyncio.gather(*(one(i) for i in range(n)))
            seconds = time.perf_counter() - started
        return Measured(seconds, sum(counting.statuses.values()), counting.statuses[429],
                        len(failed), failed[0] if failed else "")

    measured = asyncio.run(go())
    expected = str(faults["rate_limit_requests"])
    if counting.limits != {expected}:
        raise SandboxTooOld(f"the sandbox accepted the settings but its answers announce "
                            f"X-RateLimit-Limit {sorted(counting.limits)}, not {expected}: "
                            "its rate limiter is not on")
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=300, help="creates per scenario")
    parser.add_argument("--rate", type=int, default=10, help="requests per second allowed")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    n, rate = args.size, args.rate
    floor = n / rate

    c.header(f"rate limits: {n} creates at {rate}/s, concurrency {args.concurrency}",
             ["sandbox: in-process (adapter_sync.sandbox.inprocess), its rate limiter on; "
              "the real client; wall clock",
              f"floor = N / rate = {floor:.1f} s"])
    rows, targets = [], []
    for name, style in SCENARIOS.items():
        faults = {**style, "rate_limit_requests": rate, "rate_limit_window": 1.0}
        with tempfile.TemporaryDirectory(prefix="bench-ratelimit-") as tmp:
            try:
                m = _measure(Path(tmp) / "sandbox.db", faults, n, args.concurrency)
            except SandboxTooOld as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        share = m.rate_limited / m.requests if m.requests else 0.0
        rows.append([name, m.seconds, f"{m.seconds / floor:.2f}", m.requests, m.rate_limited,
                     f"{share:.1%}", m.failed])
        most, most_429 = TARGETS[name]
        ok = m.seconds <= most * floor and m.failed == 0 and (most_429 is None
                                                               or share < most_429)
        goal = f"<= {most} x floor" + (f", 429s < {most_429:.0%}" if most_429 else "")
        targets.append([name, goal, f"{m.seconds / floor:.2f} x, {share:.1%} 429s, "
                        f"{m.failed} failed", "yes" if ok else "NO"])
        if m.failed:
            print(f"first failure ({name}): {m.first_error}", file=sys.stderr)
    c.table(f"{n} creates, {rate}/s", ["limiter", "seconds", "x floor", "requests", "429s",
                                        "429 share", "failed"], rows)
    c.table("targets", ["limiter", "target", "measured", "met"], targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
