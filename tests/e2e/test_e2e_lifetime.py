"""The apply's lifetime, end to end (issue #15): halted by a 403, stopped by --max-duration
while the rate limit holds the writes, a deadline that fires once all is done, and stdout's
reader going away. The real CLI in a subprocess against `adapter-sync sandbox serve` over
real HTTP; every NDJSON event checked against schemas/events.schema.json."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clirun import SRC
from conftest import API_KEY
from ndjson import events

pytestmark = pytest.mark.slow


def _env(server, key: str = API_KEY) -> dict[str, str]:
    return {**os.environ, "ADAPTER_API_URL": server.url, "ADAPTER_API_KEY": key,
            "NO_COLOR": "1", "PYTHONPATH": SRC, "ADAPTER_SYNC_BACKOFF_BASE": "0.01"}


def _config(tmp_path: Path, n: int) -> str:
    path = tmp_path / "connectors.yaml"
    path.write_text("connectors:\n" + "".join(f"  c{i:02d}: {{name: C{i}}}\n" for i in range(n)))
    return str(path)


def _apply(server, *args: str, key: str = API_KEY, timeout: float = 120
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adapter_sync", "apply", "--auto-approve",
                           *args], env=_env(server, key), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def _results(stream: list[dict]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for event in stream:
        if event["type"] == "result":
            assert event["source_name"] not in found, "one result per action"
            found[event["source_name"]] = event
    return found


def test_an_apply_halted_by_a_403_gives_every_action_never_started_a_skipped_result(
        reused_sandbox_server, tmp_path: Path) -> None:
    server = reused_sandbox_server
    done = _apply(server, "--format", "json", "--concurrency", "2", _config(tmp_path, 12),
                  key="pk_live_ro_readonly")
    assert done.returncode == 1, done.stderr
    stream = events(done.stdout)
    results = _results(stream)
    assert len(results) == 12  # at least one result per action: the documented contract
    failed = [r for r in results.values() if r["status"] == "failed"]
    skipped = [r for r in results.values() if r["status"] == "skipped"]
    assert 1 <= len(failed) <= 2 and len(failed) + len(skipped) == 12
    assert {r["message"] for r in skipped} == {"not started: the apply halted"}
    summary = stream[-1]
    assert summary["type"] == "summary" and summary["halted"]
    assert (summary["failed"], summary["skipped"]) == (len(failed), len(skipped))
    assert server.state() == []
    assert "Traceback" not in done.stderr and "Apply stopped:" in done.stderr


def test_max_duration_ends_on_time_while_the_rate_limit_holds_the_writes(
        start_sandbox, tmp_path: Path) -> None:
    server = start_sandbox()
    # 3 requests a minute: the list and a create or two go; the rest are held for a minute
    server.set_faults(rate_limit="fixed_window", rate_limit_requests=3,
                      rate_limit_window=60.0)
    start = time.monotonic()
    done = _apply(server, "--format", "json", "--max-duration", "3", _config(tmp_path, 8))
    took = time.monotonic() - start
    assert done.returncode == 1, done.stderr
    assert took < 30, took  # it did not wait for the window (a minute) to pass
    results = _results(events(done.stdout))
    assert len(results) == 8
    sent = {c["source_name"] for c in server.state()}
    skipped = {n for n, r in results.items() if r["status"] == "skipped"}
    assert skipped and sent.isdisjoint(skipped) and len(sent) + len(skipped) == 8
    assert any("past --max-duration 3s" in results[n]["message"] for n in skipped)
    assert "Stopped early (--max-duration 3s" in done.stderr and "Traceback" not in done.stderr


def test_a_deadline_that_fires_after_every_action_finished_exits_0(
        start_sandbox, tmp_path: Path) -> None:
    # every request takes 1 s: the list ends at ~1 s, the one create starts then and is in
    # flight when the deadline fires (1.6 s), and finishes at ~2 s
    server = start_sandbox(latency=1.0)
    done = _apply(server, "--max-duration", "1.6", _config(tmp_path, 1))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Apply complete: 1 done, 0 failed, 0 skipped." in done.stdout
    assert "Stopped early" not in done.stdout and len(server.state()) == 1


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_when_stdouts_reader_goes_away_the_apply_stops_and_says_why_on_stderr(
        start_sandbox, tmp_path: Path, fmt: str) -> None:
    server = start_sandbox(latency=0.2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapter_sync", "apply", "--auto-approve", "--format", fmt,
         "--concurrency", "1", _config(tmp_path, 30)], env=_env(server),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # `| head -1`: one line, then the reader exits
    proc.stdout.close()
    err = proc.stderr.read()
    code = proc.wait(60)
    if fmt == "json":
        assert events([first])[0]["type"] == "plan"
    assert code == 1, err
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert "Exception ignored" not in err, err
    assert "stdout's reader went away: finishing the calls in flight" in err
    created = len(server.state())
    assert 0 <= created < 30  # nothing new started once it knew
    assert f"Apply interrupted: {created} done, 0 failed, {30 - created} skipped." in err
    assert "Stopped early (stdout's reader went away)" in err
