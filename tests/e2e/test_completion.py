"""Shell completion as docs/ci.md tells users to enable it: eval "$(_ADAPTER_SYNC_COMPLETE=...)"."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from clirun import env_with_cli_on_path

ROOT = Path(__file__).resolve().parents[2]
BASH = shutil.which("bash") or "bash"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An `adapter-sync` command on PATH running this source."""
    return env_with_cli_on_path(tmp_path)


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _adapter_sync_completion adapter-sync"),
    ("zsh", "compdef _adapter_sync_completion adapter-sync"),
    ("fish", "complete --no-files --command adapter-sync"),
])
def test_completion_script_is_printed_for_each_shell(env: dict[str, str], shell: str,
                                                     marker: str) -> None:
    proc = subprocess.run(["adapter-sync"], env={**env, "_ADAPTER_SYNC_COMPLETE": f"{shell}_source"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert marker in proc.stdout


def complete(env: dict[str, str], *words: str) -> list[str]:
    """Source the bash completion script in a real bash; complete the last of ``words``."""
    script = f"""
        eval "$(_ADAPTER_SYNC_COMPLETE=bash_source adapter-sync)"
        COMP_WORDS=(adapter-sync {" ".join(shlex.quote(w) for w in words)})
        COMP_CWORD={len(words)}
        COMPREPLY=()
        _adapter_sync_completion adapter-sync
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    proc = subprocess.run([BASH, "--norc", "--noprofile", "-c", script], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


def test_bash_completes_commands_options_and_choices(env: dict[str, str]) -> None:
    assert complete(env, "pl") == ["plan"]
    assert set(complete(env, "")) >= {"validate", "plan", "apply", "import", "sandbox"}
    assert complete(env, "plan", "--form") == ["--format"]
    assert complete(env, "plan", "--format", "") == ["text", "markdown", "json"]
