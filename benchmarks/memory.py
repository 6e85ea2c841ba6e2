"""Memory: peak RSS of reading N connectors, and of ``plan`` at N (default 50,000), 1% drifted.

Target (#9): at most 250 MiB peak at 50,000 connectors (1% drift). Every figure is the peak
resident set size of its own subprocess (``/usr/bin/time %M`` when present, else ``wait4``):

- ``import`` only: the interpreter plus ``adapter_sync.config`` and PyYAML, the fixed part;
- ``config.load`` of one file of N connectors, with the garbage collector as a library caller
  leaves it (enabled, default thresholds), disabled around the call, and with a raised
  generation-0 threshold (what a command edge may choose); the child also reports the load
  time, so the GC policy's cost in speed shows next to its cost in memory;
- the real command ``adapter-sync --api-url sandbox:DB plan FILE`` against the in-process
  sandbox seeded with N live connectors, 1% of them drifted.

    PYTHONPATH=src python benchmarks/memory.py
    PYTHONPATH=src python benchmarks/memory.py --size 500
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import _common as c

TARGET_MIB = 250.0
TARGET_SIZE = 50_000

#: Loads one config file in a fresh interpreter; prints connectors and seconds.
_LOAD = """
import gc, sys, time
from adapter_sync.config import load
mode = sys.argv[2]
if mode == "threshold":
    gc.set_threshold(100_000, 50, 100)
if mode == "off":
    gc.disable()
started = time.perf_counter()
desired = load([sys.argv[1]])
elapsed = time.perf_counter() - started
if mode == "off":
    gc.enable()
print(len(desired.connectors), f"{elapsed:.4f}")
"""
_IMPORT = "import yaml, adapter_sync.config, adapter_sync.model"
_MODES = {"on": "GC enabled (library default)", "off": "gc.disable() around load",
          "threshold": "gc.set_threshold(100_000, 50, 100)"}


def seed_sandbox(db: Path, n: int, drift: float) -> int:
    """``n`` live connectors in the sandbox database at ``db``; returns how many drifted."""
    from adapter_sync.sandbox.store import Store

    items, drifted = c.live_seed(n, drift)
    store = Store(db)
    try:
        for start in range(0, n, 10_000):
            store.seed(items[start:start + 10_000])
    finally:
        store.close()
    return drifted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=TARGET_SIZE,
                        help=f"connectors declared and live (default {TARGET_SIZE:,})")
    parser.add_argument("--drift", type=float, default=0.01, help="share drifted (default 0.01)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (max RSS, median s)")
    args = parser.parse_args(argv)
    n = args.size

    c.header(f"memory: peak RSS at {n:,} connectors ({args.drift:.0%} drifted)",
             [f"target: at most {TARGET_MIB:.0f} MiB peak at {TARGET_SIZE:,} connectors; "
              "each row is its own subprocess"])
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        tmpdir = Path(tmp)
        config = c.write_yaml(tmpdir / "connectors.yaml", n)
        size_mib = config.stat().st_size / 2**20
        rows = []
        base = [c.run([sys.executable, "-c", _IMPORT]) for _ in range(args.repeat)]
        rows.append(["import adapter_sync.config (fixed part)", "-",
                     f"{max(r.rss_mb for r in base):.1f}"])
        peaks: dict[str, float] = {}
        for mode, label in _MODES.items():
            runs = [c.run([sys.executable, "-c", _LOAD, str(config), mode])
                    for _ in range(args.repeat)]
            counts = {r.stdout.split()[0] for r in runs}
            assert counts == {str(n)}, counts
            seconds = c.median([float(r.stdout.split()[1]) for r in runs])
            peaks[mode] = max(r.rss_mb for r in runs)
            rows.append([f"config.load, {label}", f"{seconds:.3f}", f"{peaks[mode]:.1f}"])
        db = tmpdir / "sandbox.db"
        drifted = seed_sandbox(db, n, args.drift)
        plan = [c.run(c.cli("--api-url", f"sandbox:{db}", "plan", str(config)))
                for _ in range(args.repeat)]
        assert all(f"{drifted} to update" in r.stdout for r in plan), plan[0].stdout[-500:]
        peaks["plan"] = max(r.rss_mb for r in plan)
        rows.append([f"adapter-sync plan (sandbox:, {drifted:,} drifted), wall",
                     f"{c.median([r.wall for r in plan]):.3f}", f"{peaks['plan']:.1f}"])

    c.table(f"{n:,} connectors ({size_mib:.1f} MiB of YAML), max of {args.repeat}",
            ["what", "seconds", "peak RSS MiB"], rows)
    scale = f" (measured at {n:,}, not {TARGET_SIZE:,})" if n != TARGET_SIZE else ""
    c.table("target: peak RSS", ["measure", "peak MiB", f"target{scale}", "met"], [
        [name, f"{peaks[key]:.1f}", f"<= {TARGET_MIB:.0f}",
         "yes" if peaks[key] <= TARGET_MIB else "no"]
        for name, key in (("config.load (GC enabled)", "on"), ("adapter-sync plan", "plan"))
    ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
