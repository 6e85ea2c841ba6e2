"""End-to-end: the real CLI, in a subprocess, against `adapter-sync sandbox serve` over real HTTP."""

from __future__ import annotations

import collections
import json

import pytest

from clirun import run_process
from conftest import API_KEY

# subprocesses and servers: end to end, over a second each (pytest -m 'not slow' skips)
pytestmark = pytest.mark.slow


def _env(server) -> dict[str, str]:
    return {"ADAPTER_API_URL": server.url, "ADAPTER_API_KEY": API_KEY, "NO_COLOR": "1",
            "ADAPTER_SYNC_BACKOFF_BASE": "0.02"}


def _config(tmp_path, connectors: dict[str, dict], **settings) -> str:
    lines = [f"{k}: {json.dumps(v)}" for k, v in settings.items()]
    lines.append("connectors:" if connectors else "connectors: {}")
    for slug, spec in connectors.items():
        lines.append(f"  {slug}: {json.dumps(spec)}")
    path = tmp_path / "connectors.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _assert_no_duplicates(server) -> list[dict]:
    state = server.state()
    counts = collections.Counter(c["source_name"] for c in state)
    assert [n for n, k in counts.items() if k > 1] == []
    return state


def test_every_action_type_over_http_with_faults(start_sandbox, tmp_path):
    server = start_sandbox(error_rate=0.2, rate_limit_rate=0.1, drop_rate=0.1, seed=7,
                           retry_after=0)
    env = _env(server)
    cfg = _config(tmp_path, {"keep": {"name": "Keep"}, "rename": {"name": "Old"},
                             "sleepy": {"name": "Sleepy"}, "goner": {"name": "Goner"}})
    assert run_process(["--max-attempts", "20", "apply", "--auto-approve", cfg], env).code == 0
    cfg = _config(tmp_path, {"keep": {"name": "Keep"}, "rename": {"name": "New"},
                             "sleepy": {"name": "Sleepy", "active": False},
                             "fresh": {"name": "Fresh", "accepted_kinds": ["email"]}})
    plan = run_process(["--max-attempts", "20", "plan", "--format", "json", cfg], env)
    assert plan.code == 0, plan.err
    kinds = {a["source_name"]: a["action"] for a in json.loads(plan.out)["actions"]}
    assert kinds == {"rename": "update", "sleepy": "deactivate", "fresh": "create"}
    assert json.loads(plan.out)["unmanaged"] == ["goner"]
    applied = run_process(["--max-attempts", "20", "apply", "--auto-approve", cfg], env)
    assert applied.code == 0, applied.err
    cfg = _config(tmp_path, {"keep": {"name": "Keep"}, "rename": {"name": "New"},
                             "sleepy": {"name": "Sleepy"},
                             "fresh": {"name": "Fresh", "accepted_kinds": ["email"]}})
    plan = run_process(["--max-attempts", "20", "plan", "--format", "json", cfg], env)
    assert [(a["action"], a["source_name"]) for a in json.loads(plan.out)["actions"]] == [
        ("reactivate", "sleepy")]
    assert run_process(["--max-attempts", "20", "apply", "--auto-approve", cfg], env).code == 0
    again = run_process(["--max-attempts", "20", "plan", "--detailed-exitcode", cfg], env)
    assert again.code == 0, again.out + again.err
    state = {c["source_name"]: c for c in _assert_no_duplicates(server)}
    assert state["rename"]["name"] == "New" and state["sleepy"]["is_active"]
    assert state["goner"]["is_active"]  # never asked to: never deactivated


@pytest.mark.slow
def test_fault_injected_apply_of_200_converges_without_duplicates(start_sandbox, tmp_path):
    server = start_sandbox(error_rate=0.2, rate_limit_rate=0.1, drop_rate=0.1, seed=11,
                           retry_after=0)
    env = _env(server)
    cfg = _config(tmp_path, {f"conn-{i:03d}": {"name": f"Connector {i}",
                                               "metadata": {"n": str(i)}} for i in range(200)})
    applied = run_process(
        ["--max-attempts", "20", "apply", "--auto-approve", "--concurrency", "8", cfg], env)
    failed = [line for line in applied.out.splitlines() if "fail" in line]
    assert applied.code == 0, (failed, applied.err[-2000:])
    assert "200 done" in applied.out
    state = _assert_no_duplicates(server)
    assert len(state) == 200
    server.set_faults()  # a clean re-plan, without faults
    again = run_process(["plan", "--detailed-exitcode", cfg], env)
    assert again.code == 0, again.out


def test_lost_create_responses_give_no_duplicates(start_sandbox, tmp_path):
    server = start_sandbox(drop_rate=0.5, seed=3)
    env = _env(server)
    cfg = _config(tmp_path, {f"c{i}": {"name": f"C{i}"} for i in range(20)})
    applied = run_process(["--max-attempts", "20", "apply", "--auto-approve", cfg], env)
    assert applied.code == 0, applied.err
    assert "lost" in applied.out  # the adopted creates are reported
    assert len(_assert_no_duplicates(server)) == 20
    server.set_faults()
    assert run_process(["plan", "--detailed-exitcode", cfg], env).code == 0


def test_stale_saved_plan_is_refused_over_http(sandbox_server, tmp_path):
    env = _env(sandbox_server)
    cfg = _config(tmp_path, {"a": {"name": "A"}})
    assert run_process(["apply", "--auto-approve", cfg], env).code == 0
    cfg = _config(tmp_path, {"a": {"name": "A2"}, "b": {"name": "B"}})
    saved = tmp_path / "plan.json"
    assert run_process(["plan", "--out", str(saved), cfg], env).code == 0
    assert API_KEY not in saved.read_text()
    # someone changes "a" by hand in the console meanwhile
    a = next(c for c in sandbox_server.state() if c["source_name"] == "a")
    sandbox_server.seed([])  # no-op, keeps the server warm
    import httpx

    httpx.patch(f"{sandbox_server.url}/custom-connectors/{a['connector_id']}",
                json={"name": "Changed by hand"},
                headers={"Authorization": f"Bearer {API_KEY}"}).raise_for_status()
    stale = run_process(["apply", "--plan", str(saved)], env)
    assert stale.code == 1 and "stale" in stale.err and "Traceback" not in stale.err
    assert {c["source_name"] for c in sandbox_server.state()} == {"a"}  # nothing written


def test_mass_deactivation_refused_over_http(sandbox_server, tmp_path):
    env = _env(sandbox_server)
    sandbox_server.seed([{"source_name": f"c{i}", "name": f"C{i}"} for i in range(12)])
    cfg = _config(tmp_path, {f"c{i}": {"name": f"C{i}"} for i in range(3)}, prune=True)
    refused = run_process(["apply", "--auto-approve", cfg], env)
    assert refused.code == 1 and "9 of 12" in refused.err
    assert all(c["is_active"] for c in sandbox_server.state())


def test_read_only_key_names_missing_scope(sandbox_server, tmp_path):
    env = {**_env(sandbox_server), "ADAPTER_API_KEY": "pk_live_ro_reader"}
    cfg = _config(tmp_path, {"a": {"name": "A"}})
    assert run_process(["plan", cfg], env).code == 0  # reading is allowed
    result = run_process(["apply", "--auto-approve", cfg], env)
    assert result.code == 1 and "connectors:write" in (result.out + result.err)
    assert "Traceback" not in result.err


def test_bad_key_and_network_down_are_one_line(sandbox_server, tmp_path):
    cfg = _config(tmp_path, {"a": {"name": "A"}})
    bad = run_process(["plan", cfg], {**_env(sandbox_server), "ADAPTER_API_KEY": "nope"})
    assert bad.code == 1 and "ADAPTER_API_KEY" in bad.err and "nope" not in bad.err
    down = run_process(["--max-attempts", "2", "plan", cfg],
                       {**_env(sandbox_server), "ADAPTER_API_URL": "http://127.0.0.1:9/v1"})
    assert down.code == 1 and "Traceback" not in down.err
    assert len(down.err.strip().splitlines()) == 1


def test_ctrl_c_finishes_in_flight_calls_and_reports(start_sandbox, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from clirun import SRC

    server = start_sandbox(latency=0.2)
    env = {**os.environ, **_env(server), "PYTHONPATH": SRC}
    cfg = _config(tmp_path, {f"c{i:02d}": {"name": f"C{i}"} for i in range(40)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapter_sync", "apply", "--auto-approve", cfg], env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(server.state()) < 4 and time.monotonic() < deadline:  # mid-apply
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "Apply interrupted" in out and "Traceback" not in err
    created = len(server.state())
    assert 4 <= created < 40
    assert f"{created} done" in out  # every call in flight was waited for and reported
    server.set_faults()
    assert run_process(["apply", "--auto-approve", cfg], _env(server)).code == 0
    assert len(_assert_no_duplicates(server)) == 40
