"""The command line: parse, call, render, exit code. No business logic lives here.

Exit codes: 0 success, 1 any error (usage errors included), 2 "changes present" for
``plan --detailed-exitcode``. Heavy modules (httpx, rich, deepdiff, the sandbox) are imported
inside the commands that need them so ``--help`` and ``--version`` start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from adapter_sync import __version__
from adapter_sync.errors import AdapterSyncError, ConfigError

DEFAULT_API_URL = "https://api.adapter.com/v1"
API_KEY_ENV = "ADAPTER_API_KEY"

# Set by the group callback, read by main() when an exception escapes a command.
_state: dict[str, Any] = {"debug": False}


def _redact(text: str) -> str:
    """Remove the API key from any text that is about to be shown (defence in depth)."""
    key = os.environ.get(API_KEY_ENV)
    if key and len(key) >= 4 and key in text:
        text = text.replace(key, "***")
    return text


def _echo_err(message: str) -> None:
    click.echo(_redact(message), err=True)


def _one_line(text: str) -> str:
    """``text`` with control characters escaped: a message quoting a config key or a server's
    answer stays on one line and cannot drive the terminal (or start a ``::`` CI command)."""
    from adapter_sync.render import clean

    return clean(text)


def _github_annotations(error: ConfigError) -> None:
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    def data(text: str) -> str:  # GitHub's workflow-command escaping
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:  # a property value also escapes its separators
        return data(text).replace(":", "%3A").replace(",", "%2C")

    for problem in error.problems:
        loc = problem.location
        where = f" file={prop(loc.file)},line={loc.line},col={loc.col}" if loc else ""
        click.echo(_redact(f"::error{where}::{data(problem.message)}"))


class Settings:
    """Global options shared by every command (the click context object)."""

    def __init__(self, api_url: str, max_attempts: int, deadline: float, max_rps: float | None,
                 backoff_base: float = 0.5):
        self.api_url = api_url
        self.max_attempts = max_attempts
        self.deadline = deadline
        self.max_rps = max_rps
        self.backoff_base = backoff_base

    def client(self):  # -> AdapterClient
        from adapter_sync.client import make_client

        return make_client(
            self.api_url,
            os.environ.get(API_KEY_ENV),
            max_attempts=self.max_attempts,
            deadline=self.deadline,
            max_rps=self.max_rps,
            backoff_base=self.backoff_base,
        )


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="adapter-sync")
@click.option("--debug", is_flag=True, help="Show tracebacks and HTTP exchanges (never the key).")
@click.option(
    "--api-url",
    envvar="ADAPTER_API_URL",
    default=DEFAULT_API_URL,
    show_default=True,
    help="API base URL; 'sandbox:' or 'sandbox:PATH' runs the emulator in-process. "
    "Env: ADAPTER_API_URL.",
)
@click.option(
    "--max-attempts", type=click.IntRange(1, 100), default=8, show_default=True,
    help="Attempts per API call (retries on 429, 5xx and network errors).",
)
@click.option(
    "--deadline", type=click.FloatRange(1, 3600), default=120.0, show_default=True,
    help="Seconds one API call may take, retries included.",
)
@click.option(
    "--max-rps", type=click.FloatRange(0.1, 10000), default=None,
    help="Pace requests to at most this many per second (stay under the rate limit).",
)
@click.option(
    "--backoff-base", type=click.FloatRange(0, 60), default=0.5, hidden=True,
    envvar="ADAPTER_SYNC_BACKOFF_BASE",
    help="Seconds of the first retry backoff (for tests; doubles per attempt, capped at 30).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, api_url: str, max_attempts: int, deadline: float,
        max_rps: float | None, backoff_base: float) -> None:
    """Manage Adapter custom connectors as code.

    Connectors are declared in YAML; validate checks them offline, plan shows what would
    change, apply makes the live state match, import writes YAML for what exists already.
    The API key is read from ADAPTER_API_KEY.
    """
    _state["debug"] = debug or os.environ.get("ADAPTER_SYNC_DEBUG") == "1"
    if _state["debug"]:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = Settings(api_url, max_attempts, deadline, max_rps, backoff_base)


paths_argument = click.argument("paths", nargs=-1, type=click.Path(dir_okay=True, file_okay=True))


@cli.command()
@paths_argument
def validate(paths: Sequence[str]) -> int:
    """Check config files offline: YAML pitfalls and the JSON Schema.

    PATHS are files or folders (every *.yaml / *.yml below, sorted). With none:
    ./connectors.yaml if it exists, else ./connectors/.
    """
    from adapter_sync.config import load

    desired = load(paths)
    n, f = len(desired.connectors), len(desired.files)
    click.echo(f"OK: {n} connector{'s' * (n != 1)} in {f} file{'s' * (f != 1)} valid.")
    return 0


def _load_and_fetch(settings: Settings, paths: Sequence[str]):
    """Validate the config (no request at all if it is invalid), then list live state once."""
    import asyncio

    from adapter_sync.config import load

    desired = load(paths)
    return desired, asyncio.run(_fetch(settings))


async def _fetch(settings: Settings):
    from adapter_sync.model import Live

    async with settings.client() as client:
        return Live.from_list(await client.list_connectors())


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
    show_default=True, help="Output format; with json, stdout carries only the JSON document.",
)
prune_option = click.option(
    "--prune", is_flag=True, help="Deactivate live connectors that are not declared (or set prune: true)."
)


def _render(plan, fmt: str) -> str:
    from adapter_sync import render

    if fmt == "json":
        text = render.render_json(plan)
    elif fmt == "markdown":
        text = render.render_markdown(plan)
    else:
        text = render.render_text(plan, color=_use_color())
    return _redact(text)


@cli.command()
@paths_argument
@format_option
@prune_option
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True),
              help="Also save the plan to FILE, for 'apply --plan FILE'.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there are no changes, 2 when there are, 1 on error.")
@click.pass_obj
def plan(settings: Settings, paths: Sequence[str], fmt: str, prune: bool, out: str | None,
         detailed_exitcode: bool) -> int:
    """Show what apply would change. Reads the API; never writes to it."""
    from adapter_sync import planfile
    from adapter_sync.planner import plan as make_plan

    desired, live = _load_and_fetch(settings, paths)
    result = make_plan(desired, live, prune=prune or desired.prune)
    click.echo(_render(result, fmt), nl=False)
    if out:
        planfile.save(out, result, settings.api_url)
        click.echo(f"Plan saved to {out}; run 'adapter-sync apply --plan {out}' to apply it.",
                   err=fmt != "text")
    return 2 if detailed_exitcode and result.has_changes else 0


@cli.command()
@paths_argument
@prune_option
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False, exists=True),
              help="Apply exactly this saved plan (refused if stale). PATHS are ignored.")
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Allow a mass deactivation the safety check refuses.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="API calls in flight at once.")
@click.pass_obj
def apply(settings: Settings, paths: Sequence[str], prune: bool, plan_file: str | None,
          auto_approve: bool, force: bool, concurrency: int) -> int:
    """Make the live state match the config: create, update, reactivate, deactivate."""
    import asyncio

    from adapter_sync import planfile
    from adapter_sync.applier import apply_plan
    from adapter_sync.errors import SafetyError
    from adapter_sync.planner import check_safety
    from adapter_sync.planner import plan as make_plan
    from adapter_sync.render import render_result

    if plan_file:
        saved = planfile.load(plan_file)
        live = asyncio.run(_fetch(settings))
        planfile.check_stale(saved, live, settings.api_url)
        result = saved.plan
    else:
        desired, live = _load_and_fetch(settings, paths)
        result = make_plan(desired, live, prune=prune or desired.prune)
    click.echo(_render(result, "text"), nl=False)
    if not result.has_changes:
        return 0
    problem = check_safety(result, live)
    if problem and not force:
        raise SafetyError(f"{problem}; re-run with --force if this is intended")
    if not plan_file and not auto_approve:
        if not sys.stdin.isatty():
            raise AdapterSyncError(
                "refusing to apply without confirmation: no terminal to ask on; "
                "pass --auto-approve (or apply a saved plan with --plan)"
            )
        if not click.confirm("Apply these changes?", default=False):
            click.echo("Nothing applied.")
            return 1

    async def run():
        async with settings.client() as client:
            return await apply_plan(result, client, concurrency=concurrency,
                                    progress=sys.stderr.isatty())

    outcome = asyncio.run(run())
    click.echo(_redact(render_result(outcome, color=_use_color())), nl=False)
    return 0 if outcome.ok else 1


@cli.command("import")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Write to FILE instead of stdout.")
@click.option("--split", "split_dir", type=click.Path(file_okay=False),
              help="Write one file per connector into DIR.")
@click.option("--include-inactive", is_flag=True, help="Also import inactive connectors (as active: false).")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.pass_obj
def import_(settings: Settings, output: str | None, split_dir: str | None,
            include_inactive: bool, force: bool) -> int:
    """Write YAML for connectors that already exist, to adopt them."""
    import asyncio

    from adapter_sync import importer

    if output and split_dir:
        raise click.UsageError("--output and --split cannot be used together")
    live = asyncio.run(_fetch(settings))
    if split_dir:
        written = importer.write_split(live, split_dir, include_inactive=include_inactive,
                                       force=force)
        click.echo(f"Wrote {len(written)} file(s) to {split_dir}.", err=True)
        return 0
    text = importer.to_yaml(live, include_inactive=include_inactive)
    if output:
        importer.write_file(output, text, force=force)
        click.echo(f"Wrote {output}.", err=True)
    else:
        click.echo(text, nl=False)
    return 0


@cli.group()
def sandbox() -> None:
    """The Adapter API emulator, for demos and tests."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True)
@click.option("--db", default=".adapter-sync/sandbox.db", show_default=True,
              help="SQLite file holding the state.")
@click.option("--latency", type=float, default=0.0, help="Seconds added to every request.")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, help="Share of 5xx answers.")
@click.option("--rate-limit-rate", type=click.FloatRange(0, 1), default=0.0,
              help="Share of 429 answers (with Retry-After).")
@click.option("--drop-rate", type=click.FloatRange(0, 1), default=0.0,
              help="Share of writes committed, then answered by a dropped connection.")
@click.option("--seed", type=int, default=None, help="Seed for the fault dice.")
def sandbox_serve(host: str, port: int, db: str, latency: float, error_rate: float,
                  rate_limit_rate: float, drop_rate: float, seed: int | None) -> int:
    """Serve the sandbox over HTTP until Ctrl-C."""
    from adapter_sync.sandbox.server import serve

    serve(host=host, port=port, db=db, latency=latency, error_rate=error_rate,
          rate_limit_rate=rate_limit_rate, drop_rate=drop_rate, seed=seed)
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: runs the CLI and maps every failure to one line and exit 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=args, prog_name="adapter-sync", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --version, --help
        code = exc.exit_code
    except click.exceptions.Abort:
        _echo_err("Aborted.")
        code = 1
    except click.ClickException as exc:  # usage errors: 1, never click's 2
        exc.show()
        code = 1
    except KeyboardInterrupt:
        _echo_err("Interrupted.")
        code = 1
    except ConfigError as exc:
        _github_annotations(exc)
        for problem in exc.problems:
            _echo_err(_one_line(str(problem)))
        n = len(exc.problems)
        _echo_err(f"{n} error{'s' * (n != 1)} found.")
        code = 1
    except AdapterSyncError as exc:
        if _state["debug"]:
            import traceback

            _echo_err("".join(traceback.format_exception(exc)))
        _echo_err(f"Error: {_one_line(str(exc))}")
        code = 1
    except Exception as exc:  # a bug: one line unless --debug
        if _state["debug"]:
            import traceback

            _echo_err("".join(traceback.format_exception(exc)))
        _echo_err(f"Error: unexpected {type(exc).__name__}: {_one_line(str(exc))} "
                  "(run with --debug for details)")
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
