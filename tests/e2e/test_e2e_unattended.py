"""End-to-end, as an unattended run meets them: signals, odd consoles, odd server data, the
key in live data, saved plans that meet a changed world. The real CLI in a subprocess against
`adapter-sync sandbox serve` over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clirun import SRC, run_process
from conftest import API_KEY
from fake_api import serve_body

pytestmark = pytest.mark.slow


def _env(server, **extra: str) -> dict[str, str]:
    return {"ADAPTER_API_URL": server.url, "ADAPTER_API_KEY": API_KEY, "NO_COLOR": "1",
            "ADAPTER_SYNC_BACKOFF_BASE": "0.01", **extra}


def _config(tmp_path: Path, n: int, name: str = "connectors.yaml") -> str:
    path = tmp_path / name
    path.write_text("connectors:\n" + "".join(f"  c{i:02d}: {{name: C{i}}}\n" for i in range(n)))
    return str(path)


def _apply_in_background(server, cfg: str) -> subprocess.Popen[str]:
    env = {**os.environ, **_env(server), "PYTHONPATH": SRC}
    return subprocess.Popen(
        [sys.executable, "-m", "adapter_sync", "apply", "--auto-approve", cfg], env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(server, created: int) -> None:
    deadline = time.monotonic() + 30
    while len(server.state()) < created and time.monotonic() < deadline:
        time.sleep(0.05)


def test_sigterm_is_as_graceful_as_ctrl_c(start_sandbox, tmp_path: Path) -> None:
    server = start_sandbox(latency=0.2)
    cfg = _config(tmp_path, 40)
    proc = _apply_in_background(server, cfg)
    _wait_for(server, 4)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "SIGTERM: finishing the calls in flight" in err and "Traceback" not in err
    created = len(server.state())
    assert 4 <= created < 40 and f"{created} done" in out and "Apply interrupted" in out
    assert f"Apply interrupted: {created} done, 0 failed, {40 - created} skipped." in out
    assert "not started: SIGTERM" in out and "Stopped early (SIGTERM)" in out
    server.set_faults()
    assert run_process(["apply", "--auto-approve", cfg], _env(server)).code == 0
    assert len(server.state()) == 40


def test_a_second_interrupt_still_reports_what_was_done(start_sandbox, tmp_path: Path) -> None:
    server = start_sandbox(latency=0.5)
    cfg = _config(tmp_path, 40)
    proc = _apply_in_background(server, cfg)
    _wait_for(server, 4)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "Traceback" not in err
    assert "Apply interrupted" in out and "✓ created c" in out
    assert "not finished (stopped by a second interrupt" in out
    server.set_faults()
    assert run_process(["apply", "--auto-approve", cfg], _env(server)).code == 0
    assert len(server.state()) == 40


def test_a_console_that_cannot_encode_the_markers_still_applies(reused_sandbox_server,
                                                              tmp_path: Path) -> None:
    server = reused_sandbox_server
    server.seed([{"source_name": "odd", "name": "Zaż\u00f3\u0142\u0107 \u2603 g\u0119\u015bl\u0105"}])
    cfg = tmp_path / "c.yaml"
    cfg.write_text("connectors:\n  odd: {name: Plain}\n  new: {name: New \u2603}\n",
                   encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "adapter_sync", "apply", "--auto-approve", str(cfg)],
        env={**os.environ, **_env(server, PYTHONIOENCODING="cp1252"), "PYTHONPATH": SRC},
        capture_output=True, timeout=60)
    out, err = proc.stdout.decode("cp1252"), proc.stderr.decode("cp1252")
    assert proc.returncode == 0, err
    assert "+ created new" in out and "Apply complete: 2 done" in out
    assert "\\u2603" in out  # the snowman cp1252 lacks, escaped, not a crash


def test_a_live_name_with_a_lone_surrogate_does_not_crash_plan(tmp_path: Path) -> None:
    # JSON may carry a lone surrogate ("\\ud800"); the sandbox cannot even store one, so a
    # small server on 127.0.0.1 answers the list call with it
    body = b'[{"connector_id": "id-1", "source_name": "weird", "name": "bad \\ud800 name"}]'
    with serve_body(body) as port:
        cfg = tmp_path / "c.yaml"
        cfg.write_text("connectors:\n  weird: {name: Good}\n")
        env = {"ADAPTER_API_URL": f"http://127.0.0.1:{port}/v1",
               "ADAPTER_API_KEY": API_KEY, "NO_COLOR": "1"}
        for fmt in ("text", "markdown", "json"):
            shown = run_process(["plan", "--format", fmt, str(cfg)], env)
            assert shown.code == 0 and "Traceback" not in shown.err, shown.err
            assert ("&#92;ud800" if fmt == "markdown" else "\\ud800") in shown.out


def test_the_key_in_live_data_never_reaches_any_output(reused_sandbox_server,
                                                      tmp_path: Path) -> None:
    server = reused_sandbox_server
    server.seed([{"source_name": "leak", "name": f"holds {API_KEY}",
                  "metadata": {"token": API_KEY}}])
    cfg = tmp_path / "c.yaml"
    cfg.write_text("connectors:\n  leak: {name: Clean}\n")
    env = _env(server, ADAPTER_API_KEY=f"  {API_KEY}\n")  # pasted with whitespace
    spellings = (API_KEY, API_KEY.replace("_", "&#95;"))
    for fmt in ("text", "markdown", "json"):
        shown = run_process(["plan", "--format", fmt, "--out", str(tmp_path / "p.json"),
                             str(cfg)], env)
        assert shown.code == 0, shown.err
        assert not any(s in shown.out + shown.err for s in spellings), fmt
        assert API_KEY not in (tmp_path / "p.json").read_text()
    imported = run_process(["import", "-o", str(tmp_path / "imported.yaml")], env)
    assert imported.code == 0 and API_KEY not in (tmp_path / "imported.yaml").read_text()
    assert API_KEY not in run_process(["import"], env).out


def test_a_saved_plan_is_accepted_whatever_created_at_looks_like(reused_sandbox_server,
                                                                tmp_path: Path) -> None:
    server = reused_sandbox_server
    for i, created_at in enumerate([1717171717, None, "last tuesday", {"at": 1}]):
        server.reset()
        server.seed([{"source_name": "c", "name": "Old", "created_at": created_at}])
        cfg = tmp_path / "c.yaml"
        cfg.write_text("connectors:\n  c: {name: New}\n")
        saved = tmp_path / f"plan-{i}.json"
        made = run_process(["plan", "--out", str(saved), str(cfg)], _env(server))
        assert made.code == 0, made.err
        applied = run_process(["apply", "--plan", str(saved)], _env(server))
        assert applied.code == 0, (created_at, applied.err)
        assert server.state()[0]["name"] == "New"


def test_import_reports_an_unknown_live_kind_and_never_writes_it(reused_sandbox_server,
                                                                tmp_path: Path) -> None:
    server = reused_sandbox_server
    server.seed([{"source_name": "fax", "name": "Fax", "accepted_kinds": ["email"]}])
    # the real service may grow kinds the sandbox (and adapter-sync) do not know yet: write
    # one into the sandbox's store directly
    import sqlite3

    with sqlite3.connect(server.db) as db:
        (doc,) = db.execute("select doc from connectors").fetchone()
        data = json.loads(doc)
        data["accepted_kinds"] = ["email", "telex"]
        db.execute("update connectors set doc = ?", (json.dumps(data),))
    out = tmp_path / "imported.yaml"
    imported = run_process(["import", "-o", str(out)], _env(server))
    assert imported.code == 0, imported.err
    assert "telex" in imported.err and "telex" not in out.read_text()
    assert run_process(["validate", str(out)], _env(server)).code == 0
