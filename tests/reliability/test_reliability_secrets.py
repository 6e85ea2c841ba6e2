"""Reliability: the API key never leaks from any CLI command, successful or failing.

tests/unit/test_secrets.py covers the client (exceptions, log records) and ``plan``/``import`` against
a closed port. This runs the whole CLI surface as real subprocesses against a real sandbox server
with faults on (so retries, lost answers and adoptions are logged too): validate, plan in every
format, plan --out, apply, apply --plan, import to stdout / a file / split files, and the
failures: a revoked key (401), a read-only key (403), network down (a closed loopback port), a
stale saved plan, an invalid config (one that even references ${ADAPTER_API_KEY}), a key an
HTTP header cannot carry. Every command runs with and without --debug. Scanned for the key's
unique part: all stdout and stderr, every file written (plan files, imported YAML), the
sandbox's own log and its database file.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from clirun import Run, run_process

#: Slow; and a per-test bound (pytest-timeout) far above the ~15 s it takes, so a hang fails
#: the test instead of the CI job's own timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CANARY = "CANARY7f3e9a1bQ"
KEY = f"pk_live_{CANARY}_full"            # every scope in the sandbox
RO_KEY = f"pk_live_ro_{CANARY}_reader"    # read-only: writes get 403
REVOKED_KEY = f"pk_live_revoked_{CANARY}"  # 401
#: Steps that fail or finish before any request (so --debug has no HTTP exchange to log).
OFFLINE = {"validate", "validate-invalid", "plan-invalid", "apply-invalid", "key-with-newline",
           "http-to-remote"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(path: Path, names: dict[str, str]) -> str:
    lines = ["connectors:"] + [f"  {slug}: {{name: {name}, metadata: {{team: core}}}}"
                               for slug, name in names.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_no_command_ever_shows_the_key(start_sandbox, tmp_path: Path) -> None:
    server = start_sandbox()
    server.seed([{"source_name": "legacy-one", "name": "Legacy"},
                 {"source_name": "old-off", "name": "Old", "is_active": False}])
    work = tmp_path / "work"
    work.mkdir()
    cfg = _config(work / "connectors.yaml", {f"c{i}": f"C{i}" for i in range(12)})
    cfg2 = _config(work / "next.yaml", {f"c{i}": f"Renamed {i}" for i in range(12)})
    bad = work / "bad.yaml"
    bad.write_text("connectors:\n  Bad_Slug: {name: x}\n  ok:\n    name: A\n"
                   "    metadata: {token: '${ADAPTER_API_KEY}'}\n")
    down = f"http://127.0.0.1:{_closed_port()}/v1"
    plan_file, stale_file = str(work / "plan.json"), str(work / "stale.json")
    env = {"ADAPTER_API_URL": server.url, "ADAPTER_API_KEY": KEY, "NO_COLOR": "1",
           "GITHUB_ACTIONS": "true",  # annotations for config errors too
           "ADAPTER_SYNC_BACKOFF_BASE": "0.02"}  # retries wait ms, not seconds (test-only)
    faults = {"error_rate": 0.2, "rate_limit_rate": 0.1, "retry_after": 0, "drop_rate": 0.2,
              "seed": 5}

    def by_hand(tag: str) -> None:  # someone changes a planned connector in the console
        c0 = next(c for c in server.state() if c["source_name"] == "c0")
        httpx.patch(f"{server.url}/custom-connectors/{c0['connector_id']}",
                    json={"name": f"by hand {tag}"},
                    headers={"Authorization": f"Bearer {KEY}"}).raise_for_status()

    def quietly(*args: str) -> None:  # set up state for the next step (faults off)
        server.set_faults()
        done = run_process(list(args), env)
        assert done.code == 0, done.err[-1500:]

    outputs: list[tuple[str, Run]] = []

    def step(name: str, args: list[str], expected: int, debug: bool, **overrides: str) -> None:
        result = run_process((["--debug"] if debug else []) + args, {**env, **overrides},
                             cwd=work, timeout=120)
        label = f"{name}{' --debug' if debug else ''}"
        assert result.code == expected, (label, result.out[-1500:], result.err[-1500:])
        if debug and name not in OFFLINE:
            assert "DEBUG" in result.err, f"{label}: debug logging was not on"
        assert "Traceback" not in result.err or debug, (label, result.err[-1500:])
        outputs.append((label, result))

    # Stateful steps, in order, with faults on (retries, lost answers, adoptions get logged).
    for debug in (False, True):
        quietly("apply", "--auto-approve", cfg)  # live = cfg
        server.set_faults(**faults)
        step("plan-text", ["plan", cfg2], 0, debug)
        step("plan-markdown", ["plan", "--format", "markdown", cfg2], 0, debug)
        step("plan-json", ["plan", "--format", "json", cfg2], 0, debug)
        step("plan-out", ["plan", "--out", plan_file, cfg2], 0, debug)
        step("apply-plan", ["apply", "--plan", plan_file], 0, debug)  # live = cfg2
        quietly("apply", "--auto-approve", cfg)  # live = cfg
        server.set_faults(**faults)
        step("apply", ["apply", "--auto-approve", cfg2], 0, debug)  # live = cfg2
        step("import-stdout", ["import", "--include-inactive"], 0, debug)
        step("import-file", ["import", "-o", str(work / "imported.yaml"), "--force"], 0, debug)
        step("import-split", ["import", "--split", str(work / "split"), "--force",
                              "--include-inactive"], 0, debug)
        quietly("plan", "--out", stale_file, cfg)
        by_hand(str(debug))
        step("apply-stale", ["apply", "--plan", stale_file], 1, debug)

    # Failures that change nothing: run side by side, faults off.
    quietly("apply", "--auto-approve", cfg)
    quietly("plan", "--out", plan_file, cfg2)
    failures: list[tuple[str, list[str], int, dict[str, str]]] = [
        ("validate", ["validate", cfg], 0, {}),
        ("validate-invalid", ["validate", str(bad)], 1, {}),
        ("plan-invalid", ["plan", str(bad)], 1, {}),
        ("apply-invalid", ["apply", "--auto-approve", str(bad)], 1, {}),
        ("plan-401", ["plan", cfg], 1, {"ADAPTER_API_KEY": REVOKED_KEY}),
        ("apply-401", ["apply", "--auto-approve", cfg2], 1, {"ADAPTER_API_KEY": REVOKED_KEY}),
        ("import-401", ["import"], 1, {"ADAPTER_API_KEY": REVOKED_KEY}),
        ("plan-ro", ["plan", cfg2], 0, {"ADAPTER_API_KEY": RO_KEY}),
        ("apply-403", ["apply", "--auto-approve", cfg2], 1, {"ADAPTER_API_KEY": RO_KEY}),
        ("apply-plan-403", ["apply", "--plan", plan_file], 1, {"ADAPTER_API_KEY": RO_KEY}),
        ("plan-down", ["--max-attempts", "2", "plan", cfg], 1, {"ADAPTER_API_URL": down}),
        ("apply-down", ["--max-attempts", "2", "apply", "--auto-approve", cfg], 1,
         {"ADAPTER_API_URL": down}),
        ("apply-plan-down", ["--max-attempts", "2", "apply", "--plan", plan_file], 1,
         {"ADAPTER_API_URL": down}),
        ("import-down", ["--max-attempts", "2", "import"], 1, {"ADAPTER_API_URL": down}),
        ("key-with-newline", ["plan", cfg], 1, {"ADAPTER_API_KEY": f"{KEY}\nX-Evil: 1"}),
        ("http-to-remote", ["--api-url", "http://api.example.com/v1", "plan", cfg], 1, {}),
    ]
    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(step, name, args, expected, debug, **overrides)
                       for name, args, expected, overrides in failures
                       for debug in (False, True)]:
            future.result()
    assert {c["name"] for c in server.state() if c["source_name"] == "c1"} == {"C1"}

    leaks = [label for label, r in outputs if CANARY in r.out or CANARY in r.err]
    assert leaks == [], f"the key appeared in the output of: {leaks}"
    written = [p for p in work.rglob("*") if p.is_file()]
    assert {"plan.json", "stale.json", "imported.yaml"} <= {p.name for p in written}
    assert len(list((work / "split").glob("*.yaml"))) >= 12
    for path in [*written, server.db, server.stderr_path]:
        assert CANARY.encode() not in path.read_bytes(), f"the key is in {path}"
    # the checks above were not vacuous: the failures said what they should
    by_label = dict(outputs)
    assert len(by_label) == len(outputs) == 2 * (10 + len(failures))
    assert "ADAPTER_API_KEY" in by_label["plan-401"].err
    assert "connectors:write" in by_label["apply-403"].out + by_label["apply-403"].err
    assert "stale" in by_label["apply-stale"].err
    assert "connection failed" in by_label["plan-down --debug"].err
    assert "must not be used" in by_label["validate-invalid"].err
