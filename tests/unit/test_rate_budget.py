"""Rate budgets with a distant reset (issue #16): hourly and daily quotas.

With ``X-RateLimit-Remaining: 10`` and a reset an hour away, an apply of 3 creates sends all 3
(the budget left covers the work left: nothing to pace), a run that needs more than the budget
names the real reset time, not a pacing gap, and the plan's estimate says what the list call's
answer announced. The engine against a fake API (httpx.MockTransport): nothing waits.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from adapter_sync.engine import Engine, Settings
from adapter_sync.model import Estimate
from adapter_sync.pacing import Pacer
from adapter_sync.ratelimit import RateLimitInfo
from adapter_sync.secrets import ApiKey

HOUR = 3600


class QuotaApi:
    """An API with an hourly quota: ``remaining`` requests left until ``reset`` (epoch)."""

    def __init__(self, remaining: int, reset_in: float = HOUR) -> None:
        self.remaining = remaining
        self.reset = int(time.time() + reset_in)
        self.created: list[str] = []
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        headers = {"X-RateLimit-Limit": "1000", "X-RateLimit-Reset": str(self.reset)}
        if self.remaining <= 0:
            return httpx.Response(429, headers={**headers, "X-RateLimit-Remaining": "0"},
                                  json={"error": "rate_limited", "message": "quota used up"})
        self.remaining -= 1
        headers["X-RateLimit-Remaining"] = str(self.remaining)
        if request.method == "GET":
            return httpx.Response(200, json=[], headers=headers)
        body = __import__("json").loads(request.content)
        self.created.append(body["source_name"])
        return httpx.Response(201, headers=headers, json={
            "connector_id": f"id-{body['source_name']}", "source_name": body["source_name"],
            "name": body["name"], "accepted_kinds": None, "metadata": {}, "is_active": True})


def config(tmp_path: Path, n: int) -> str:
    path = tmp_path / "connectors.yaml"
    path.write_text("connectors:\n" + "".join(f"  c{i}: {{name: C{i}}}\n" for i in range(n)))
    return str(path)


def engine(api: QuotaApi) -> Engine:
    return Engine(Settings(api_url="https://api.example.test/v1", api_key=ApiKey("pk_live_q"),
                           deadline=120.0), transport=api.transport)


def test_a_budget_covering_the_work_is_spent_at_once_whatever_the_reset(tmp_path: Path) -> None:
    # Before: 1 sent, 2 failed at once with "not sent: the rate limit resets at ... (in 360s)"
    # (the budget spread evenly over the hour: one request every 6 minutes).
    api = QuotaApi(remaining=11)  # 10 left after the list call
    applied = engine(api).apply([config(tmp_path, 3)])
    assert applied.result is not None
    assert [o.status for o in applied.result.outcomes] == ["done"] * 3, [
        o.message for o in applied.result.outcomes]
    assert sorted(api.created) == ["c0", "c1", "c2"]


def test_work_beyond_the_budget_fails_naming_the_real_reset(tmp_path: Path) -> None:
    api = QuotaApi(remaining=3)  # 2 left after the list call, for 4 creates
    applied = engine(api).apply([config(tmp_path, 4)])
    assert applied.result is not None
    failed = [o.message for o in applied.result.outcomes if o.status == "failed"]
    assert failed and len(api.created) < 4
    resets = {time.strftime("%H:%M:%S", time.localtime(api.reset + d)) for d in (-1, 0)}
    for message in failed:  # the reset an hour away (to the second), never a pacing gap
        assert any(f"the rate limit resets at {r} (in 3" in message for r in resets), message
        assert "(in 1800s)" not in message and "(in 1799s)" not in message


def test_the_estimate_says_what_the_list_call_announced(tmp_path: Path) -> None:
    api = QuotaApi(remaining=11)
    plan = engine(api).plan([config(tmp_path, 3)]).plan
    assert plan.estimate is not None
    assert plan.estimate.remaining == 10
    assert plan.estimate.reset_at is not None and abs(plan.estimate.reset_at - api.reset) < 5
    assert plan.estimate.exceeds_budget is False
    many = engine(QuotaApi(remaining=5)).plan([config(tmp_path, 12)]).plan
    assert many.estimate is not None and many.estimate.remaining == 4
    assert many.estimate.exceeds_budget is True


def test_exceeds_budget_is_the_writes_against_what_remains() -> None:
    assert Estimate(api_calls=3).exceeds_budget is False  # nothing announced
    assert Estimate(api_calls=3, remaining=3).exceeds_budget is False
    assert Estimate(api_calls=4, remaining=3).exceeds_budget is True
    assert Estimate(api_calls=0, remaining=0).exceeds_budget is False


@pytest.mark.parametrize(("work", "spaced"), [(None, True), (10, False), (11, True)])
def test_the_pacer_spreads_a_budget_only_when_the_work_left_would_overrun_it(
        work: int | None, spaced: bool) -> None:
    now = 1_000.0
    pacer = Pacer(None, lambda: now, wall=lambda: now)
    first = pacer.reserve(now)
    pacer.record(first, RateLimitInfo(limit=1000, remaining=10, reset_after=HOUR),
                 status=200, sent=now, received=now)
    pacer.expect(work)
    turns = [pacer.reserve(now) for _ in range(3)]
    ats = [t.at for t in turns]  # type: ignore[union-attr]
    if spaced:
        assert ats[1] - ats[0] >= HOUR / 10 - 1
    else:
        assert ats == [now] * 3
    assert all(t.reset == now + HOUR for t in turns)  # type: ignore[union-attr]
