"""Reliability: the real CLI (subprocesses) against the real sandbox server over HTTP.

- Fault matrix: 300 desired connectors (150 creates, 100 updates, 50 reactivations) plus 20
  undeclared live ones to prune, applied under each fault kind alone and all together. The
  apply uses ``--max-attempts 20 --concurrency 16`` (more attempts than the default 8, so a
  30% fault rate cannot exhaust a call by bad luck). It must exit 0, leave no duplicate
  ``source_name``, every connector present with exactly the declared fields, and a clean
  ``plan --detailed-exitcode`` (exit 0) once the faults are cleared.
- Crash safety: the apply process is SIGKILLed at seeded random moments, 10 times; every
  re-run converges, with no duplicates and a clean re-plan.
- Concurrent applies: two applies of the same config at once both end well, in the desired
  state, with no duplicates (the loser of each race gets a 409, re-lists and adopts).
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from clirun import SRC, run_process
from conftest import API_KEY

#: Slow; and a per-test bound (pytest-timeout) far above the few seconds each takes, so a hang
#: fails the test instead of the CI job's own timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

KINDS = ["email", "page", "message", "calendar", "issue", "custom"]
#: The hidden --backoff-base override: retries wait 0-20 ms, then doubling, instead of 0-0.5 s.
#: What is retried, and every assertion on the outcome, is unchanged.
FAST_BACKOFF = {"ADAPTER_SYNC_BACKOFF_BASE": "0.02"}
APPLY = ["--max-attempts", "20", "apply", "--auto-approve", "--concurrency", "16"]


def _env(server) -> dict[str, str]:
    return {"ADAPTER_API_URL": server.url, "ADAPTER_API_KEY": API_KEY, "NO_COLOR": "1",
            **FAST_BACKOFF}


def _desired(n: int, rng: random.Random) -> dict[str, dict[str, Any]]:
    out = {}
    for i in range(n):
        spec: dict[str, Any] = {"name": f"Connector {i}"}
        kinds = rng.sample(KINDS, rng.randint(0, 3))
        if kinds:
            spec["accepted_kinds"] = kinds
        if i % 3:
            spec["metadata"] = {"team": f"t{i % 7}", "n": str(i)}
        out[f"conn-{i:03d}"] = spec
    return out


def _write_config(path: Path, connectors: dict[str, dict[str, Any]], **settings: Any) -> str:
    lines = [f"{k}: {json.dumps(v)}" for k, v in settings.items()]
    lines.append("connectors:")
    lines += [f"  {slug}: {json.dumps(spec)}" for slug, spec in connectors.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _seed_drift(server, desired: dict[str, dict[str, Any]], n_update: int, n_inactive: int,
                extras: int = 0) -> None:
    """Live state that differs: wrong fields for the first ``n_update``, inactive for the next
    ``n_inactive`` (with right fields), and ``extras`` undeclared active connectors."""
    names = list(desired)
    rows = []
    for slug in names[:n_update]:
        rows.append({"source_name": slug, "name": "stale name", "accepted_kinds": ["custom"],
                     "metadata": {"old": "yes"}})
    for slug in names[n_update:n_update + n_inactive]:
        rows.append({"source_name": slug, "is_active": False, **desired[slug]})
    rows += [{"source_name": f"extra-{i:02d}", "name": f"Extra {i}"} for i in range(extras)]
    if rows:
        assert server.seed(rows) == len(rows)


def assert_converged(server, desired: dict[str, dict[str, Any]],
                     pruned: set[str] = frozenset()) -> None:
    """No duplicates; every desired connector active with exactly its fields."""
    state = server.state()
    counts = collections.Counter(c["source_name"] for c in state)
    assert [s for s, k in counts.items() if k > 1] == [], "duplicate source_names"
    live = {c["source_name"]: c for c in state}
    missing = sorted(set(desired) - set(live))
    assert missing == [], f"{len(missing)} connectors lost: {missing[:5]}"
    wrong = []
    for slug, spec in desired.items():
        got = live[slug]
        seen = (got["name"], sorted(got.get("accepted_kinds") or []), got.get("metadata") or {},
                got["is_active"])
        want = (spec["name"], sorted(spec.get("accepted_kinds", [])), spec.get("metadata", {}),
                True)
        if seen != want:
            wrong.append((slug, seen, want))
    assert wrong == [], f"{len(wrong)} connectors with wrong fields: {wrong[:3]}"
    for slug in pruned:
        assert not live[slug]["is_active"], f"{slug} should have been deactivated"
    assert set(live) == set(desired) | set(pruned), "unexpected connectors live"


def assert_clean_replan(server, cfg: str) -> None:
    server.set_faults()  # no faults, no latency
    again = run_process(["plan", "--detailed-exitcode", cfg], _env(server))
    assert again.code == 0, again.out[-2000:] + again.err[-2000:]
    assert "Traceback" not in again.err


# ------------------------------------------------------------------------- latency spikes


class LatencySpikes:
    """A thread re-setting the sandbox's latency every 0.15 s: mostly 10 ms, sometimes a spike
    of 0.3 s or 1 s (seeded). Other fault settings are kept; each switch re-seeds the dice."""

    def __init__(self, server, seed: int, **faults: Any) -> None:
        self._url, self._faults, self._rng = server.root, faults, random.Random(seed)
        self._seed = seed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.switches = 0

    def _run(self) -> None:
        with httpx.Client(base_url=self._url, timeout=10) as http:
            while not self._stop.wait(0.15):
                latency = self._rng.choices([0.01, 0.3, 1.0], weights=[7, 2, 1])[0]
                self.switches += 1
                http.post("/_sandbox/faults", json={
                    **self._faults, "latency": latency, "seed": self._seed + self.switches,
                }).raise_for_status()

    def __enter__(self) -> LatencySpikes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


# ------------------------------------------------------------------------- the fault matrix

MATRIX: dict[str, dict[str, Any]] = {
    "5xx": {"error_rate": 0.3},
    "429-retry-after-0": {"rate_limit_rate": 0.3, "retry_after": 0},
    "429-retry-after-1": {"rate_limit_rate": 0.01, "retry_after": 1},
    "lost-responses": {"drop_rate": 0.3},
    "latency-spikes": {"spikes": True},
    "all-together": {"error_rate": 0.15, "rate_limit_rate": 0.1, "retry_after": 0,
                     "drop_rate": 0.15, "spikes": True},
}


@pytest.mark.parametrize("kind", list(MATRIX))
def test_apply_300_converges_under_faults(kind: str, start_sandbox, tmp_path: Path) -> None:
    faults = dict(MATRIX[kind])
    spikes = faults.pop("spikes", False)
    seed = 1000 + list(MATRIX).index(kind)
    server = start_sandbox()
    desired = _desired(300, random.Random(seed))
    _seed_drift(server, desired, n_update=100, n_inactive=50, extras=20)
    cfg = _write_config(tmp_path / "connectors.yaml", desired, prune=True)
    server.set_faults(**faults, seed=seed)
    if spikes:
        with LatencySpikes(server, seed, **faults) as spiker:
            applied = run_process(APPLY + [cfg], _env(server), timeout=240)
        assert spiker.switches > 3, "the apply ended before any latency spike"
    else:
        applied = run_process(APPLY + [cfg], _env(server), timeout=240)
    assert applied.code == 0, applied.out[-3000:] + applied.err[-3000:]
    assert "Traceback" not in applied.err
    # 150 creates + 100 updates + 50 reactivations + 20 deactivations, all in one run
    assert "Apply complete: 320 done, 0 failed, 0 skipped." in applied.out
    assert_converged(server, desired, pruned={f"extra-{i:02d}" for i in range(20)})
    assert_clean_replan(server, cfg)


# ------------------------------------------------------------------------- crash safety


def _popen_cli(args: list[str], env: dict[str, str], cwd: Path, name: str) -> subprocess.Popen:
    full = {**os.environ, **env}
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, full.get("PYTHONPATH")]))
    with open(cwd / f"{name}.out", "wb") as out, open(cwd / f"{name}.err", "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "adapter_sync", *args], env=full,
                                cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)


def test_sigkill_mid_apply_then_rerun_converges(start_sandbox, tmp_path: Path) -> None:
    rng = random.Random(20240607)
    server = start_sandbox()
    mid_apply = 0
    kills: list[tuple[int | None, int]] = []  # (exit status, connectors written before it)
    for run in range(10):
        server.reset()
        desired = _desired(100, random.Random(run))
        _seed_drift(server, desired, n_update=20, n_inactive=10)
        cfg = _write_config(tmp_path / f"run{run}.yaml", desired)
        server.set_faults(latency=0.03, drop_rate=0.05, seed=run)
        before = {c["source_name"]: c for c in server.state()}
        proc = _popen_cli(APPLY[:-1] + ["8", cfg], _env(server), tmp_path, f"run{run}")
        # wait until the apply has started writing, then a seeded random extra delay
        started = time.monotonic()
        while server.state() == list(before.values()) and time.monotonic() - started < 30:
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        state = server.state()
        changed = sum(1 for c in state if before.get(c["source_name"]) != c)
        kills.append((proc.returncode, changed))
        if proc.returncode == -signal.SIGKILL and 0 < changed < 100:
            mid_apply += 1
        server.set_faults(drop_rate=0.05, seed=run + 100)  # the re-run meets lost answers too
        again = run_process(APPLY + [cfg], _env(server), timeout=120)
        assert again.code == 0, f"run {run}: " + again.out[-2000:] + again.err[-2000:]
        assert_converged(server, desired)
        assert_clean_replan(server, cfg)
    assert mid_apply >= 5, f"only {mid_apply} of 10 kills landed mid-apply: {kills}"


# ------------------------------------------------------------------------- concurrent applies


@pytest.mark.parametrize("round_", range(3))
def test_two_concurrent_applies_of_the_same_config(round_: int, start_sandbox,
                                                    tmp_path: Path) -> None:
    server = start_sandbox(latency=0.05)
    desired = _desired(120, random.Random(round_))
    _seed_drift(server, desired, n_update=20, n_inactive=10)
    cfg = _write_config(tmp_path / "connectors.yaml", desired)
    procs = [_popen_cli(APPLY[:-1] + ["8", cfg], _env(server), tmp_path, f"apply{i}")
             for i in range(2)]
    for proc in procs:
        proc.wait(120)
    outs = [(tmp_path / f"apply{i}.out").read_text() + (tmp_path / f"apply{i}.err").read_text()
            for i in range(2)]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert all("Traceback" not in o for o in outs)
    # the race really happened: some creates met the other run's connector and adopted it
    assert any("already existed live" in o for o in outs), outs
    assert_converged(server, desired)
    assert_clean_replan(server, cfg)
