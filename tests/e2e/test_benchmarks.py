"""The benchmark scripts run (at a tiny size) and print their tables, so they cannot rot.

Timings are not asserted here: the scripts print figures and ratios, they do not pass or fail.
Also: ``--help`` and ``--version`` must not import the heavy modules (fast start).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# subprocesses and servers: end to end, over a second each (pytest -m 'not slow' skips)
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    env.pop("ADAPTER_API_URL", None)
    return env


def _bench(script: str, *args: str, timeout: float = 120) -> str:
    result = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                            text=True, env=_env(), cwd=REPO, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "machine:" in result.stdout and "python:" in result.stdout
    return result.stdout


def test_plan_scale_runs():
    out = _bench("plan_scale.py", "--size", "30", "--repeat", "1")
    assert "### plan, 30 connectors" in out
    assert "adapter-sync plan --format json" in out and "floor (GET + json + CSafeLoader)" in out
    assert "floor + DeepDiff on the 0 differing metadata pairs" in out  # 1% of 30: none drift
    assert "### targets" in out and "wall ratio plan / floor" in out


def test_apply_throughput_runs():
    out = _bench("apply_throughput.py", "--size", "12", "--latency", "0.005", "--repeat", "1")
    assert "### 12 creates" in out
    assert "adapter-sync apply (end to end), concurrency 4" in out
    assert "apply phase only (apply_plan), concurrency 4" in out
    assert "naive sequential httpx loop of POSTs" in out
    assert "hand-written httpx asyncio loop, concurrency 4" in out
    assert "bare httpx asyncio loop (subprocess), concurrency 4" in out
    assert "### targets" in out and "end to end / bare httpx loop (start-up included)" in out


def test_startup_runs():
    out = _bench("startup.py", "--size", "1")
    assert "### start-up, median of 1" in out
    assert "adapter-sync --version" in out and "python -c pass" in out
    assert "### heavy modules imported (must be none)" in out


def test_plan_scale_runs_with_every_connector_drifted():
    out = _bench("plan_scale.py", "--size", "30", "--repeat", "1", "--drift", "1")
    assert "### plan, 30 connectors (30 drifted)" in out
    assert "floor + DeepDiff on the 18 differing metadata pairs" in out  # 3 of each 5 turns
    assert "wall ratio plan / (floor + deepdiff)" in out and "<= 1.1" in out


def test_rate_limit_runs():
    out = _bench("rate_limit.py", "--size", "6", "--rate", "50", timeout=60)
    assert "fixed window" in out and "token bucket, reset only" in out
    assert "### targets" in out


def test_growth_runs():
    out = _bench("growth.py", "--size", "10", "--repeat", "1")
    assert "### end to end: adapter-sync plan (subprocess)" in out
    assert "### phases in-process" in out
    assert "### linearity" in out


def test_validate_policy_runs():
    out = _bench("validate_policy.py", "--size", "20", "--repeat", "1")
    assert "### validate, 20 connectors, median of 1" in out
    assert "validate, no policy" in out and "validate, 3 rules" in out
    assert "wall ratio 3 rules / no policy" in out and "ratio: " in out


def test_run_all_lists_every_benchmark():
    result = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--dry-run"],
                            capture_output=True, text=True, env=_env(), cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    for script in ("plan_scale.py", "apply_throughput.py", "startup.py", "growth.py",
                   "memory.py", "rate_limit.py", "validate_policy.py"):
        assert script in result.stdout
    assert "plan_scale.py --drift 1" in result.stdout


HEAVY = ("httpx", "httpcore", "deepdiff", "adapter_sync.sandbox", "adapter_sync.client",
         "starlette", "uvicorn", "yaml", "jsonschema", "adapter_sync.api")


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_fast_start_imports_nothing_heavy(flag):
    probe = (
        "import json, sys\n"
        f"sys.argv = ['adapter-sync', {flag!r}]\n"
        "from adapter_sync.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env=_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []
