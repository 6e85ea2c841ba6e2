"""Long runs you can watch (issue #11): the real CLI as a process, off a terminal and on a pty,
against the sandbox server with latency, its output read line by line with timestamps."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from clirun import SRC, run_process
from conftest import API_KEY

pytestmark = pytest.mark.slow

HEARTBEAT = 1.0


def _env(server, **extra: str) -> dict[str, str]:
    return {**os.environ, "ADAPTER_API_URL": server.url, "ADAPTER_API_KEY": API_KEY,
            "NO_COLOR": "1", "PYTHONPATH": SRC, "ADAPTER_SYNC_BACKOFF_BASE": "0.02",
            "ADAPTER_SYNC_HEARTBEAT": str(HEARTBEAT), **extra}


def _config(tmp_path: Path, n: int) -> str:
    path = tmp_path / "connectors.yaml"
    path.write_text("connectors:\n" + "".join(f"  c{i:03d}: {{name: C{i}}}\n" for i in range(n)))
    return str(path)


class Timed:
    """A subprocess whose stdout and stderr lines are read as they come, with timestamps."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.start = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "adapter_sync", *args], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: list[tuple[float, str, str]] = []  # (seconds since start, stream, line)
        self._lock = threading.Lock()
        self._readers = [threading.Thread(target=self._read, args=(name, stream), daemon=True)
                         for name, stream in (("out", self.proc.stdout),
                                              ("err", self.proc.stderr))]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str, stream) -> None:
        for line in stream:
            with self._lock:
                self.lines.append((time.monotonic() - self.start, name, line.rstrip("\n")))

    def wait(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        self.end = time.monotonic() - self.start
        return code

    def stream(self, name: str) -> list[tuple[float, str]]:
        return [(t, line) for t, n, line in self.lines if n == name]

    def text(self, name: str) -> str:
        return "\n".join(line for _, line in self.stream(name))


def _longest_gap(times: list[float], start: float, end: float) -> float:
    points = [start, *sorted(times), end]
    return max(b - a for a, b in zip(points, points[1:], strict=False))


def test_results_stream_as_they_happen_with_heartbeats_off_a_terminal(start_sandbox,
                                                                    tmp_path: Path) -> None:
    server = start_sandbox(latency=0.15)
    run = Timed(["apply", "--auto-approve", "--concurrency", "1", _config(tmp_path, 30)],
                _env(server))
    assert run.wait() == 0, run.text("err")
    results = [(t, line) for t, line in run.stream("out") if line.startswith("✓ created")]
    assert len(results) == 30
    first, last = results[0][0], results[-1][0]
    assert first < run.end / 3, (first, run.end)  # long before the end, not all at once
    assert last - first > 2.0
    # while work was pending, nothing was silent longer than the heartbeat interval
    plan_shown = next(t for t, line in run.stream("out") if line.startswith("Plan:"))
    busy = [t for t, _, _ in run.lines if plan_shown <= t <= last]
    assert _longest_gap(busy, plan_shown, last) <= HEARTBEAT + 0.6
    assert run.text("out").rstrip().endswith("Apply complete: 30 done, 0 failed, 0 skipped.")
    assert run.text("out").count("✓ created c000") == 1  # not repeated in the summary


def test_a_slow_apply_shows_heartbeats_off_a_terminal(start_sandbox, tmp_path: Path) -> None:
    server = start_sandbox(latency=1.6)
    run = Timed(["apply", "--auto-approve", "--concurrency", "1", _config(tmp_path, 3)],
                _env(server))
    assert run.wait() == 0, run.text("err")
    beats = [line for _, line in run.stream("err") if line.startswith("still applying:")]
    assert beats, run.text("err")
    assert "/3 done, 0 failed" in beats[0] and "elapsed" in beats[0]


def test_json_events_parse_line_by_line_and_the_summary_matches(start_sandbox,
                                                               tmp_path: Path) -> None:
    server = start_sandbox(latency=0.05)
    server.seed([{"source_name": "c000", "name": "Old"}])
    run = Timed(["apply", "--auto-approve", "--format", "json", _config(tmp_path, 12)],
                _env(server))
    assert run.wait() == 0, run.text("err")
    events = [json.loads(line) for _, line in run.stream("out")]  # every line is JSON
    types = Counter(e["type"] for e in events)
    assert types["result"] == 12 and events[-1]["type"] == "summary"
    assert events[-1] == {"type": "summary", "done": 12, "failed": 0, "skipped": 0,
                          "interrupted": False, "halted": None}
    update = next(e for e in events if e.get("source_name") == "c000")
    assert update["action"] == "update" and update["status"] == "done"
    assert update["connector_id"] and update["message"] == ""
    assert "Plan: 11 to create, 1 to update" in run.text("err")  # people read stderr


def test_max_duration_ends_on_time_with_a_partial_report_and_a_rerun_finishes(
        start_sandbox, tmp_path: Path) -> None:
    server = start_sandbox(latency=0.25)
    cfg = _config(tmp_path, 60)
    run = Timed(["apply", "--auto-approve", "--concurrency", "2", "--max-duration", "2", cfg],
                _env(server))
    code = run.wait()
    assert code == 1
    assert run.end < 2 + 3.0, run.end  # on time: the budget, the calls in flight, start-up
    out, err = run.text("out"), run.text("err")
    created = len(server.state())
    assert 2 <= created < 60
    assert f"Apply interrupted: {created} done, 0 failed, {60 - created} skipped." in out
    assert "Apply partial (--max-duration 2s reached)" in out and "run apply again" in out
    assert "--max-duration 2s reached: finishing the calls in flight" in err
    again = run_process(["apply", "--auto-approve", cfg], {
        k: v for k, v in _env(server).items() if k != "PYTHONPATH"})
    assert again.code == 0, again.err
    names = Counter(c["source_name"] for c in server.state())
    assert len(names) == 60 and max(names.values()) == 1  # no duplicates


def test_on_a_terminal_a_status_line_never_glues_onto_result_lines(start_sandbox,
                                                                  tmp_path: Path) -> None:
    server = start_sandbox(latency=0.3)
    master, slave = pty.openpty()
    env = _env(server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapter_sync", "apply", "--auto-approve", "--concurrency", "1",
         _config(tmp_path, 8)], env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    data = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    proc.wait(10)
    os.close(master)
    text = data.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "applying: " in text and "elapsed" in text  # the live status line was drawn
    for line in text.replace("\r\n", "\n").split("\n"):
        visible = line.rsplit("\x1b[2K", 1)[-1]  # what is left on screen after an erase
        assert not ("applying:" in visible and "created" in visible), repr(line)
    assert "Apply complete: 8 done" in text


def test_rate_limit_waits_show_as_lines_and_events(start_sandbox, tmp_path: Path) -> None:
    server = start_sandbox()
    server.set_faults(rate_limit="fixed_window", rate_limit_requests=4, rate_limit_window=2.0)
    cfg = _config(tmp_path, 10)
    run = Timed(["apply", "--auto-approve", cfg], _env(server))
    assert run.wait() == 0, run.text("err")
    waits = [line for _, line in run.stream("err") if "for the rate limit (until" in line]
    assert waits, run.text("err")  # without --debug
    server.reset()
    server.set_faults(rate_limit="fixed_window", rate_limit_requests=4, rate_limit_window=2.0)
    run = Timed(["apply", "--auto-approve", "--format", "json", cfg], _env(server))
    assert run.wait() == 0, run.text("err")
    events = [json.loads(line) for _, line in run.stream("out")]
    waits = [e for e in events if e["type"] == "wait"]
    assert waits and waits[0]["reason"] == "rate_limit" and waits[0]["seconds"] >= 1.0
    assert events[-1]["done"] == 10


def test_the_plan_estimates_calls_and_time_at_the_announced_limit(start_sandbox,
                                                                 tmp_path: Path) -> None:
    server = start_sandbox()
    server.set_faults(rate_limit="fixed_window", rate_limit_requests=60,
                      rate_limit_window=60.0)
    cfg = _config(tmp_path, 30)
    env = {k: v for k, v in _env(server).items() if k != "PYTHONPATH"}
    text = run_process(["plan", cfg], env).out
    assert "Estimate: 30 API calls, about 30 s at the announced rate limit (60 requests a " \
        "minute)." in text
    doc = json.loads(run_process(["plan", "--format", "json", cfg], env).out)
    estimate = doc["estimate"]
    assert {k: estimate[k] for k in ("api_calls", "seconds", "limit_per_minute")} == {
        "api_calls": 30, "seconds": 30.0, "limit_per_minute": 60.0}
    # the budget the list call's answer announced: the window's 60 less this and earlier lists
    assert 0 < estimate["remaining"] < 60 and estimate["exceeds_budget"] is False
    assert estimate["reset_at"].endswith("Z")
    shared = json.loads(run_process(["--rate-share", "0.5", "plan", "--format", "json", cfg],
                                    env).out)
    assert (shared["estimate"]["api_calls"], shared["estimate"]["seconds"]) == (30, 60.0)
    md = run_process(["plan", "--format", "markdown", cfg], env).out
    assert "Estimate: 30 API calls, about 30 s" in md
    server.set_faults()  # the sandbox's default budget is huge: no time worth waiting
    doc = json.loads(run_process(["plan", "--format", "json", cfg], env).out)
    assert doc["estimate"]["api_calls"] == 30 and doc["estimate"]["seconds"] < 0.1
