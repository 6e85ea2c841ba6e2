"""Reliability: fuzzing the config loader through the CLI path (hypothesis).

Random bytes, and random YAML-ish text (structured documents with the config's own keys, then
mutated with YAML's sharp edges: tabs, anchors, tags, merge keys, ``${...}``, BOMs, NULs, deep
nesting), are written as ``connectors.yaml`` and given to ``adapter_sync.cli.main(["--api-url",
URL, "plan", "--detailed-exitcode", FILE])`` in-process. Whatever the input:

- never a traceback, never the "unexpected error" path (an uncaught exception is a bug);
- exit 1 with ``file:line:col: message`` problems and an "N errors found." line, or a one-line
  ``Error:`` message; or exit 0/2 when the input happens to be a valid config;
- an invalid config sends no request at all: URL is a loopback server that counts every
  connection it accepts (and answers a valid empty list), so a valid config must reach it once
  and an invalid one never.

Examples: ``FUZZ_EXAMPLES`` (default 400 per test); derandomized (stable in CI) unless
``FUZZ_RANDOM=1``; failures are not shrunk unless ``FUZZ_SHRINK=1``.
"""

from __future__ import annotations

import os
import re
import socket
import socketserver
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from clirun import run

KEY = "pk_live_fuzz_key"
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "400")),
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # Shrinking a failure can take minutes: off in CI (the failing input is still printed).
    phases=[Phase.explicit, Phase.reuse, Phase.generate]
    + ([Phase.shrink] if os.environ.get("FUZZ_SHRINK") == "1" else []),
)
#: Per-test bound (pytest-timeout): 400 examples take ~2 s; more examples get more time.
pytestmark = pytest.mark.timeout(max(120, FUZZ.max_examples // 5))
_PROBLEM = re.compile(r"^.*connectors\.yaml(:\d+(:\d+)?)?: .+$")
_SUMMARY = re.compile(r"^\d+ errors? found\.$")


class CountingServer:
    """A loopback HTTP server counting accepted connections; answers every request ``[]``."""

    def __init__(self) -> None:
        self.connections = 0
        self._lock = threading.Lock()
        outer = self

        class Handle(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with outer._lock:
                    outer.connections += 1
                conn: socket.socket = self.request
                buf = b""
                try:
                    while True:  # keep-alive: answer every request on this connection
                        while b"\r\n\r\n" not in buf:
                            data = conn.recv(65536)
                            if not data:
                                return
                            buf += data
                        _, _, buf = buf.partition(b"\r\n\r\n")
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     b"Content-Length: 2\r\n\r\n[]")
                except OSError:
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handle)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture(scope="module")
def counting_server() -> Iterator[CountingServer]:
    server = CountingServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as name:
        yield Path(name)


def check_plan(data: bytes, server: CountingServer, workdir: Path) -> int:
    path = workdir / "connectors.yaml"
    path.write_bytes(data)
    before = server.connections
    result = run(["--api-url", server.url, "plan", "--detailed-exitcode", str(path)],
                 env={"ADAPTER_API_KEY": KEY, "NO_COLOR": "1", "GITHUB_ACTIONS": None,
                      "ADAPTER_SYNC_DEBUG": None})
    err = result.err
    assert "Traceback" not in err and "Traceback" not in result.out, err
    assert "Error: unexpected " not in err, err  # main()'s catch-all for bugs
    assert KEY not in err + result.out
    if result.code == 1:
        lines = err.strip().splitlines()
        assert lines, "exit 1 without a message"
        if lines[0].startswith("Error: "):
            assert len(lines) == 1, err
        else:
            assert _SUMMARY.match(lines[-1]), err
            problems = lines[:-1]
            assert problems and all(_PROBLEM.match(line) for line in problems), err
        assert server.connections == before, f"an invalid config sent a request: {err}"
    else:
        assert result.code in (0, 2), (result.code, result.out, err)
        assert server.connections == before + 1, "a valid config did not list the live state"
    return result.code


# ------------------------------------------------------------------------- random bytes


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_crash_and_never_reach_the_api(data: bytes, counting_server,
                                                           workdir) -> None:
    event(f"exit {check_plan(data, counting_server, workdir)}")


# ------------------------------------------------------------------------- YAML-ish text

KEYS = ["connectors", "version", "prune", "ignore", "defaults", "name", "accepted_kinds",
        "metadata", "active", "source_name", "acme-crm", "Bad_Slug", "a", "x" * 70, "<<", "1",
        "true", "null", "~", "on"]
SCALARS = st.one_of(
    st.sampled_from(["email", "page", "custom", "bogus", "yes", "no", "on", "0755", "1.10",
                     "2024-01-01", "${HOME}", "${NOPE_UNSET_VAR}", "${X:-d}", "$${lit}",
                     "${ADAPTER_API_KEY}", "", "~", "null", ".inf", "0x1F", "'quoted'", "\"\"",
                     "acme-crm", "A" * 300]),
    st.integers(-10**20, 10**20), st.floats(allow_nan=True), st.booleans(), st.none(),
    st.text(max_size=30),
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=12)), children,
                        max_size=6),
    ),
    max_leaves=30,
)
CONFIGS = st.fixed_dictionaries(
    {"connectors": st.dictionaries(
        st.one_of(st.sampled_from(["acme-crm", "b", "c-1", "Bad", "-x", "a" * 65]),
                  st.text(max_size=10)),
        st.one_of(st.fixed_dictionaries({"name": SCALARS}, optional={
            "accepted_kinds": st.lists(st.sampled_from(["email", "page", "issue", "bogus"]),
                                       max_size=4),
            "metadata": st.dictionaries(st.text(max_size=5), SCALARS, max_size=22),
            "active": st.one_of(st.booleans(), SCALARS),
        }), TREES), max_size=4)},
    optional={"version": st.one_of(st.just(1), SCALARS), "prune": st.one_of(st.booleans(), SCALARS),
              "ignore": st.one_of(st.lists(st.text(max_size=8), max_size=3), SCALARS),
              "defaults": TREES},
)
SLUGS = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?\Z")
PLAIN = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="${"),
                min_size=1, max_size=20)
NEAR_VALID = st.fixed_dictionaries(
    {"connectors": st.dictionaries(SLUGS, st.fixed_dictionaries({"name": PLAIN}, optional={
        "accepted_kinds": st.lists(st.sampled_from(["email", "page", "message", "calendar",
                                                    "issue", "custom"]), max_size=3, unique=True),
        "metadata": st.dictionaries(st.text(min_size=1, max_size=5), PLAIN, max_size=3),
        "active": st.booleans(),
    }), max_size=4)},
    optional={"version": st.just(1), "prune": st.booleans(),
              "ignore": st.lists(st.sampled_from(["legacy-*", "x?", "[ab]*"]), max_size=2),
              "defaults": st.fixed_dictionaries({}, optional={
                  "accepted_kinds": st.lists(st.sampled_from(["email", "page"]), max_size=2,
                                            unique=True),
                  "metadata": st.dictionaries(st.text(min_size=1, max_size=5), PLAIN,
                                              max_size=2)})},
)
SHARP = ["\t", "&a ", "*a", "!!binary ", "!custom ", "<<: *a\n", "? ", "---\n", "...\n",
         "\ufeff", "\x00", "%YAML 1.1\n", "{", "}", "[", "]", ": ", "- ", "#", "'", "\"",
         "\n  ", "\r\n", "\u2028", "\\", "${", "\udc80"]


def _dump(tree: Any, flow: bool) -> str:
    try:
        return yaml.safe_dump(tree, default_flow_style=flow, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, ValueError):  # e.g. a text key yaml cannot represent
        return repr(tree)


@st.composite
def yamlish(draw: st.DrawFn) -> bytes:
    tree = draw(st.one_of(NEAR_VALID, CONFIGS, TREES))
    text = _dump(tree, draw(st.booleans()))
    for _ in range(draw(st.sampled_from([0, 0, 1, 2, 4]))):  # mutations at random places
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + draw(st.sampled_from(SHARP)) + text[at + cut:]
    if draw(st.integers(0, 30)) == 0:  # now and then, very deep nesting
        depth = draw(st.integers(100, 3000))
        text = "connectors:\n  a:\n    name: " + "[" * depth + "]" * depth + "\n"
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-16", "latin-1"]))
    return text.encode(encoding, errors="surrogateescape" if encoding == "utf-8" else "replace")


@pytest.mark.slow
@FUZZ
@given(data=yamlish())
def test_random_yamlish_configs_never_crash_and_never_reach_the_api(data: bytes,
                                                                     counting_server,
                                                                     workdir) -> None:
    event(f"exit {check_plan(data, counting_server, workdir)}")


def test_the_fuzz_checks_are_not_vacuous(counting_server, workdir) -> None:
    """The same check accepts a valid config (one request) and rejects an invalid one (none)."""
    ok = b"connectors:\n  acme-crm: {name: Acme CRM, accepted_kinds: [email]}\n"
    assert check_plan(ok, counting_server, workdir) == 2  # a create is planned
    assert check_plan(b"connectors:\n  Bad_Slug: {name: x}\n", counting_server, workdir) == 1
    assert check_plan(b"\x00\xff\xfe", counting_server, workdir) == 1


def test_control_characters_in_a_config_stay_on_one_escaped_line(counting_server,
                                                                 workdir) -> None:
    """Found by the fuzzer: a key holding a line break or an escape sequence was echoed raw in
    the error, splitting the problem over several lines (one could start with ``::error::``,
    a GitHub workflow command) or driving the terminal."""
    data = (b'"x\\r\\n::error::injected\\u001b[2J\\u001b]0;owned\\u0007": 1\n'
            b'connectors:\n  a: {name: A, "k\\u202e\\u0000": 1}\n')
    check_plan(data, counting_server, workdir)
    result = run(["--api-url", counting_server.url, "validate", str(workdir / "connectors.yaml")],
                 env={"ADAPTER_API_KEY": KEY})
    assert result.code == 1
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e]", result.err.replace("\n", "")), \
        result.err
    assert not any(line.startswith("::") for line in result.err.splitlines())
