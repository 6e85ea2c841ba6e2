"""Reliability: `plan` against a hostile HTTP server on 127.0.0.1.

The server answers the list call with a huge or endless body, a slow drip (headers or body,
one byte per second), malformed JSON, the wrong content type, an object instead of an array,
or connectors missing required fields. The real CLI (a subprocess, ``--deadline 5``) must end
with exactly one ``Error:`` line, exit 1, no traceback, well before a generous bound (the
subprocess timeout: a hang fails the test), and with bounded memory (the child's peak RSS,
measured by a small wrapper process).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clirun import SRC

KEY = "pk_live_hostile_test_key"
DEADLINE = 5
HANG_BOUND = 30.0  # seconds: far above the deadline, only there to turn a hang into a failure
MIB = 1024 * 1024
#: What the server may send at most, even to a client that reads forever: the test must not be
#: able to exhaust the machine's memory if the client is broken.
SERVE_CAP = 320 * MIB
#: The child's peak RSS bound. Reading the 200-320 MB bodies whole would pass it by far.
RSS_BOUND_MIB = 200
#: Per-test bound (pytest-timeout), beyond the subprocess's own HANG_BOUND: a hang in the
#: server or in the test itself fails the test too.
pytestmark = pytest.mark.timeout(120)

Handler = Callable[[socket.socket, threading.Event], None]


# ------------------------------------------------------------------------- the hostile server


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def _answer(body: bytes, ctype: str = "application/json", status: str = "200 OK") -> Handler:
    def handle(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(_head(status, {"Content-Type": ctype, "Content-Length": str(len(body)),
                                    "Connection": "close"}) + body)
    return handle


def _huge(declared: bool) -> Handler:
    """A JSON array of ~200 MB (with Content-Length) or without end (chunked, capped)."""
    item = json.dumps({"connector_id": "c" * 32, "source_name": "x", "name": "n" * 400,
                       "is_active": True, "metadata": {}}).encode() + b","
    chunk = item * (MIB // len(item))

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        total = 200 * MIB if declared else SERVE_CAP
        headers = {"Content-Type": "application/json", "Connection": "close"}
        if declared:
            headers["Content-Length"] = str(total)
        else:
            headers["Transfer-Encoding"] = "chunked"
        conn.sendall(_head("200 OK", headers))
        sent = 0
        first = b"["
        while sent < total and not stop.is_set():
            data = first + chunk
            first = b""
            conn.sendall(data if declared else b"%x\r\n%s\r\n" % (len(data), data))
            sent += len(data)
    return handle


def _drip(what: str) -> Handler:
    """One byte per second: of the whole response (``head``) or of an endless body."""

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        if what == "head":
            data = _head("200 OK", {"Content-Type": "application/json", "Content-Length": "2"})
            data += b"[]"
        else:
            conn.sendall(_head("200 OK", {"Content-Type": "application/json",
                                          "Content-Length": str(10 * MIB)}))
            data = b"[" + b" " * (10 * MIB - 2) + b"]"
        for i in range(len(data)):
            if stop.wait(1.0):
                return
            conn.sendall(data[i:i + 1])
    return handle


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def hostile_server(handler: Handler) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 in threads; yields the API URL; stops everything."""
    stop = threading.Event()
    requests: list[bytes] = []

    class Handle(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            buf = b""
            try:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                requests.append(buf)
                handler(conn, stop)
            except OSError:  # the client gave up: expected for every hostile answer
                pass

    server = _TCPServer(("127.0.0.1", 0), Handle)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert requests, "the CLI never reached the hostile server: the test proved nothing"
    assert all(r.startswith(b"GET /v1/custom-connectors") for r in requests)


# ------------------------------------------------------------------------- running the CLI


#: Runs the CLI as its child and records the children's peak RSS. A child forked straight from
#: pytest would report pytest's own high-water mark (Linux keeps ru_maxrss across exec), which
#: grows to hundreds of MiB over the whole suite; this wrapper is small when it forks.
_PEAK_WRAPPER = (
    "import os, resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "with open(os.environ['PEAK_RSS_FILE'], 'w') as f:\n"
    "    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def run_measured(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str, float,
                                                                            int]:
    """Run the CLI; (exit code, stdout, stderr, seconds, peak RSS in MiB) or fail on a hang."""
    full_env = {**os.environ, **env}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, full_env.get("PYTHONPATH")]))
    out, err, peak = cwd / "stdout.txt", cwd / "stderr.txt", cwd / "peak-rss.txt"
    full_env["PEAK_RSS_FILE"] = str(peak)
    started = time.monotonic()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(
            [sys.executable, "-c", _PEAK_WRAPPER, sys.executable, "-m", "adapter_sync", *args],
            env=full_env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
            start_new_session=True)
    try:
        code = proc.wait(timeout=HANG_BOUND)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"the CLI hung for more than {HANG_BOUND:g}s: "
                    f"{err.read_text(errors='replace')[-2000:]}")
    elapsed = time.monotonic() - started
    return (code, out.read_text(errors="replace"), err.read_text(errors="replace"), elapsed,
            int(peak.read_text()) // 1024)


CASES: dict[str, tuple[Handler, str]] = {
    "huge-declared-200MB": (_huge(declared=True), "too large"),
    "huge-endless-chunked": (_huge(declared=False), "too large"),
    "slow-drip-body": (_drip("body"), "deadline"),
    "slow-drip-headers": (_drip("head"), "deadline"),
    "malformed-json": (_answer(b'[{"connector_id": "a", "source_name": '), "malformed JSON"),
    "html-200": (_answer(b"<html><body>Welcome to nginx</body></html>", "text/html"),
                 "content-type 'text/html'"),
    "object-not-array": (_answer(b'{"connectors": []}'), "expected a JSON array"),
    "missing-fields": (_answer(json.dumps([{"connector_id": "c1", "name": "A"}]).encode()),
                       "unexpected item"),
    "empty-200": (_answer(b""), "malformed JSON"),
    "control-chars-in-error": (_answer(json.dumps({
        "error": "bad_request",
        "message": "\x1b[2J\x1b]0;owned\x07first\nsecond\r::error::injected\u202e",
    }).encode(), status="400 Bad Request"), "HTTP 400"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_plan_against_a_hostile_server_fails_cleanly(case: str, tmp_path: Path) -> None:
    handler, expected = CASES[case]
    (tmp_path / "connectors.yaml").write_text("connectors:\n  acme-crm: {name: Acme CRM}\n")
    with hostile_server(handler) as url:
        code, out, err, elapsed, rss = run_measured(
            ["--api-url", url, "--deadline", str(DEADLINE), "plan"],
            {"ADAPTER_API_KEY": KEY, "NO_COLOR": "1"}, tmp_path)
    lines = err.strip().splitlines()
    assert code == 1, (out, err)
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert expected in lines[0], lines[0]
    assert "list connectors" in lines[0]
    assert "Traceback" not in err and out == ""
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e]", lines[0]), \
        f"a control character reached the terminal: {lines[0]!r}"
    assert KEY not in err
    assert elapsed < DEADLINE + 10, f"took {elapsed:.1f}s for a {DEADLINE}s deadline"
    assert rss < RSS_BOUND_MIB, f"peak RSS {rss} MiB: the response was read without a limit"
