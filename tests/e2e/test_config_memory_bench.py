"""benchmarks/memory.py runs (at a tiny size) and prints its tables, so it cannot rot.

The figures are not asserted here (targets are measured by the benchmark, not by tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_memory_benchmark_runs():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    env.pop("ADAPTER_API_URL", None)
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "memory.py"), "--size", "40"],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    out = result.stdout
    assert "machine:" in out and "### 40 connectors" in out
    assert "config.load, GC enabled (library default)" in out
    assert "adapter-sync plan (sandbox:, 1 drifted)" in out
    assert "### target: peak RSS" in out
