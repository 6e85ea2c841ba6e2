"""`adapter-sync sandbox serve` as a user runs it: one URL line, answers, stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from conftest import SRC, SandboxProcess

# subprocesses and servers: end to end, over a second each (pytest -m 'not slow' skips)
pytestmark = pytest.mark.slow

LINE = re.compile(
    r"^Sandbox listening on (http://127\.0\.0\.1:(\d+)/v1)  "
    r"\(use: --api-url \1, key: any pk_live_\.\.\. value\)$"
)
AUTH = {"Authorization": "Bearer pk_live_test"}


def test_serve_prints_the_url_line_answers_and_stops_on_ctrl_c(
        start_sandbox: Callable[..., SandboxProcess]) -> None:
    server = start_sandbox()
    match = LINE.match(server.line)
    assert match, server.line
    assert int(match.group(2)) > 0 and match.group(1) == server.url
    response = httpx.get(f"{server.url}/custom-connectors", headers=AUTH)
    assert response.status_code == 200 and response.json() == []
    assert server.stop(signal.SIGINT) == 0
    assert "Traceback" not in server.stderr and "Interrupted" not in server.stderr
    assert server.stderr == ""


def test_serve_stops_cleanly_on_sigterm(start_sandbox: Callable[..., SandboxProcess]) -> None:
    server = start_sandbox()
    assert server.stop(signal.SIGTERM) == 0
    assert server.stderr == ""


def test_only_one_line_is_printed(start_sandbox: Callable[..., SandboxProcess]) -> None:
    server = start_sandbox()
    httpx.get(f"{server.url}/custom-connectors", headers=AUTH)
    server.process.send_signal(signal.SIGINT)
    rest, _ = server.process.communicate(timeout=10)
    assert rest == b""  # nothing after the URL line: no access log, no shutdown chatter
    assert server.process.returncode == 0


def test_fault_flags_reach_the_running_server(start_sandbox: Callable[..., SandboxProcess]) -> None:
    server = start_sandbox(latency=0.01, error_rate=0.25, rate_limit_rate=0.125, drop_rate=0.5,
                           seed=3)
    faults = server.faults()
    assert (faults["latency"], faults["error_rate"], faults["rate_limit_rate"],
            faults["drop_rate"], faults["seed"]) == (0.01, 0.25, 0.125, 0.5, 3)


def test_a_dropped_connection_is_not_logged_as_a_server_error(
        start_sandbox: Callable[..., SandboxProcess]) -> None:
    server = start_sandbox(drop_rate=1.0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.post(f"{server.url}/custom-connectors", headers=AUTH,
                   json={"name": "A", "source_name": "a"})
    assert [c["source_name"] for c in server.state()] == ["a"]
    assert server.stop(signal.SIGINT) == 0
    assert server.stderr == ""


def test_the_db_folder_is_created(start_sandbox: Callable[..., SandboxProcess],
                                  tmp_path: Path) -> None:
    db = tmp_path / "deep" / "er" / "sandbox.db"
    server = start_sandbox(db)
    httpx.post(f"{server.url}/custom-connectors", headers=AUTH,
               json={"name": "A", "source_name": "a"})
    assert db.exists()


def test_a_busy_port_is_one_line_of_error_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
        done = subprocess.run(
            [sys.executable, "-m", "adapter_sync", "sandbox", "serve", "--port", str(port),
             "--db", str(tmp_path / "sandbox.db")],
            capture_output=True, text=True, env=env, timeout=30, stdin=subprocess.DEVNULL,
        )
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_db_path_that_cannot_hold_the_database_is_one_line_of_error_and_exit_1(
        tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", "adapter_sync", "sandbox", "serve", "--port", "0",
         "--db", str(tmp_path)],  # a folder
        capture_output=True, text=True, env=env, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"cannot open the sandbox database {str(tmp_path)!r}" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_serve_takes_the_rate_limit_settings(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    code = ("from adapter_sync.sandbox.server import serve; "
            f"serve(port=0, db={str(tmp_path / 's.db')!r}, rate_limit='token_bucket', "
            "rate_limit_requests=7, rate_limit_window=2.5, retry_after_style='date', "
            "reset_style='none', clock_offset=-5.5, shared_usage=0.25, seed=4)")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    try:
        assert process.stdout is not None
        match = LINE.match(process.stdout.readline().decode().strip())
        assert match, process.stderr.read().decode() if process.stderr else ""
        root = match.group(1).removesuffix("/v1")
        faults = httpx.get(f"{root}/_sandbox/faults").json()
        assert {k: faults[k] for k in ("rate_limit", "rate_limit_requests", "rate_limit_window",
                                       "retry_after_style", "reset_style", "clock_offset",
                                       "shared_usage", "seed")} == \
            {"rate_limit": "token_bucket", "rate_limit_requests": 7, "rate_limit_window": 2.5,
             "retry_after_style": "date", "reset_style": "none", "clock_offset": -5.5,
             "shared_usage": 0.25, "seed": 4}
        response = httpx.get(f"{match.group(1)}/custom-connectors", headers=AUTH)
        assert response.headers["X-RateLimit-Limit"] == "7"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0 and stderr == b""


@pytest.mark.parametrize("settings", [{"rate_limit": "leaky_bucket"}, {"clock_offset": "x"},
                                      {"rate_limit_typo": 1}])
def test_serve_refuses_bad_settings_before_listening(tmp_path: Path,
                                                     settings: dict[str, object]) -> None:
    from adapter_sync.sandbox.server import CannotServe, serve

    with pytest.raises(CannotServe, match="invalid fault settings"):
        serve(port=0, db=str(tmp_path / "s.db"), **settings)
    assert not (tmp_path / "s.db").exists()


def test_rate_limit_flags_reach_the_running_server(tmp_path: Path) -> None:
    server = SandboxProcess(tmp_path / "rl.db", {}, args=[
        "--rate-limit", "fixed_window", "--rate-limit-requests", "3",
        "--rate-limit-window", "30", "--retry-after-style", "fractional",
        "--clock-offset", "-2"])
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            answers = [http.get("/custom-connectors",
                                headers={"Authorization": "Bearer pk_live_flags"})
                       for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert answers[0].headers["x-ratelimit-limit"] == "3"
        assert "." in answers[3].headers["retry-after"]  # fractional
        assert server.faults()["clock_offset"] == -2.0
    finally:
        server.stop()


def test_reset_keeps_the_faults_given_on_the_command_line(tmp_path: Path) -> None:
    server = SandboxProcess(tmp_path / "keep.db", {"latency": 0.01, "error_rate": 0.25,
                                                   "seed": 3})
    try:
        server.set_faults(error_rate=1.0)
        server.reset()
        faults = server.faults()
        assert (faults["latency"], faults["error_rate"], faults["seed"]) == (0.01, 0.25, 3)
    finally:
        server.stop()


def test_serving_on_all_interfaces_prints_a_url_the_client_accepts(tmp_path: Path) -> None:
    server = SandboxProcess(tmp_path / "all.db", {}, args=["--host", "0.0.0.0"])
    try:
        assert server.url.startswith("http://127.0.0.1:") and "all interfaces" in server.line
        cfg = tmp_path / "c.yaml"
        cfg.write_text("connectors:\n  a: {name: A}\n")
        from clirun import run_process

        done = run_process(["--api-url", server.url, "plan", str(cfg)],
                           {"ADAPTER_API_KEY": "pk_live_any"})
        assert done.code == 0 and "1 to create" in done.out, done.err
    finally:
        server.stop()


def test_a_client_that_disconnects_leaves_no_server_traceback(tmp_path: Path) -> None:
    server = SandboxProcess(tmp_path / "gone.db", {"latency": 0.5})
    try:
        for method in ("GET", "POST"):
            with pytest.raises(httpx.TimeoutException):
                httpx.request(method, server.url + "/custom-connectors", timeout=0.1,
                              headers={"Authorization": "Bearer pk_live_any"},
                              json={"source_name": "a", "name": "A"} if method == "POST" else None)
        import time

        time.sleep(1.0)  # let the server notice
        assert server.stop() == 0
        assert "Traceback" not in server.stderr and "Exception" not in server.stderr
    finally:
        server.stop()
