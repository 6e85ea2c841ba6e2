"""Run the real CLI entry point (adapter_sync.cli.main) in-process or as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from adapter_sync.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run(args: Sequence[str], env: Mapping[str, str | None] | None = None,
        input: str | None = None) -> Run:
    """main(args) with captured stdout/stderr (not a TTY) and the exit code."""
    runner = CliRunner()
    with runner.isolation(input=input, env=dict(env or {})) as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return Run(code, out.getvalue().decode(), err.getvalue().decode())


def run_process(args: Sequence[str], env: Mapping[str, str] | None = None,
                cwd: str | os.PathLike | None = None, timeout: float = 120,
                input: str | None = None) -> Run:
    """``python -m adapter_sync ARGS`` in a real subprocess (stdin not a TTY)."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, full_env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "adapter_sync", *args], env=full_env, cwd=cwd,
        capture_output=True, text=True, timeout=timeout, input=input or "",
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def env_with_cli_on_path(tmp_path: Path) -> dict[str, str]:
    """The environment with an ``adapter-sync`` command on PATH (as the console script installs
    it) that runs this source tree."""
    import shlex

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "adapter-sync"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m adapter_sync "$@"\n')
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))}
