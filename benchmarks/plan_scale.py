"""Plan at scale: N declared connectors in one YAML file, N live in the sandbox over TCP.

Measures the real command ``python -m adapter_sync --api-url URL plan FILE`` (a subprocess:
wall time from spawn to exit, peak RSS from ``wait4``) against a floor measured in the same
run, also as a subprocess so interpreter start-up is on both sides: a ``python -c`` script that
imports httpx and yaml, GETs the list once, parses the JSON and ``yaml.load``s the same file
with ``CSafeLoader`` (no validation, no positions, no plan, no output). Median of ``--repeat``
runs each, interleaved. The plan is ``plan --format json`` unless ``--format text``.

A second baseline, "floor + deepdiff", is the floor followed, in the same process, by
``DeepDiff`` once on each pair whose metadata differs (called as adapter-sync calls it):
deepdiff's own price, which no engine built on it can avoid. Targets: at 1% drift, plan <= 1.0x
the floor; when every connector differs (``--drift 1``: each part of the comparison takes its
turn), plan <= 1.1x the floor + deepdiff; peak RSS <= 200 MiB.

    PYTHONPATH=src python benchmarks/plan_scale.py                # 10,000 connectors, 1% drift
    PYTHONPATH=src python benchmarks/plan_scale.py --drift 1      # every connector differs
    PYTHONPATH=src python benchmarks/plan_scale.py --size 200 --repeat 1
    PYTHONPATH=src python benchmarks/plan_scale.py --profile      # + cProfile of one plan
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import _common as c

FLOOR = """\
import json, sys
import httpx, yaml
url, key, path = sys.argv[1:]
r = httpx.get(url + "/custom-connectors", params={"include_inactive": "true"},
              headers={"Authorization": "Bearer " + key}, timeout=120)
r.raise_for_status()
live = json.loads(r.content)
with open(path, encoding="utf-8") as f:
    doc = yaml.load(f, Loader=yaml.CSafeLoader)
print(len(live), len(doc["connectors"]))
"""
#: The same floor with the garbage collector off while loading (adapter-sync's own reader
#: pauses it): a stricter floor, printed as a second row.
FLOOR_NO_GC = FLOOR.replace("import json, sys", "import gc, json, sys\ngc.disable()")
#: The floor, then deepdiff's own cost: ``DeepDiff`` once on each pair whose metadata differs
#: (the file's defaults merged, as adapter-sync compares them), called as adapter-sync calls it,
#: in the same process. deepdiff's price is the limit of the chosen engine, so a plan where
#: every connector differs is measured against this.
FLOOR_DEEPDIFF = FLOOR.replace("print(len(live), len(doc[\"connectors\"]))\n", """\
from deepdiff import DeepDiff
have = {c["source_name"]: c.get("metadata") or {} for c in live}
defaults = (doc.get("defaults") or {}).get("metadata") or {}
pairs = 0
for name, body in doc["connectors"].items():
    want = {**defaults, **(body.get("metadata") or {})}
    before = have.get(name)
    if before is not None and before != want:
        DeepDiff(before, want, view="tree", threshold_to_diff_deeper=0)
        pairs += 1
print(len(live), len(doc["connectors"]), pairs)
""")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="connectors (default 10000)")
    parser.add_argument("--drift", type=float, default=0.01, help="share drifted (default 0.01)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (median; default 3)")
    parser.add_argument("--format", choices=("json", "text"), default="json",
                        help="the plan's output format (default json)")
    parser.add_argument("--profile", action="store_true",
                        help="also run one plan under cProfile and print the top functions")
    args = parser.parse_args(argv)

    c.header(f"plan at scale: {args.size} declared, {args.size} live, {args.drift:.0%} drifted",
             ["both sides are subprocesses (interpreter start-up included on both sides); "
              "the sandbox serves over TCP on 127.0.0.1 from another process on the same machine"])
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        tmpdir = Path(tmp)
        config = c.write_yaml(tmpdir / "connectors.yaml", args.size)
        config_mb = config.stat().st_size / 2**20
        items, drifted = c.live_seed(args.size, args.drift)
        with c.Sandbox(tmpdir / "sandbox.db") as sandbox:
            c.seed_in_chunks(sandbox, items)
            plan_cmd = c.cli("--api-url", sandbox.url, "plan", "--format", args.format,
                             str(config))
            floor_cmd = [sys.executable, "-c", FLOOR, sandbox.url, c.API_KEY, str(config)]
            c.run(floor_cmd)  # warm the OS page cache and the server once, unmeasured
            strict_cmd = [sys.executable, "-c", FLOOR_NO_GC, sandbox.url, c.API_KEY, str(config)]
            deep_cmd = [sys.executable, "-c", FLOOR_DEEPDIFF, sandbox.url, c.API_KEY,
                        str(config)]
            plans, floors, stricts, deeps = [], [], [], []
            for _ in range(args.repeat):
                floors.append(c.run(floor_cmd))
                stricts.append(c.run(strict_cmd))
                deeps.append(c.run(deep_cmd))
                plans.append(c.run(plan_cmd))
            pairs = int(deeps[-1].stdout.split()[-1])
            _check(plans[-1].stdout, args.format, drifted)
            if args.profile:
                _profile(plan_cmd, tmpdir)

    measured = [
        ("floor (GET + json + CSafeLoader)", floors),
        ("floor, GC off while loading", stricts),
        (f"floor + DeepDiff on the {pairs} differing metadata pairs", deeps),
        (f"adapter-sync plan --format {args.format}", plans),
    ]
    floor_wall, floor_cpu = _medians(floors)
    rows = []
    for name, runs in measured:
        wall, cpu = _medians(runs)
        rows.append([name, wall, cpu, f"{max(r.rss_mb for r in runs):.1f}",
                     f"{wall / floor_wall:.2f}", f"{cpu / floor_cpu:.2f}",
                     " ".join(f"{r.wall:.3f}" for r in runs)])
    print(f"config file: {config_mb:.2f} MiB; live list: {args.size} objects\n")
    table(args, rows, drifted, plans, floors, stricts, deeps)
    return 0


def _medians(runs: list[c.Run]) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds)."""
    return c.median([r.wall for r in runs]), c.median([r.cpu for r in runs])


def _check(out: str, fmt: str, drifted: int) -> None:
    """Warn when the plan does not show the expected updates (a broken benchmark)."""
    if fmt == "json":
        import json

        updates = json.loads(out)["summary"]["update"]
        ok = updates == drifted
    else:
        ok = f"{drifted} to update" in out or "update" in out
    if not ok:
        print(f"warning: the plan did not show the {drifted} expected updates", file=sys.stderr)


def table(args, rows, drifted, plans, floors, stricts, deeps) -> None:
    c.table(
        f"plan, {args.size} connectors ({drifted} drifted), median of {args.repeat}",
        ["command", "wall s (median)", "CPU s (median)", "peak RSS MiB (max)",
         "wall / floor", "CPU / floor", "runs s (wall)"],
        rows,
    )
    (plan_wall, plan_cpu), (floor_wall, floor_cpu) = _medians(plans), _medians(floors)
    deep_wall, deep_cpu = _medians(deeps)
    strict_wall = _medians(stricts)[0]
    rss = max(r.rss_mb for r in plans)
    every = args.drift >= 1  # the budget: the floor at 1% drift, floor + deepdiff when all differ

    def budget(value: float, limit: float, applies: bool) -> list[str]:
        return [f"{value:.2f}", f"<= {limit}" if applies else "-",
                ("yes" if value <= limit else "no") if applies else "-"]

    c.table(
        "targets (the budget is on wall time; CPU time, less moved by other work on a shared "
        "machine, is shown beside it)",
        ["measure", "value", "target", "met"],
        [
            ["wall ratio plan / floor", *budget(plan_wall / floor_wall, 1.0, not every)],
            ["CPU ratio plan / floor", *budget(plan_cpu / floor_cpu, 1.0, not every)],
            ["wall ratio plan / (floor + deepdiff)", *budget(plan_wall / deep_wall, 1.1, every)],
            ["CPU ratio plan / (floor + deepdiff)", *budget(plan_cpu / deep_cpu, 1.1, every)],
            ["wall ratio plan / floor with GC off", f"{plan_wall / strict_wall:.2f}",
             "(stricter)", "-"],
            ["plan peak RSS MiB", f"{rss:.1f}", "<= 200", "yes" if rss <= 200 else "no"],
        ],
    )


def _profile(cmd: list[str], tmpdir: Path) -> None:
    import pstats

    out = tmpdir / "plan.prof"
    c.run([cmd[0], "-m", "cProfile", "-o", str(out), *cmd[1:]])
    print("### cProfile of one plan (top 25 by cumulative time)")
    stats = pstats.Stats(str(out), stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    sys.exit(main())
