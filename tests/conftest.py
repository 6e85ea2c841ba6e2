"""Shared fixtures: the sandbox as a real server process, or in-process.

- ``start_sandbox(db=None, **faults) -> SandboxProcess``: starts the REAL CLI
  ``python -m adapter_sync sandbox serve --port 0 --db DB`` (``DB`` defaults to
  ``tmp_path/"sandbox.db"``); every process it started is stopped at teardown.
  Faults with a CLI flag (latency, error_rate, rate_limit_rate, drop_rate, seed) are passed
  as flags; any other key (retry_after, requests_per_minute, error_shape) makes it also POST
  the whole set to ``/_sandbox/faults`` once started.
- ``sandbox_server``: ``start_sandbox()`` with no faults (a fresh process per test).
- ``reused_sandbox_server``: one process for the whole session, reset before each test
  (store emptied, faults cleared). Faster; use it unless the test stops or restarts the server.
- ``sandbox_app``: the in-process sandbox (``inprocess.transport``) on ``tmp_path/"sandbox.db"``.

Both handles have ``.url`` (base URL including ``/v1``), ``.db``, ``.set_faults(**kw)`` (replaces
the whole fault config; missing keys = defaults), ``.faults()``, ``.reset()``,
``.state() -> list[dict]`` (inactive included), ``.seed(list_of_dicts) -> int`` and
``.request(method, path="/custom-connectors", json=..., key=API_KEY) -> httpx.Response`` (one
synchronous API call). ``sandbox_app`` also has ``.transport`` and
``.client(key=...) -> httpx.AsyncClient``; ``InProcessSandbox(db, clock=...)`` drives its rate
limiter with a fake clock (epoch seconds).
Keys: any ``pk_live_...`` value; ``pk_live_ro_...`` is read-only (see sandbox/auth.py).
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
API_KEY = "pk_live_test"
_URL = re.compile(r"http://\S+")
_CLI_FAULTS = ("latency", "error_rate", "rate_limit_rate", "drop_rate", "seed")
COLLECTION = "/custom-connectors"
_UNSET: Any = object()


def _call_kwargs(json: Any, key: str | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {key}"} if key else {}}
    if json is not _UNSET:
        kwargs["json"] = json
    return kwargs


class SandboxProcess:
    """A running ``adapter-sync sandbox serve`` subprocess and its control API."""

    def __init__(self, db: Path, faults: dict[str, Any], args: Sequence[str] = (),
                 startup_timeout: float = 20.0) -> None:
        self.db = Path(db)
        self.stderr_path = self.db.parent / f"sandbox-{os.getpid()}-{id(self)}.stderr"
        command = [sys.executable, "-m", "adapter_sync", "sandbox", "serve",
                   "--port", "0", "--db", str(self.db), *args]
        for key in _CLI_FAULTS:
            if faults.get(key) is not None:
                command += [f"--{key.replace('_', '-')}", str(faults[key])]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
        env.pop("ADAPTER_API_URL", None)
        self.db.parent.mkdir(parents=True, exist_ok=True)
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr,
                                            stdin=subprocess.DEVNULL, env=env)
        self.line = self._first_line(startup_timeout)
        match = _URL.search(self.line)
        if not match:
            self.stop()
            raise RuntimeError(f"sandbox printed no URL: {self.line!r}{self._stderr()}")
        self.url = match.group(0).rstrip("/")
        self.root = self.url.removesuffix("/v1")
        self._http = httpx.Client(base_url=self.root, timeout=30, verify=False)  # plain http
        if set(faults) - set(_CLI_FAULTS):
            self.set_faults(**faults)

    def _first_line(self, timeout: float) -> str:
        lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        stdout = self.process.stdout
        threading.Thread(target=lambda: lines.put(stdout.readline().decode()),
                         daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            line = ""
        if not line:
            self.stop()
            raise RuntimeError(f"sandbox did not start{self._stderr()}")
        return line.strip()

    def _stderr(self) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return f"; stderr:\n{text}" if text else ""

    # -- control API ---------------------------------------------------------------------------

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, f"/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def request(self, method: str, path: str = COLLECTION, *, json: Any = _UNSET,
                key: str | None = API_KEY) -> httpx.Response:
        """One API call (``path`` below ``/v1``) over TCP."""
        return self._http.request(method, "/v1" + path, **_call_kwargs(json, key))

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        return self._control("POST", "faults", faults)

    def faults(self) -> dict[str, Any]:
        return self._control("GET", "faults")

    def reset(self) -> None:
        self._control("POST", "reset")

    def state(self) -> list[dict[str, Any]]:
        return self._control("GET", "state")

    def seed(self, connectors: list[dict[str, Any]]) -> int:
        return self._control("POST", "seed", {"connectors": connectors})["inserted"]

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> int:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``); returns its exit code."""
        if hasattr(self, "_http"):
            self._http.close()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        return self.process.returncode


@pytest.fixture
def start_sandbox(tmp_path: Path) -> Iterator[Callable[..., SandboxProcess]]:
    started: list[SandboxProcess] = []

    def start(db: str | os.PathLike[str] | None = None, **faults: Any) -> SandboxProcess:
        server = SandboxProcess(Path(db) if db else tmp_path / "sandbox.db", faults)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sandbox_server(start_sandbox: Callable[..., SandboxProcess]) -> SandboxProcess:
    return start_sandbox()


@pytest.fixture(scope="session")
def _session_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    server = SandboxProcess(tmp_path_factory.mktemp("sandbox") / "sandbox.db", {})
    yield server
    server.stop()


@pytest.fixture
def reused_sandbox_server(_session_sandbox: SandboxProcess) -> SandboxProcess:
    if _session_sandbox.process.poll() is not None:
        pytest.fail(f"the shared sandbox server died{_session_sandbox._stderr()}")
    _session_sandbox.reset()
    return _session_sandbox


class InProcessSandbox:
    """The sandbox app behind an httpx ASGI transport, controlled directly (no HTTP)."""

    def __init__(self, db: Path, clock: Callable[[], float] | None = None) -> None:
        from adapter_sync.sandbox import inprocess

        self.db = db
        self.url = inprocess.BASE_URL
        extra = {"clock": clock} if clock else {}
        self.transport = inprocess.SandboxTransport(db, close_store=False, **extra)
        self.sandbox = self.transport.sandbox

    def request(self, method: str, path: str = COLLECTION, *, json: Any = _UNSET,
                key: str | None = API_KEY) -> httpx.Response:
        """One API call (``path`` below ``/v1``) through the in-process transport."""
        async def run() -> httpx.Response:
            async with httpx.AsyncClient(base_url=self.url, transport=self.transport) as client:
                return await client.request(method, path, **_call_kwargs(json, key))

        return asyncio.run(run())

    def client(self, key: str | None = API_KEY, **kwargs: Any) -> httpx.AsyncClient:
        """An AsyncClient on the sandbox; closing it leaves the sandbox open."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.url, transport=self.transport, headers=headers,
                                 **kwargs)

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        from adapter_sync.sandbox import inprocess

        return inprocess.set_faults(self.transport, **faults).to_dict()

    def faults(self) -> dict[str, Any]:
        return self.sandbox.faults.to_dict()

    def reset(self) -> None:
        self.sandbox.reset()

    def state(self) -> list[dict[str, Any]]:
        return self.sandbox.store.all()

    def seed(self, connectors: list[dict[str, Any]]) -> int:
        from adapter_sync.sandbox.validation import SEED_FIELDS, check_create

        for item in connectors:
            check_create(item, allowed=SEED_FIELDS)
        return self.sandbox.store.seed(connectors)

    def close(self) -> None:
        self.sandbox.close()


@pytest.fixture
def sandbox_app(tmp_path: Path) -> Iterator[InProcessSandbox]:
    app = InProcessSandbox(tmp_path / "sandbox.db")
    yield app
    app.close()
