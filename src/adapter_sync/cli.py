"""The command line: parse options, prompt, print, map errors to exit codes. Nothing else.

Every command is one call into :mod:`adapter_sync.engine` (the workflow and its safety checks
live there); this module owns what belongs to the process: reading the API key once, the
terminal (colour, the confirmation prompt, the progress line), signal handling during apply,
logging setup for ``--debug``, and turning every failure into one line and an exit code.

Exit codes: 0 success, 1 any error (usage errors included), 2 "changes present" for
``plan --detailed-exitcode``. Heavy modules (httpx, deepdiff, jsonschema, the sandbox) are
imported inside the commands that need them so ``--help`` and ``--version`` start fast.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import click

from adapter_sync import __version__
from adapter_sync.engine import DEFAULT_API_URL
from adapter_sync.errors import AdapterSyncError, ConfigError
from adapter_sync.secrets import Redactor, read_key

if TYPE_CHECKING:
    from adapter_sync.engine import Engine


# Set by the group callback, read by main() when an exception escapes a command.
_state: dict[str, Any] = {"debug": False, "redact": Redactor()}


def _redact(text: str) -> str:
    """The one redactor (built from the key read at start-up) over any text shown."""
    return _state["redact"](text)


def _echo_err(message: str) -> None:
    click.echo(_redact(message), err=True)


def _one_line(text: str) -> str:
    """``text`` with control characters escaped: a message quoting a config key or a server's
    answer stays on one line and cannot drive the terminal (or start a ``::`` CI command)."""
    from adapter_sync.escape import clean

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


class Context:
    """What the global options decide, shared by every command (the click context object)."""

    def __init__(self, api_url: str, max_attempts: int, deadline: float, max_rps: float | None,
                 backoff_base: float) -> None:
        self.api_url = api_url
        self.max_attempts = max_attempts
        self.deadline = deadline
        self.max_rps = max_rps
        self.backoff_base = backoff_base
        self.api_key = read_key()  # the one read of ADAPTER_API_KEY

    def engine(self, concurrency: int = 4) -> Engine:
        from adapter_sync.engine import Engine, Settings

        settings = Settings(api_url=self.api_url, api_key=self.api_key,
                            max_attempts=self.max_attempts, deadline=self.deadline,
                            max_rps=self.max_rps, backoff_base=self.backoff_base,
                            concurrency=concurrency)
        return Engine(settings, redactor=_state["redact"])


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="adapter-sync")
@click.option("--debug", is_flag=True, help="Show tracebacks and HTTP exchanges (never the key).")
@click.option("--no-color", is_flag=True,
              help="No colour (also: NO_COLOR, TERM=dumb; FORCE_COLOR forces it).")
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
def cli(ctx: click.Context, debug: bool, no_color: bool, api_url: str, max_attempts: int, deadline: float,
        max_rps: float | None, backoff_base: float) -> None:
    """Manage Adapter custom connectors as code.

    Connectors are declared in YAML; validate checks them offline, plan shows what would
    change, apply makes the live state match, import writes YAML for what exists already.
    The API key is read from ADAPTER_API_KEY.
    """
    context = Context(api_url, max_attempts, deadline, max_rps, backoff_base)
    _state["redact"] = Redactor([context.api_key])
    _state["no_color"] = no_color
    _state["debug"] = debug or os.environ.get("ADAPTER_SYNC_DEBUG") == "1"
    if _state["debug"]:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
        for handler in logging.getLogger().handlers:
            handler.addFilter(_state["redact"].logging_filter())
    ctx.obj = context


paths_argument = click.argument("paths", nargs=-1, type=click.Path(dir_okay=True, file_okay=True))


@cli.command()
@paths_argument
@click.pass_obj
def validate(context: Context, paths: Sequence[str]) -> int:
    """Check config files offline: YAML pitfalls and the JSON Schema.

    PATHS are files or folders (every *.yaml / *.yml below, sorted). With none:
    ./connectors.yaml if it exists, else ./connectors/.
    """
    desired = context.engine().validate(paths)
    n, f = len(desired.connectors), len(desired.files)
    click.echo(f"OK: {n} connector{'s' * (n != 1)} in {f} file{'s' * (f != 1)} valid.")
    return 0


def _use_color(stream: Any = None) -> bool:
    """Colour when writing to a terminal, unless --no-color, NO_COLOR or TERM=dumb say no;
    FORCE_COLOR asks for it anywhere."""
    if _state.get("no_color") or "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return (stream or sys.stdout).isatty()


format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
    show_default=True, help="Output format; with json, stdout carries only the JSON document.",
)
prune_option = click.option(
    "--prune", is_flag=True, help="Deactivate live connectors that are not declared (or set prune: true)."
)


@cli.command()
@paths_argument
@format_option
@prune_option
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True),
              help="Also save the plan to FILE, for 'apply --plan FILE'.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there are no changes, 2 when there are, 1 on error.")
@click.pass_obj
def plan(context: Context, paths: Sequence[str], fmt: str, prune: bool, out: str | None,
         detailed_exitcode: bool) -> int:
    """Show what apply would change. Reads the API; never writes to it."""
    engine = context.engine()
    planned = engine.plan(paths, prune=prune)
    click.echo(engine.render(planned.plan, fmt, color=_use_color()), nl=False)  # type: ignore[arg-type]
    if out:
        engine.save_plan(out, planned.plan)
        click.echo(f"Plan saved to {out}; run 'adapter-sync apply --plan {out}' to apply it.",
                   err=fmt != "text")
    return 2 if detailed_exitcode and planned.plan.has_changes else 0


def _ascii_only() -> bool:
    """Whether stdout cannot encode the result markers (e.g. a cp1252 console)."""
    try:
        "✓✗".encode(getattr(sys.stdout, "encoding", None) or "ascii")
    except (LookupError, UnicodeEncodeError):
        return True
    return False


class _ApplyDisplay:
    """The command side of an apply: the plan, the prompt, the live report (see
    :mod:`adapter_sync.progress`), and why it stopped early if it did."""

    def __init__(self, engine: Engine, confirm: bool, fmt: str, heartbeat: float) -> None:
        from adapter_sync.progress import ApplyReporter

        self.engine, self.confirm, self.fmt = engine, confirm, fmt
        self.human = sys.stderr if fmt == "json" else sys.stdout  # JSON owns stdout
        self.plan: Any = None
        self.outcomes: list[Any] = []
        self.stopped_by: str | None = None
        self.reporter = ApplyReporter(
            out=sys.stdout, err=sys.stderr, fmt="json" if fmt == "json" else "text",
            tty=sys.stderr.isatty() and fmt != "json", ascii=_ascii_only(),
            heartbeat=heartbeat, redact=_redact)

    def show_plan(self, plan: Any) -> None:
        self.plan = plan
        text = self.engine.render(plan, "text", color=_use_color(self.human))
        click.echo(text, nl=False, file=self.human)

    def approve(self, plan: Any) -> bool:
        if not self.confirm:
            self._begin(plan)
            return True
        if not sys.stdin.isatty():
            raise AdapterSyncError(
                "refusing to apply without confirmation: no terminal to ask on; "
                "pass --auto-approve (or apply a saved plan with --plan)"
            )
        if click.confirm("Apply these changes?", default=False, err=self.fmt == "json"):
            self._begin(plan)
            return True
        click.echo("Nothing applied.", file=self.human)
        return False

    def _begin(self, plan: Any) -> None:
        self.reporter.plan(plan)
        self.reporter.start()

    def progress(self, outcome: Any) -> None:
        self.outcomes.append(outcome)
        self.reporter.outcome(outcome)

    def interrupted(self, why: str) -> None:
        self.stopped_by = self.stopped_by or why
        self.reporter.note(f"{why}: finishing the calls in flight, starting no new ones...")

    def report(self, result: Any) -> None:
        self.reporter.close()
        text = self.engine.render_result(result, color=_use_color(self.human),
                                         ascii=_ascii_only(), streamed=True)
        if self.stopped_by and result.interrupted:
            text += (f"Apply partial ({self.stopped_by}): "
                     f"{result.count('skipped')} action(s) not started; "
                     "run apply again to continue it.\n")
        self.reporter.summary(result, text)

    def report_stopped_hard(self) -> None:
        """After a second interrupt: what finished, and the rest as not finished."""
        from adapter_sync.engine import unfinished

        if self.plan is not None:
            self.report(unfinished(self.plan, self.outcomes, "not finished (stopped by a second "
                                   "interrupt; a re-run checks them)"))


#: Signals that stop an apply gracefully: Ctrl-C, and SIGTERM (timeout, docker stop,
#: Kubernetes, CI cancellation).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _stop_on_signals(display: _ApplyDisplay,
                     max_duration: float | None) -> Iterator[threading.Event]:
    """A stop event, set by Ctrl-C or SIGTERM, or once ``max_duration`` seconds have passed:
    no new calls start, those in flight finish. A second signal stops waiting. Signal
    handlers only in the main thread; restored afterwards."""
    stop = threading.Event()

    def stop_for(why: str) -> None:
        if not stop.is_set():
            stop.set()
            display.interrupted(why)

    timer = None
    if max_duration is not None:
        timer = threading.Timer(max_duration, stop_for,
                                args=(f"--max-duration {max_duration:g}s reached",))
        timer.daemon = True
        timer.start()

    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt  # the second one: stop waiting
        stop_for("Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name)

    main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS} if main_thread else {}
    try:
        yield stop
    finally:
        if timer is not None:
            timer.cancel()
        for sig, old in previous.items():
            signal.signal(sig, old)


@cli.command()
@paths_argument
@prune_option
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False, exists=True),
              help="Apply exactly this saved plan (refused if stale). PATHS are ignored.")
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Allow a mass deactivation the safety check refuses.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="API calls in flight at once.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: newline-delimited JSON events on stdout (one per "
              "result, wait and heartbeat, then a summary); human text goes to stderr.")
@click.option("--max-duration", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="After this long, start no new actions, finish those in "
              "flight, report, exit 1 (a re-run continues).")
@click.option("--heartbeat", type=click.FloatRange(min=0.1), default=10.0, hidden=True,
              envvar="ADAPTER_SYNC_HEARTBEAT",
              help="Seconds of silence before a heartbeat line off a terminal.")
@click.pass_obj
def apply(context: Context, paths: Sequence[str], prune: bool, plan_file: str | None,
          auto_approve: bool, force: bool, concurrency: int, fmt: str,
          max_duration: float | None, heartbeat: float) -> int:
    """Make the live state match the config: create, update, reactivate, deactivate.

    Each result is printed as it finishes; off a terminal a heartbeat line shows progress
    at least every 10 s, and waits of a second or more (retries, rate limits) are shown.
    """
    from adapter_sync.engine import Hooks

    engine = context.engine(concurrency)
    display = _ApplyDisplay(engine, confirm=not (plan_file or auto_approve), fmt=fmt,
                            heartbeat=heartbeat)
    with _stop_on_signals(display, max_duration) as stop:
        try:
            applied = engine.apply(
                paths, plan_file=plan_file, prune=prune, force=force,
                hooks=Hooks(show_plan=display.show_plan, approve=display.approve,
                            progress=display.progress, stop=stop,
                            wait=display.reporter.wait))
        except KeyboardInterrupt:
            display.report_stopped_hard()
            raise
        finally:
            display.reporter.close()
    if not applied.approved:
        return 1
    if applied.result is None:
        return 0
    display.report(applied.result)
    return 0 if applied.result.ok else 1


@cli.command("import")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Write to FILE instead of stdout.")
@click.option("--split", "split_dir", type=click.Path(file_okay=False),
              help="Write one file per connector into DIR.")
@click.option("--include-inactive", is_flag=True, help="Also import inactive connectors (as active: false).")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.pass_obj
def import_(context: Context, output: str | None, split_dir: str | None,
            include_inactive: bool, force: bool) -> int:
    """Write YAML for connectors that already exist, to adopt them."""
    if output and split_dir:
        raise click.UsageError("--output and --split cannot be used together")
    imported = context.engine().import_(output=output, split_dir=split_dir,
                                        include_inactive=include_inactive, force=force)
    for message in imported.left_out:
        _echo_err(f"Warning: {_one_line(message)}")
    if split_dir:
        click.echo(f"Wrote {len(imported.written)} file(s) to {split_dir}.", err=True)
    elif output:
        click.echo(f"Wrote {output}.", err=True)
    else:
        click.echo(imported.text, nl=False)
    return 0


@cli.group()
def sandbox() -> None:
    """The Adapter API emulator, for demos and tests."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True)
@click.option("--db", default=None, help="SQLite file holding the state "
              "[default: .adapter-sync/sandbox.db].")
@click.option("--latency", type=float, default=0.0, help="Seconds added to every request.")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, help="Share of 5xx answers.")
@click.option("--rate-limit-rate", type=click.FloatRange(0, 1), default=0.0,
              help="Share of 429 answers (with Retry-After).")
@click.option("--drop-rate", type=click.FloatRange(0, 1), default=0.0,
              help="Share of writes committed, then answered by a dropped connection.")
@click.option("--seed", type=int, default=None, help="Seed for the fault dice.")
@click.option("--rate-limit", type=click.Choice(["fixed_window", "token_bucket"]), default=None,
              help="A real rate limiter (X-RateLimit-* on every answer, 429 over the limit).")
@click.option("--rate-limit-requests", type=click.IntRange(min=1), default=60, show_default=True,
              help="Requests per window (fixed window) or bucket size (token bucket).")
@click.option("--rate-limit-window", type=click.FloatRange(min=0, min_open=True), default=60.0,
              show_default=True, help="Window seconds (the bucket refills this fast).")
@click.option("--retry-after-style", default="seconds", show_default=True,
              type=click.Choice(["seconds", "fractional", "zero", "date", "none"]),
              help="How a 429 says Retry-After (none: no header).")
@click.option("--reset-style", type=click.Choice(["epoch", "none"]), default="epoch",
              show_default=True, help="X-RateLimit-Reset as epoch seconds, or left out.")
@click.option("--clock-offset", type=float, default=0.0, show_default=True,
              help="Seconds the server's clock is ahead (negative: behind) of this machine's.")
@click.option("--shared-usage", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of the budget other integrations on the same key spend.")
def sandbox_serve(host: str, port: int, db: str | None, **faults: Any) -> int:
    """Serve the sandbox over HTTP until Ctrl-C or SIGTERM."""
    from adapter_sync.engine import serve_sandbox

    serve_sandbox(host=host, port=port, db=db, **faults)
    return 0


def _tolerant_streams() -> None:
    """Output never fails on a character the console cannot encode (a cp1252 console, a lone
    surrogate from the server): it is written as a backslash escape instead."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with suppress(ValueError, OSError):  # a detached or closed stream
                reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: runs the CLI and maps every failure to one line and exit 1."""
    _tolerant_streams()
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
