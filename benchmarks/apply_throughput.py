"""Apply throughput: N creates against the sandbox over TCP with added latency per request.

Three measurements, all against the same ``sandbox serve`` subprocess (latency injected with
``/_sandbox/faults {"latency": L}``; the store is emptied before every run):

- **end to end**: the real command ``python -m adapter_sync --api-url URL apply --auto-approve
  FILE`` (start-up, load, list, plan, render, apply, result) as a subprocess;
- **apply phase**: ``applier.apply_plan`` alone with the real client, in this process, on a plan
  computed beforehand (nothing subtracted: it is timed on its own);
- **naive loop**: what a user would script by hand, a sequential ``httpx.Client`` loop of POSTs;
- **hand-written asyncio loop**: ``httpx.AsyncClient`` + a semaphore, no retries, no parsing:
  a reference for what this server and machine allow at the same concurrency;
- **bare httpx loop, start-up included**: the same loop as a ``python -c`` subprocess that
  reads the same request bodies from a JSON file, so interpreter start-up and importing httpx
  count as they do for the CLI: the baseline of the budget.

The ideal is ``N x latency / concurrency`` (no server work, no client work, no network).
Targets: end to end <= 1.1 x the bare httpx loop (start-up included) and <= 1.3 x ideal, at the
default concurrency (4).

    PYTHONPATH=src python benchmarks/apply_throughput.py              # 1,000 creates, 25 ms
    PYTHONPATH=src python benchmarks/apply_throughput.py --size 40 --repeat 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import _common as c


def _apply_phase(url: str, config: Path, concurrency: int) -> tuple[float, int]:
    """(seconds spent in apply_plan, actions done): the plan is made first, untimed."""
    from adapter_sync.applier import apply_plan
    from adapter_sync.client import make_client
    from adapter_sync.config import load
    from adapter_sync.model import Live
    from adapter_sync.planner import plan

    async def go() -> tuple[float, int]:
        async with make_client(url, c.API_KEY) as client:
            desired = load([str(config)])
            live = Live.from_list(await client.list_connectors())
            todo = plan(desired, live)
            started = time.perf_counter()
            result = await apply_plan(todo, client, concurrency=concurrency)
            elapsed = time.perf_counter() - started
        if not result.ok:
            raise RuntimeError(f"apply failed: {result.count('failed')} failed")
        return elapsed, result.count("done")

    return asyncio.run(go())


def _naive(url: str, n: int) -> float:
    import httpx

    bodies = [c.declared(i) for i in range(n)]
    for body in bodies:
        body["metadata"] = {**body["metadata"], "env": "bench"}
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {c.API_KEY}"},
                      timeout=30) as http:
        for body in bodies:
            http.post("/custom-connectors", json=body).raise_for_status()
    return time.perf_counter() - started


def _hand_async(url: str, n: int, concurrency: int) -> float:
    """The best a short hand-written script gets: httpx.AsyncClient, a semaphore, no retries,
    no response parsing beyond the status. A reference for what this server and machine allow."""
    import httpx

    bodies = [c.declared(i) for i in range(n)]

    async def go() -> float:
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(base_url=url, timeout=30,
                                     headers={"Authorization": f"Bearer {c.API_KEY}"}) as http:
            async def one(body: dict) -> None:
                async with gate:
                    (await http.post("/custom-connectors", json=body)).raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(one(b) for b in bodies))
            return time.perf_counter() - started

    return asyncio.run(go())


#: The baseline: a bare httpx.AsyncClient loop of the same POSTs at the same concurrency, as a
#: subprocess (start-up and imports included, as for the CLI); it raises on any non-2xx.
BARE = """\
import asyncio, json, sys
import httpx
url, key, path, concurrency = sys.argv[1:]
with open(path, encoding="utf-8") as f:
    bodies = json.load(f)
async def main():
    gate = asyncio.Semaphore(int(concurrency))
    async with httpx.AsyncClient(base_url=url, timeout=30,
                                 headers={"Authorization": "Bearer " + key}) as http:
        async def one(body):
            async with gate:
                (await http.post("/custom-connectors", json=body)).raise_for_status()
        await asyncio.gather(*(one(b) for b in bodies))
asyncio.run(main())
print(len(bodies))
"""


def _bodies(n: int) -> list[dict]:
    """The request bodies adapter-sync sends for :func:`_common.write_yaml`'s file."""
    bodies = [c.declared(i) for i in range(n)]
    for body in bodies:
        body["metadata"] = {"env": "bench", **body["metadata"]}
    return bodies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="creates (default 1000)")
    parser.add_argument("--latency", type=float, default=0.025,
                        help="seconds added per request (default 0.025)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4],
                        help="concurrency levels to measure (default: 4, the CLI default)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (median; default 3)")
    parser.add_argument("--no-naive", action="store_true", help="skip the sequential loop")
    args = parser.parse_args(argv)
    n, lat = args.size, args.latency

    c.header(f"apply throughput: {n} creates, {lat * 1000:g} ms added latency per request",
             ["sandbox: a separate process over TCP on 127.0.0.1, sharing the machine's CPUs "
              "with the client",
              "end to end = the whole CLI command in a subprocess; apply phase = apply_plan "
              "timed alone in-process"])
    rows, targets = [], []
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        tmpdir = Path(tmp)
        config = c.write_yaml(tmpdir / "connectors.yaml", n)
        bodies = tmpdir / "bodies.json"
        bodies.write_text(json.dumps(_bodies(n)), encoding="utf-8")
        with c.Sandbox(tmpdir / "sandbox.db") as sandbox:

            def fresh() -> None:
                sandbox.reset()  # also clears faults
                sandbox.faults(latency=lat)

            for conc in args.concurrency:
                ideal = n * lat / conc
                e2e, phase, hand, bare = [], [], [], []
                e2e_cpu, bare_cpu = [], []
                bare_cmd = [sys.executable, "-c", BARE, sandbox.url, c.API_KEY, str(bodies),
                            str(conc)]
                for _ in range(args.repeat):
                    fresh()
                    run = c.run(bare_cmd)
                    bare.append(run.wall)
                    bare_cpu.append(run.cpu)
                    if sandbox.count() != n:
                        raise RuntimeError("the bare loop did not create every connector")
                    fresh()
                    cmd = c.cli("--api-url", sandbox.url, "apply", "--auto-approve",
                                "--concurrency", str(conc), str(config))
                    run = c.run(cmd)
                    e2e.append(run.wall)
                    e2e_cpu.append(run.cpu)
                    if sandbox.count() != n:
                        raise RuntimeError("the apply did not create every connector")
                    fresh()
                    seconds, done = _apply_phase(sandbox.url, config, conc)
                    if done != n:
                        raise RuntimeError(f"apply phase did {done} of {n} actions")
                    phase.append(seconds)
                    fresh()
                    hand.append(_hand_async(sandbox.url, n, conc))
                e2e_m, phase_m, bare_m = c.median(e2e), c.median(phase), c.median(bare)
                rows.append([f"adapter-sync apply (end to end), concurrency {conc}", e2e_m,
                             ideal, f"{e2e_m / ideal:.2f}", f"{n / e2e_m:.0f}",
                             " ".join(f"{x:.2f}" for x in e2e)])
                rows.append([f"bare httpx asyncio loop (subprocess), concurrency {conc}", bare_m,
                             ideal, f"{bare_m / ideal:.2f}", f"{n / bare_m:.0f}",
                             " ".join(f"{x:.2f}" for x in bare)])
                rows.append([f"apply phase only (apply_plan), concurrency {conc}", phase_m,
                             ideal, f"{phase_m / ideal:.2f}", f"{n / phase_m:.0f}",
                             " ".join(f"{x:.2f}" for x in phase)])
                hand_m = c.median(hand)
                rows.append([f"hand-written httpx asyncio loop, concurrency {conc}", hand_m,
                             ideal, f"{hand_m / ideal:.2f}", f"{n / hand_m:.0f}",
                             " ".join(f"{x:.2f}" for x in hand)])
                if conc == 4:
                    targets.append(["end to end / bare httpx loop (start-up included), "
                                    "concurrency 4", f"{e2e_m / bare_m:.2f}", "<= 1.1",
                                    "yes" if e2e_m / bare_m <= 1.1 else "no"])
                    cpu_ratio = c.median(e2e_cpu) / c.median(bare_cpu)
                    targets.append(["CPU end to end / bare httpx loop (less moved by other "
                                    "work on a shared machine)", f"{cpu_ratio:.2f}",
                                    "(for reference)", "-"])
                    targets.append(["end to end / ideal, concurrency 4", f"{e2e_m / ideal:.2f}",
                                    "<= 1.3", "yes" if e2e_m / ideal <= 1.3 else "no"])
                    targets.append(["apply phase / ideal, concurrency 4",
                                    f"{phase_m / ideal:.2f}", "(for reference)",
                                    "yes" if phase_m / ideal <= 1.3 else "no"])
            if not args.no_naive:
                fresh()
                naive = _naive(sandbox.url, n)
                rows.append(["naive sequential httpx loop of POSTs", naive, n * lat,
                             f"{naive / (n * lat):.2f}", f"{n / naive:.0f}", f"{naive:.2f}"])
                if args.concurrency:
                    best = min(r[1] for r in rows if "end to end" in r[0])
                    targets.append(["naive loop / adapter-sync (end to end, best)",
                                    f"{naive / best:.2f}", "(speed-up)", "-"])

    c.table(f"{n} creates, {lat * 1000:g} ms latency, median of {args.repeat}",
            ["what", "wall s", "ideal s", "ratio to ideal", "creates/s", "runs s"], rows)
    c.table("targets", ["measure", "value", "target", "met"], targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
