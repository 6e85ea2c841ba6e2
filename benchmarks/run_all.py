"""Run every benchmark at full size, one after the other (about 8 minutes on 2 cores).

    PYTHONPATH=src python benchmarks/run_all.py              # everything, full size
    PYTHONPATH=src python benchmarks/run_all.py --quick      # tiny sizes (seconds)
    PYTHONPATH=src python benchmarks/run_all.py --dry-run    # print the commands only

Each script prints the machine, then its tables (plain text that is also Markdown).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = [
    ["startup.py"],
    ["plan_scale.py"],
    ["plan_scale.py", "--drift", "1"],
    ["growth.py"],
    ["memory.py"],
    ["apply_throughput.py"],
    ["rate_limit.py"],
    ["validate_policy.py"],
]
QUICK = [
    ["startup.py", "--size", "2"],
    ["plan_scale.py", "--size", "200", "--repeat", "1"],
    ["plan_scale.py", "--size", "200", "--repeat", "1", "--drift", "1"],
    ["growth.py", "--size", "50", "--repeat", "1"],
    ["memory.py", "--size", "40", "--repeat", "1"],
    ["apply_throughput.py", "--size", "40", "--repeat", "1"],
    ["rate_limit.py", "--size", "20"],
    ["validate_policy.py", "--size", "50", "--repeat", "1"],
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    failed = 0
    for script, *rest in QUICK if args.quick else FULL:
        cmd = [sys.executable, str(HERE / script), *rest]
        print(f"$ python benchmarks/{script} {' '.join(rest)}".rstrip(), flush=True)
        if args.dry_run:
            continue
        started = time.perf_counter()
        code = subprocess.call(cmd)
        print(f"({script}: exit {code}, {time.perf_counter() - started:.0f} s)\n", flush=True)
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
