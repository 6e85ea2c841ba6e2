"""Wiring: the global and ``apply`` options really reach the requests the server sees.

The real CLI (``adapter_sync.cli.main``, in-process) talks over real TCP to a small recording
API server on 127.0.0.1 started by each test. The server keeps connectors in memory, records
every request (method, path, JSON body, when it arrived and when it was answered) and counts
the requests in flight at once. Each assertion is about what the server saw, so it fails if
an option is parsed but not passed on:

- ``apply --concurrency N``: never more than N requests in flight, and N is reached;
- ``--max-rps R``: the creates arrive spread over at least (n - 1) / R seconds (a control run
  without the option shows the same creates arrive in a burst);
- ``--max-attempts N``: a list answered 503 every time is tried exactly N times, and the error
  line says N attempts;
- a create that meets a 409, or whose answer is lost after the commit, while the connector
  found live has other metadata (or is inactive): it is adopted, one PATCH makes it match the
  declaration, the output notes the adoption, and nothing is created twice.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from clirun import run

pytestmark = pytest.mark.timeout(60)

KEY = "pk_live_wiring_test"
ROOT = "/v1/custom-connectors"


@dataclass(frozen=True)
class Hit:
    """One request as the server saw it."""

    method: str
    path: str
    body: Any
    started: float  # time.monotonic() when the whole request had been read
    ended: float  # ... and just before its answer was written


@dataclass
class Behaviour:
    """How the recording server answers.

    ``latency``: seconds every API request is held (inside the in-flight window).
    ``get_status``: answer every GET with this status and an empty body instead of the list.
    ``post``: ``"create"`` (201), ``"conflict"`` (409) or ``"lost"`` (close the connection
    without an answer). For the last two, ``appears`` is first put in the store, as if
    another writer had created that connector at that moment (or, for "lost", as if the
    create had committed and someone changed the connector right after).
    """

    latency: float = 0.0
    get_status: int | None = None
    post: str = "create"
    appears: dict[str, Any] | None = None
    store: dict[str, dict[str, Any]] = field(default_factory=dict)  # connector_id -> doc


class RecordingApi:
    """A threaded HTTP/1.1 server implementing list/create/update of custom connectors."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                path = urlsplit(self.path).path
                started = outer._enter()
                try:
                    if outer.behaviour.latency:
                        time.sleep(outer.behaviour.latency)
                    answer = outer._answer(self.command, path, body)
                finally:
                    outer._leave(self.command, path, body, started)
                if answer is None:  # "lost": drop the connection without a word
                    self.close_connection = True
                    return
                status, payload = answer
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if payload is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _serve

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # -- bookkeeping

    def _enter(self) -> float:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return time.monotonic()

    def _leave(self, method: str, path: str, body: Any, started: float) -> None:
        with self._lock:
            self.in_flight -= 1
            self.hits.append(Hit(method, path, body, started, time.monotonic()))

    def calls(self, method: str) -> list[Hit]:
        with self._lock:
            return sorted((h for h in self.hits if h.method == method), key=lambda h: h.started)

    def live(self) -> dict[str, dict[str, Any]]:
        """source_name -> connector document."""
        with self._lock:
            return {doc["source_name"]: dict(doc) for doc in self.behaviour.store.values()}

    # -- the API

    def _answer(self, method: str, path: str, body: Any) -> tuple[int, Any] | None:
        b = self.behaviour
        with self._lock:
            if method == "GET" and path == ROOT:
                if b.get_status is not None:
                    return b.get_status, None
                return 200, list(b.store.values())
            if method == "POST" and path == ROOT:
                if b.post in ("conflict", "lost"):
                    assert b.appears is not None
                    b.store[b.appears["connector_id"]] = dict(b.appears)
                    if b.post == "lost":
                        return None
                    return 409, {"error": "conflict", "message": "source_name already exists"}
                doc = {"connector_id": f"c-{next(self._ids):04d}", "is_active": True,
                       "accepted_kinds": [], "metadata": {}, **body}
                b.store[doc["connector_id"]] = doc
                return 201, doc
            if method == "PATCH" and path.startswith(ROOT + "/"):
                doc = b.store.get(path.rsplit("/", 1)[1])
                if doc is None:
                    return 404, {"error": "not_found", "message": "no such connector"}
                doc.update({k: v for k, v in body.items() if v is not None})
                return 200, dict(doc)
        return 404, {"error": "not_found", "message": f"no route {method} {path}"}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def api() -> Iterator[Any]:
    """``api(behaviour) -> RecordingApi``; every server started is stopped at teardown."""
    started: list[RecordingApi] = []

    def start(behaviour: Behaviour | None = None) -> RecordingApi:
        server = RecordingApi(behaviour)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def cli(server: RecordingApi, *args: str, backoff: str = "0.01"):
    """The real CLI, in-process, against ``server``."""
    return run(["--api-url", server.url, *args],
               env={"ADAPTER_API_KEY": KEY, "NO_COLOR": "1", "ADAPTER_API_URL": None,
                    "ADAPTER_SYNC_DEBUG": None, "ADAPTER_SYNC_BACKOFF_BASE": backoff})


def config(tmp_path: Path, connectors: dict[str, dict[str, Any]]) -> str:
    path = tmp_path / "connectors.yaml"
    path.write_text("connectors:\n" + "".join(
        f"  {slug}: {json.dumps(spec)}\n" for slug, spec in connectors.items()))
    return str(path)


def many(n: int) -> dict[str, dict[str, Any]]:
    return {f"conn-{i:02d}": {"name": f"Connector {i}"} for i in range(n)}


# ------------------------------------------------------------------------- --concurrency


@pytest.mark.parametrize(("concurrency", "creates"), [(1, 3), (3, 6)])
def test_apply_concurrency_bounds_and_reaches_the_requests_in_flight(
        api, tmp_path: Path, concurrency: int, creates: int) -> None:
    # 0.1 s per request: long enough that the calls the applier starts together overlap at
    # the server; enough creates that the bound is hit twice over.
    server = api(Behaviour(latency=0.1))
    cfg = config(tmp_path, many(creates))
    done = cli(server, "apply", "--auto-approve", "--concurrency", str(concurrency), cfg)
    assert done.code == 0, done.out + done.err
    assert f"Apply complete: {creates} done, 0 failed, 0 skipped." in done.out
    assert len(server.calls("POST")) == creates
    assert len(server.calls("GET")) == 1
    # N=3 differs from the default (4): a dropped option shows up as 4, a hard-coded 1 as 1.
    assert server.max_in_flight == concurrency, (
        f"--concurrency {concurrency}: the server saw at most {server.max_in_flight} "
        "requests in flight")


# ------------------------------------------------------------------------- --max-rps


def _spread(server: RecordingApi) -> float:
    posts = server.calls("POST")
    return posts[-1].started - posts[0].started


def test_max_rps_spaces_the_requests(api, tmp_path: Path) -> None:
    rps, creates = 20.0, 10
    cfg = config(tmp_path, many(creates))

    paced = api()
    done = cli(paced, "--max-rps", str(rps), "apply", "--auto-approve", cfg)
    assert done.code == 0, done.out + done.err
    assert len(paced.calls("POST")) == creates
    # 10 requests paced at R per second: the first leaves at once, the 10th 9/R later
    # (0.05 s of slack for when each arrives at the server).
    floor = (creates - 1) / rps
    assert _spread(paced) >= floor - 0.05, (
        f"{creates} creates at --max-rps {rps:g} arrived within {_spread(paced):.3f}s "
        f"(at least {floor:.2f}s expected)")

    # Control: the same apply without the option is a burst (4 in flight, no latency), so
    # the spread above comes from --max-rps and not from this server or this machine.
    burst = api()
    done = cli(burst, "apply", "--auto-approve", cfg)
    assert done.code == 0, done.out + done.err
    assert _spread(burst) < floor - 0.05, f"unpaced creates took {_spread(burst):.3f}s"


# ------------------------------------------------------------------------- --max-attempts


@pytest.mark.parametrize("attempts", [1, 3])
def test_max_attempts_is_the_number_of_requests_sent(api, tmp_path: Path,
                                                     attempts: int) -> None:
    server = api(Behaviour(get_status=503))
    cfg = config(tmp_path, many(1))
    done = cli(server, "--max-attempts", str(attempts), "plan", cfg)
    assert done.code == 1, done.out + done.err
    assert len(server.calls("GET")) == attempts  # the default would be 8
    assert [h.method for h in server.hits] == ["GET"] * attempts
    lines = done.err.strip().splitlines()
    assert len(lines) == 1, done.err
    plural = "s" * (attempts != 1)
    assert re.fullmatch(
        rf"Error: list connectors: server error \(503: .*\) after {attempts} attempt{plural}",
        lines[0]), lines[0]
    assert "Traceback" not in done.err and KEY not in done.err + done.out


# ------------------------------------------------------------------------- adoption


DECLARED = {"name": "Acme CRM", "accepted_kinds": ["email"],
            "metadata": {"team": "core", "pipeline": "acme@v2"}}
FOUND = {"connector_id": "found-0001", "source_name": "acme-crm", "name": "Acme CRM",
         "accepted_kinds": ["email"], "metadata": {"team": "someone-else"}, "is_active": True}


@pytest.mark.parametrize(("post", "found", "note", "patched"), [
    ("conflict", FOUND, "already existed live (created meanwhile); adopted it and updated it",
     {"metadata": DECLARED["metadata"]}),
    ("lost", FOUND, "the create's answer was lost; found it live, adopted it and updated it",
     {"metadata": DECLARED["metadata"]}),
], ids=["409-other-metadata", "lost-answer-other-metadata"])
def test_a_create_that_finds_a_different_connector_adopts_and_reconciles_it(
        api, tmp_path: Path, post: str, found: dict[str, Any], note: str,
        patched: dict[str, Any]) -> None:
    server = api(Behaviour(post=post, appears=found))
    cfg = config(tmp_path, {"acme-crm": DECLARED})
    done = cli(server, "apply", "--auto-approve", cfg)
    assert done.code == 0, done.out + done.err
    assert "Plan: 1 to create, 0 to update" in done.out  # planned as a create: absent live

    # One POST only (never re-sent blindly), then the re-list that found it, then one PATCH
    # of the found connector with exactly the fields that differ from the declaration.
    assert [h.method for h in sorted(server.hits, key=lambda h: h.started)] == [
        "GET", "POST", "GET", "PATCH"]
    (post_,) = server.calls("POST")
    assert post_.body == {"source_name": "acme-crm", **DECLARED}
    (patch,) = server.calls("PATCH")
    assert patch.path == f"{ROOT}/{found['connector_id']}"
    assert {k: v for k, v in patch.body.items() if v is not None} == patched
    live = server.live()["acme-crm"]
    assert (live["name"], live["accepted_kinds"], live["metadata"], live["is_active"]) == (
        DECLARED["name"], DECLARED["accepted_kinds"], DECLARED["metadata"], True)
    assert len(server.live()) == 1  # nothing created twice

    assert f"✓ created acme-crm ({found['connector_id']})" in done.out, done.out
    assert f"    note: {note}" in done.out, done.out
    assert "Apply complete: 1 done, 0 failed, 0 skipped." in done.out

    again = cli(server, "plan", "--detailed-exitcode", cfg)
    assert again.code == 0, again.out + again.err


def test_a_create_that_finds_a_connector_someone_deactivated_does_not_take_it_over(
        api, tmp_path: Path) -> None:
    # Issue #10: live changed since the plan (another actor created and deactivated it), so the
    # create is stale: reported, and their connector is neither patched nor reactivated.
    found = {**FOUND, "is_active": False, "name": "Old name"}
    server = api(Behaviour(post="conflict", appears=found))
    cfg = config(tmp_path, {"acme-crm": DECLARED})
    done = cli(server, "apply", "--auto-approve", cfg)
    assert done.code == 1, done.out + done.err
    assert [h.method for h in sorted(server.hits, key=lambda h: h.started)] == [
        "GET", "POST", "GET"]
    assert server.live()["acme-crm"]["is_active"] is False
    assert "exists live but inactive (found-0001)" in done.out and "run plan again" in done.out
