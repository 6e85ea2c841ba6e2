"""Shared helpers for the benchmark scripts (not a benchmark itself).

- the machine description printed at the top of every report;
- a plain-text table printer;
- ``Sandbox``: the REAL ``python -m adapter_sync sandbox serve --port 0`` as a subprocess, with
  its control API (seed, faults, reset), always stopped on exit;
- ``run()``: one subprocess timed by wall clock, its peak RSS read from ``os.wait4``;
- generators for declared YAML and live seed data with a chosen share of drift.

Every benchmark runs from a clone: ``PYTHONPATH=src`` is set for the subprocesses it starts.
"""

from __future__ import annotations

import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
API_KEY = "pk_live_bench"
KINDS = ("email", "page", "message", "calendar", "issue", "custom")

if str(SRC) not in sys.path:  # the in-process parts import adapter_sync from the clone
    sys.path.insert(0, str(SRC))


# --------------------------------------------------------------------------- environment


def env() -> dict[str, str]:
    """The environment for every subprocess: the source tree on PYTHONPATH, the bench key."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), out.get("PYTHONPATH")]))
    out["ADAPTER_API_KEY"] = API_KEY
    out.pop("ADAPTER_API_URL", None)
    out.pop("ADAPTER_SYNC_DEBUG", None)
    out["NO_COLOR"] = "1"
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_lines() -> list[str]:
    def has(module: str) -> str:
        import importlib.util

        return "yes" if importlib.util.find_spec(module) else "no"

    import yaml

    return [
        f"machine: {os.cpu_count()} CPU(s) (nproc {len(os.sched_getaffinity(0))}), "
        f"{cpu_model()}, {platform.system()} {platform.release()}",
        f"python: {platform.python_implementation()} {platform.python_version()} "
        f"({sys.executable}); yaml C loader: {'yes' if hasattr(yaml, 'CSafeLoader') else 'no'}; "
        f"httptools: {has('httptools')}; uvloop: {has('uvloop')}",
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(other work on the machine skews timings)",
        rss_method(),
    ]


def header(title: str, notes: Sequence[str] = ()) -> None:
    print(f"== {title} ==")
    for line in machine_lines():
        print(line)
    for line in notes:
        print(line)
    print()


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a plain-text table (also valid Markdown)."""
    cells = [[str(c) for c in columns]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    print(f"### {title}")
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))
    print()
    sys.stdout.flush()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# --------------------------------------------------------------------------- subprocesses


@dataclass
class Run:
    wall: float  # seconds
    rss_mb: float  # peak resident set size of the child, MiB (ru_maxrss)
    cpu: float  # seconds of CPU (user + system) the child used: less moved by other work
    #             on a shared machine than the wall time
    code: int
    stdout: str
    stderr: str


TIME = Path("/usr/bin/time")


def rss_method() -> str:
    if TIME.exists():
        return "peak RSS: /usr/bin/time %M (the child's own high-water mark)"
    return ("peak RSS: wait4 ru_maxrss (no /usr/bin/time; Linux counts the spawning process's "
            "high-water mark too, so small figures are overstated)")


def run(cmd: Sequence[str], *, check: bool = True) -> Run:
    """Run ``cmd``; wall time from spawn to reaped exit, and its peak RSS.

    A child spawned directly from this (large) process inherits its RSS high-water mark on
    Linux (vfork + exec keeps ``maxrss``), so ``ru_maxrss`` from ``wait4`` would overstate a
    small child. The child is therefore started by ``/usr/bin/time`` (a small C process) when
    it exists, which reports the child's own peak; ``wait4`` is the fallback.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".rss") as rss_file:
        full = list(cmd)
        if TIME.exists():
            full = [str(TIME), "-f", "%M", "-o", rss_file.name, *full]
        started = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, env=env(), stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        rss_kb = float(usage.ru_maxrss)
        if TIME.exists():
            text = Path(rss_file.name).read_text().strip().splitlines()
            rss_kb = float(text[-1]) if text and text[-1].isdigit() else float("nan")
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime  # the child's, its own reaped children included
        result = Run(wall, rss_kb / 1024, cpu, proc.returncode,
                     out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    if check and result.code != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {result.code}:\n{result.stderr[-2000:]}")
    return result


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "adapter_sync", *args]


# --------------------------------------------------------------------------- the sandbox

_URL = re.compile(r"http://\S+")


class Sandbox:
    """``adapter-sync sandbox serve --port 0 --db DB`` as a subprocess; a context manager."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.proc = subprocess.Popen(
            cli("sandbox", "serve", "--port", "0", "--db", str(db)),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            env=env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        match = _URL.search(line)
        if not match:
            self.stop()
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        self.url = match.group(0).rstrip("/")
        self.root = self.url.removesuffix("/v1")
        import httpx

        self.http = httpx.Client(base_url=self.root, timeout=120)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def seed(self, connectors: list[dict[str, Any]]) -> int:
        return self.control("POST", "seed", {"connectors": connectors})["inserted"]

    def reset(self) -> None:
        self.control("POST", "reset")

    def faults(self, **faults: Any) -> None:
        self.control("POST", "faults", faults)

    def count(self) -> int:
        return len(self.control("GET", "state"))

    def stop(self) -> None:
        if hasattr(self, "http"):
            self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


# --------------------------------------------------------------------------- data


def source_name(i: int) -> str:
    return f"bench-connector-{i:06d}"


def declared(i: int) -> dict[str, Any]:
    """The i-th declared connector (as the API would hold it, once applied)."""
    return {
        "source_name": source_name(i),
        "name": f"Bench connector {i}",
        "accepted_kinds": [KINDS[i % len(KINDS)], KINDS[(i + 2) % len(KINDS)]],
        "metadata": {"team": f"team-{i % 17}", "pipeline": f"bench-{i}@v1"},
    }


def write_yaml(path: Path, n: int) -> Path:
    """One config file declaring ``n`` connectors (written by hand: fast, stable layout)."""
    parts = ["version: 1\n", "defaults:\n  metadata:\n    env: bench\n", "connectors:\n"]
    for i in range(n):
        c = declared(i)
        kinds = ", ".join(c["accepted_kinds"])
        parts.append(
            f"  {c['source_name']}:\n"
            f"    name: {c['name']}\n"
            f"    accepted_kinds: [{kinds}]\n"
            f"    metadata:\n"
            f"      team: {c['metadata']['team']}\n"
            f"      pipeline: \"{c['metadata']['pipeline']}\"\n"
        )
    path.write_text("".join(parts), encoding="utf-8")
    return path


def live_seed(n: int, drift: float) -> tuple[list[dict[str, Any]], int]:
    """``n`` live connectors matching :func:`write_yaml`, a ``drift`` share of them changed.

    Drift takes turns, so every part of the comparison is exercised: a renamed connector, a
    metadata value edited, a metadata key added and one removed, a kind added, and all of these
    at once."""
    step = max(1, round(1 / drift)) if drift else 0
    items, drifted = [], 0
    for i in range(n):
        c = declared(i)
        c["metadata"] = {**c["metadata"], "env": "bench"}
        if step and i % step == 0:
            _drift(c, drifted % 5)
            drifted += 1
        items.append(c)
    return items, drifted


def _drift(c: dict[str, Any], how: int) -> None:
    if how in (0, 4):
        c["name"] += " (edited by hand)"
    if how in (1, 4):
        c["metadata"]["team"] = "team-console"
    if how in (2, 4):
        c["metadata"]["added-by-hand"] = "yes"
        del c["metadata"]["pipeline"]
    if how in (3, 4):
        c["accepted_kinds"] = [*c["accepted_kinds"],
                               next(k for k in KINDS if k not in c["accepted_kinds"])]


def seed_in_chunks(sandbox: Sandbox, items: list[dict[str, Any]], chunk: int = 10_000) -> None:
    for start in range(0, len(items), chunk):
        sandbox.seed(items[start:start + chunk])
