"""Start-up: ``adapter-sync --version``, ``--help`` and ``validate`` against bare ``python -c pass``.

Every command is a subprocess (``python -m adapter_sync ...`` with ``PYTHONPATH=src``), run
``--repeat`` times interleaved; the table shows the median wall time and the median above bare
Python. Also lists which heavy modules ``--version`` / ``--help`` import (none may be httpx,
deepdiff, yaml, jsonschema or the sandbox). Target: ``--version`` <= 0.15 s above bare
Python.

    PYTHONPATH=src python benchmarks/startup.py
    PYTHONPATH=src python benchmarks/startup.py --size 2      # 2 repetitions
"""

from __future__ import annotations

import argparse
import json
import sys

import _common as c

HEAVY = ("httpx", "httpcore", "deepdiff", "yaml", "jsonschema", "starlette", "uvicorn",
         "adapter_sync.sandbox", "adapter_sync.client", "asyncio")

PROBE = """\
import json, sys
sys.argv = ["adapter-sync", *sys.argv[1:]]
from adapter_sync.cli import main
try:
    main()
except SystemExit:
    pass
heavy = HEAVY_LIST
sys.stderr.write("MODULES " + json.dumps(sorted(m for m in heavy if m in sys.modules)) + "\\n")
""".replace("HEAVY_LIST", repr(HEAVY))


def imported(*args: str) -> list[str]:
    """The heavy modules loaded by running the CLI with ``args`` (in a fresh interpreter)."""
    result = c.run([sys.executable, "-c", PROBE, *args])
    for line in result.stderr.splitlines():
        if line.startswith("MODULES "):
            return json.loads(line[len("MODULES "):])
    raise RuntimeError(f"no module list from {args}: {result.stderr[-500:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", "--repeat", dest="repeat", type=int, default=15,
                        help="repetitions of each command (median; default 15)")
    args = parser.parse_args(argv)

    example = c.REPO / "examples" / "connectors.yaml"
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import click'": [sys.executable, "-c", "import click"],
        "adapter-sync --version": c.cli("--version"),
        "adapter-sync --help": c.cli("--help"),
        "adapter-sync validate examples/connectors.yaml": c.cli("validate", str(example)),
    }
    c.header("start-up", [f"every command is a fresh subprocess; {args.repeat} repetitions "
                          "each, interleaved; median wall time (spawn to exit)"])
    for cmd in commands.values():  # warm the page cache and .pyc files, unmeasured
        c.run(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    rss: dict[str, float] = dict.fromkeys(commands, 0.0)
    for _ in range(args.repeat):
        for name, cmd in commands.items():
            r = c.run(cmd)
            times[name].append(r.wall)
            rss[name] = max(rss[name], r.rss_mb)
    bare = c.median(times["python -c pass"])
    rows = []
    for name in commands:
        med = c.median(times[name])
        rows.append([name, med, f"{med - bare:+.3f}", f"{med / bare:.2f}",
                     f"{min(times[name]):.3f}", f"{rss[name]:.1f}"])
    c.table(f"start-up, median of {args.repeat}",
            ["command", "wall s (median)", "above bare python s", "ratio to bare",
             "min s", "peak RSS MiB"], rows)

    version_over = c.median(times["adapter-sync --version"]) - bare
    mods = {flag: imported(flag) for flag in ("--version", "--help")}
    c.table("heavy modules imported (must be none)", ["command", "heavy modules imported"],
            [[f"adapter-sync {flag}", ", ".join(m) or "none"] for flag, m in mods.items()])
    c.table("targets", ["measure", "value", "target", "met"], [
        ["--version above bare python s", f"{version_over:.3f}", "<= 0.15",
         "yes" if version_over <= 0.15 else "no"],
        ["heavy imports on --version/--help", sum(len(m) for m in mods.values()), "0",
         "yes" if not any(mods.values()) else "no"],
    ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
