"""Wiring: ``apply``'s confirmation prompt, on a real terminal.

``adapter-sync apply`` without ``--auto-approve`` runs as a subprocess whose stdin, stdout and
stderr are the slave side of a pseudo-terminal (so ``isatty()`` is true, as for a person at a
shell), against the sandbox server with changes to make. The test reads the master side until
the prompt appears, types an answer as a terminal sends it (Enter is a carriage return), and
reads on until the process has closed the terminal. Every read has a deadline: a CLI that never
prompts, or waits forever, fails the test instead of hanging it.

- Enter alone takes the default, which must be No: nothing is applied (the server's state is
  unchanged), "Nothing applied.", exit 1.
- "y" applies the plan: exit 0 and the live state is the declared one.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clirun import SRC
from conftest import API_KEY

pytestmark = pytest.mark.timeout(60)

QUESTION = b"Apply these changes? "
READ_DEADLINE = 30.0  # seconds for the whole exchange; far above what it takes


def run_on_terminal(args: list[str], env: dict[str, str], answer: bytes,
                    cwd: Path) -> tuple[int, str]:
    """Run the CLI on a new pty; type ``answer`` at the prompt. (exit code, all it showed)."""
    full_env = {**os.environ, **env, "TERM": "dumb"}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, full_env.get("PYTHONPATH")]))
    full_env.pop("ADAPTER_SYNC_DEBUG", None)
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "adapter_sync", *args], env=full_env,
                                cwd=cwd, stdin=slave, stdout=slave, stderr=slave,
                                start_new_session=True)
    finally:
        os.close(slave)  # only the child holds the terminal now: EOF when it exits
    shown = b""
    answered = False
    deadline = time.monotonic() + READ_DEADLINE
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no end after {READ_DEADLINE:g}s (answered: {answered}); "
                            f"the terminal showed: {shown.decode(errors='replace')!r}")
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(master, 4096)
            except OSError as exc:  # EIO: every slave fd is closed (Linux)
                if exc.errno != errno.EIO:
                    raise
                break
            if not data:
                break
            shown += data
            # Answer the question whatever default it shows, so a changed default fails on
            # the assertions below rather than by waiting out the deadline.
            if not answered and QUESTION in shown and shown.endswith(b": "):
                os.write(master, answer)
                answered = True
        code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    text = shown.decode("utf-8", errors="replace").replace("\r\n", "\n")
    assert answered, f"the prompt never appeared; the terminal showed: {text!r}"
    return code, text


def _state(server) -> list[dict]:
    return sorted(server.state(), key=lambda c: c["source_name"])


@pytest.mark.parametrize("answer", [b"\r", b"y\r"], ids=["enter", "y"])
def test_the_prompt_defaults_to_no_and_y_applies(reused_sandbox_server, tmp_path: Path,
                                                 answer: bytes) -> None:
    server = reused_sandbox_server
    server.seed([{"source_name": "keep", "name": "Old name", "metadata": {"team": "a"}}])
    cfg = tmp_path / "connectors.yaml"
    cfg.write_text("connectors:\n"
                   "  keep: {name: New name, metadata: {team: a}}\n"
                   "  fresh: {name: Fresh, accepted_kinds: [email]}\n")
    before = _state(server)
    env = {"ADAPTER_API_URL": server.url, "ADAPTER_API_KEY": API_KEY, "NO_COLOR": "1"}

    code, shown = run_on_terminal(["apply", str(cfg)], env, answer, tmp_path)

    assert "Plan: 1 to create, 1 to update" in shown, shown
    assert "Apply these changes? [y/N]: " in shown, shown  # the default shown is No
    assert "Traceback" not in shown and API_KEY not in shown
    if answer == b"\r":
        assert code == 1, shown
        assert shown.endswith("Apply these changes? [y/N]: \nNothing applied.\n"), shown
        assert _state(server) == before  # not one write
    else:
        assert code == 0, shown
        assert "Apply complete: 2 done, 0 failed, 0 skipped." in shown
        live = {c["source_name"]: c for c in _state(server)}
        assert sorted(live) == ["fresh", "keep"]
        assert live["keep"]["name"] == "New name"
        assert (live["fresh"]["name"], live["fresh"]["accepted_kinds"]) == ("Fresh", ["email"])
