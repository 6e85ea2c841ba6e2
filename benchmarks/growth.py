"""Growth: plan time at 1k, 10k and 50k connectors must grow linearly.

For each size N (``--size`` S gives S, 10 S and 50 S; default 1,000): N declared in one file,
N live in the sandbox (``sandbox serve`` subprocess, over TCP), 1% drifted. Two measurements:

- the real command ``python -m adapter_sync --api-url URL plan FILE`` as a subprocess (wall
  time, peak RSS): includes interpreter start-up and imports, a fixed cost that flatters the
  large sizes per connector;
- the same pipeline in-process, phase by phase (load the config, fetch the list over TCP,
  plan, render the text), after a warm-up, so the fixed cost is out and the per-connector cost
  of each phase shows. The library leaves the garbage collector alone (the command edge sets
  the policy), so the config is also loaded once more with ``gc.disable()`` around the call:
  the "load, GC off" column shows what that policy is worth.

Linear growth means a flat time per connector: the report gives the ratio of the per-connector
time at the largest size to the smallest (1.0 = perfectly linear; quadratic work would be ~50).

    PYTHONPATH=src python benchmarks/growth.py
    PYTHONPATH=src python benchmarks/growth.py --size 20 --repeat 1
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path

import _common as c


def phases(url: str, config: Path) -> dict[str, float]:
    """Seconds per phase of ``plan``, in-process, as the CLI runs them."""
    from adapter_sync import render
    from adapter_sync.client import make_client
    from adapter_sync.config import load
    from adapter_sync.model import Live
    from adapter_sync.planner import plan

    out: dict[str, float] = {}
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        load([str(config)])
        out["load_gc_off"] = time.perf_counter() - started
    finally:
        gc.enable()
    gc.collect()
    t0 = time.perf_counter()
    desired = load([str(config)])
    t1 = time.perf_counter()

    async def fetch() -> Live:
        async with make_client(url, c.API_KEY) as client:
            return Live.from_list(await client.list_connectors())

    live = asyncio.run(fetch())
    t2 = time.perf_counter()
    result = plan(desired, live, prune=desired.prune)
    t3 = time.perf_counter()
    text = render.render_text(result, color=False)
    t4 = time.perf_counter()
    assert text
    out.update(load=t1 - t0, fetch=t2 - t1, plan=t3 - t2, render=t4 - t3, total=t4 - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000,
                        help="smallest size S; measures S, 10 S, 50 S (default 1000)")
    parser.add_argument("--drift", type=float, default=0.01, help="share drifted (default 0.01)")
    parser.add_argument("--repeat", type=int, default=3, help="runs at each size (median)")
    args = parser.parse_args(argv)
    sizes = [args.size, 10 * args.size, 50 * args.size]

    c.header(f"growth: plan at {', '.join(f'{n:,}' for n in sizes)} connectors "
             f"({args.drift:.0%} drifted)",
             ["end to end = the CLI in a subprocess (start-up included); phases = in-process, "
              "after a warm-up; the sandbox is a subprocess over TCP"])
    e2e_rows, phase_rows = [], []
    per_e2e: dict[int, float] = {}
    per_phase: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as tmp:
        tmpdir = Path(tmp)
        with c.Sandbox(tmpdir / "sandbox.db") as sandbox:
            warmed = False
            for n in sizes:
                sandbox.reset()
                config = c.write_yaml(tmpdir / f"connectors-{n}.yaml", n)
                items, drifted = c.live_seed(n, args.drift)
                c.seed_in_chunks(sandbox, items)
                del items
                cmd = c.cli("--api-url", sandbox.url, "plan", str(config))
                if not warmed:
                    c.run(cmd)
                    phases(sandbox.url, config)
                    warmed = True
                runs, parts = [], []
                for _ in range(args.repeat):
                    runs.append(c.run(cmd))
                    gc.collect()
                    parts.append(phases(sandbox.url, config))
                wall = c.median([r.wall for r in runs])
                rss = max(r.rss_mb for r in runs)
                per_e2e[n] = wall / n
                e2e_rows.append([f"{n:,}", drifted, wall, f"{wall / n * 1e6:.1f}", f"{rss:.1f}"])
                med = {k: c.median([p[k] for p in parts]) for k in parts[0]}
                per_phase[n] = med["total"] / n
                phase_rows.append([f"{n:,}", *(f"{med[k]:.3f}" for k in
                                              ("load", "fetch", "plan", "render", "total")),
                                   f"{med['total'] / n * 1e6:.1f}", f"{med['load_gc_off']:.3f}",
                                   f"{med['load_gc_off'] / n * 1e6:.1f}"])

    small, large = sizes[0], sizes[-1]
    c.table(f"end to end: adapter-sync plan (subprocess), median of {args.repeat}",
            ["connectors", "drifted", "wall s", "us per connector", "peak RSS MiB"], e2e_rows)
    c.table(f"phases in-process, seconds (median of {args.repeat})",
            ["connectors", "load", "fetch", "plan", "render", "total", "us per connector",
             "load, GC off", "load us per connector, GC off"],
            phase_rows)
    ratio_e2e = per_e2e[large] / per_e2e[small]
    ratio_phase = per_phase[large] / per_phase[small]
    c.table("linearity: per-connector time at the largest size / at the smallest",
            ["measure", f"{large:,} / {small:,}", "linear if about", "met (<= 1.5)"], [
                ["end to end (start-up included)", f"{ratio_e2e:.2f}", "<= 1 (fixed cost)",
                 "yes" if ratio_e2e <= 1.5 else "no"],
                ["in-process phases (no start-up)", f"{ratio_phase:.2f}", "1",
                 "yes" if ratio_phase <= 1.5 else "no"],
            ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
