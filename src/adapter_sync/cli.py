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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, TextIO

import click

from adapter_sync import __version__
from adapter_sync.engine import DEFAULT_API_URL
from adapter_sync.errors import AdapterSyncError, ConfigError
from adapter_sync.secrets import Redactor, read_key

if TYPE_CHECKING:
    from types import FrameType

    from adapter_sync.api import (
        ApiKey,
        Desired,
        Engine,
        Outcome,
        Plan,
        Result,
        Selection,
    )
    from adapter_sync.engine import Stop, WaitEvent


def _context() -> Context:
    """The running command's :class:`Context` (click's context object); outside a command, an
    empty one (no key read yet: nothing to redact)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Context) if ctx is not None else None
    return found if found is not None else Context()


def _redact(text: str) -> str:
    """The one redactor (built from the key read at start-up) over any text shown."""
    return _context().redact(text)


def _echo_err(message: str) -> None:
    click.echo(_redact(message), err=True)


def _one_line(text: str) -> str:
    """``text`` with control characters escaped: a message quoting a config key or a server's
    answer stays on one line and cannot drive the terminal (or start a ``::`` CI command)."""
    from adapter_sync.escape import clean

    return clean(text)


def _github_annotations(error: ConfigError, redact: Callable[[str], str],
                        level: str = "error") -> None:
    """``::error`` (or ``::warning``) workflow commands for the problems, in GitHub Actions."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    def data(text: str) -> str:  # GitHub's workflow-command escaping
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:  # a property value also escapes its separators
        return data(text).replace(":", "%3A").replace(",", "%2C")

    for problem in error.problems:
        loc = problem.location
        where = f" file={prop(loc.file)},line={loc.line},col={loc.col}" if loc else ""
        click.echo(redact(f"::{level}{where}::{data(problem.message)}"))


def _policy_warnings(desired: Desired) -> int:
    """The declared connectors breaking a ``warning`` policy rule: one line each on stderr
    (and a ``::warning`` annotation in GitHub Actions); how many."""
    warnings = desired.policy_warnings
    if warnings:
        _github_annotations(ConfigError(warnings), _redact, "warning")
        for problem in warnings:
            _echo_err(f"Warning: {_one_line(str(problem))}")
    return len(warnings)


class Context:
    """The command's state (the click context object; the CLI keeps none of its own): what
    the global options decide, the key read once and its redactor, and where the client's
    waits go. :func:`main` makes it, so it still has the redactor when a command failed."""

    api_url: str
    max_attempts: int
    deadline: float
    max_rps: float | None
    backoff_base: float
    rate_share: float
    allow_http: tuple[str, ...]

    def __init__(self) -> None:
        self.api_key: ApiKey | None = None
        self.started = False  # the group callback ran (the key was read)
        self.redact = Redactor()
        self.debug = False
        self.no_color = False
        #: Where the client's waits go while an apply shows them (else: one line on stderr).
        self.wait_sink: Callable[[WaitEvent], None] | None = None

    def start(self, api_key: ApiKey | None, **options: Any) -> None:
        """The group's start: the key (read once, at the top: see cli()) and every global
        option, as the group parsed it (defaults included: the one place they are defined is
        :data:`GLOBAL_OPTIONS`)."""
        self.api_key, self.started = api_key, True
        self.redact = Redactor([api_key])
        self.set(**options)

    def error_redactor(self) -> Redactor:
        """The redactor for an error line: the key's, even when the error came before the
        group callback read it (e.g. a usage error quoting an option's value)."""
        return self.redact if self.started else Redactor([read_key()])

    def set(self, **options: Any) -> None:
        """Apply global options (given before or after the command name)."""
        for name, value in options.items():
            if name == "debug":
                if value:
                    self.debug_on()
            elif name == "no_color":
                self.no_color = self.no_color or value
            else:
                setattr(self, name, value)

    def debug_on(self) -> None:
        """``--debug``: tracebacks, and HTTP exchanges logged to stderr (through the
        redactor)."""
        if self.debug:
            return
        self.debug = True
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
        for handler in logging.getLogger().handlers:
            handler.addFilter(self.redact.logging_filter())

    def on_wait(self, event: WaitEvent) -> None:
        """A call waits a second or more (a retry, the rate limit): one line without --debug.
        During an apply the live display shows it (see ``_ApplyDisplay``)."""
        if self.wait_sink is not None:
            self.wait_sink(event)
            return
        from adapter_sync.progress import wait_line

        line = wait_line(event)
        if line:
            click.echo(self.redact(line), err=True)

    def engine(self, concurrency: int = 4) -> Engine:
        """The engine for these options. When a command reaches a ``sandbox:`` URL's emulator,
        its state file is named on stderr, so nobody wonders where the connectors went (a
        command that reads no API, or stops before any request, names nothing)."""
        from adapter_sync.engine import Engine, Settings

        settings = Settings(api_url=self.api_url, api_key=self.api_key,
                            max_attempts=self.max_attempts, deadline=self.deadline,
                            max_rps=self.max_rps, backoff_base=self.backoff_base,
                            concurrency=concurrency, rate_share=self.rate_share,
                            allow_http=tuple(self.allow_http))
        return Engine(settings, redactor=self.redact, on_wait=self.on_wait,
                      on_sandbox=lambda db: _echo_err(f"Sandbox state: {db}"))


#: The prefix of every environment variable: ADAPTER_SYNC_<OPTION> for a global option,
#: ADAPTER_SYNC_<COMMAND>_<OPTION> for a command's (e.g. ADAPTER_SYNC_SANDBOX_SERVE_PORT).
ENV_PREFIX = "ADAPTER_SYNC"


class Number(click.FloatRange):
    """A number in a range, never NaN: NaN compares false with every bound, so a range alone
    let ``--deadline nan`` run with no deadline at all."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number != number:  # NaN, the one float unequal to itself
            self.fail(f"{value!r} is not a number.", param, ctx)
        return number


def envvar_name(prefix: str, option: click.Option) -> str:
    """``prefix``'s variable for ``option``: named for its long flag (``--plan`` → ``PLAN``),
    never for the Python name it is stored under (``plan_file``)."""
    flag = next((o for o in option.opts if o.startswith("--")), option.opts[0])
    return f"{prefix}_{flag.lstrip('-').replace('-', '_').upper()}"


class _Option(click.Option):
    """An option read from its environment variable by the rule ``envvar_name`` gives (after
    any ``envvar`` it declares), which ``--help`` shows.

    The name click would derive from the stored name (``ADAPTER_SYNC_APPLY_PLAN_FILE`` for
    ``--plan``), where it differs, still works, with a deprecation warning on stderr. A bad
    value from a variable is reported with the variable's name, not only the option's, which
    the user of a CI job never typed. ``shown_envvars``: what --help shows for a copy of a
    global option on a command (the group reads the variable, not the copy).
    """

    def __init__(self, *decls: Any, shown_envvars: Sequence[str] = (), **kwargs: Any) -> None:
        kwargs.setdefault("show_envvar", True)
        super().__init__(*decls, **kwargs)
        self.shown_envvars = tuple(shown_envvars)

    def envvar_names(self, ctx: click.Context) -> list[str]:
        """The variables read, first set wins: those declared, then the rule's."""
        names = [self.envvar] if isinstance(self.envvar, str) else list(self.envvar or ())
        if self.allow_from_autoenv and ctx.auto_envvar_prefix is not None:
            rule = envvar_name(ctx.auto_envvar_prefix, self)
            if rule not in names:
                names.append(rule)
        return names

    def _old_name(self, ctx: click.Context) -> str | None:
        if not (self.allow_from_autoenv and ctx.auto_envvar_prefix and self.name):
            return None
        old = f"{ctx.auto_envvar_prefix}_{self.name.upper()}"
        return None if old in self.envvar_names(ctx) else old

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        found = next(((n, os.environ[n]) for n in self.envvar_names(ctx) if os.environ.get(n)),
                     None)
        old = self._old_name(ctx)
        if old and os.environ.get(old) and not ctx.resilient_parsing:
            if found is None:
                _echo_err(f"Warning: {old} is deprecated; set {self.envvar_names(ctx)[-1]} "
                          f"instead (the variable of {self.opts[0]}).")
                found = (old, os.environ[old])
            else:
                _echo_err(f"Warning: {old} is deprecated and ignored: {found[0]} is set.")
        if found is None:
            return None
        ctx.meta.setdefault("adapter_sync.envvars", {})[self.name] = found[0]
        return found[1]

    def handle_parse_result(self, ctx: click.Context, opts: Any,
                            args: list[str]) -> tuple[Any, list[str]]:
        try:
            return super().handle_parse_result(ctx, opts, args)
        except click.BadParameter as exc:
            var = ctx.meta.get("adapter_sync.envvars", {}).get(self.name)
            if var is None or self.name in opts:  # the command line wins over a variable
                raise
            raise click.BadParameter(exc.message, ctx=ctx, param_hint=(
                f"{var} (the environment variable for {self.opts[0]})")) from None

    def get_help_extra(self, ctx: click.Context) -> Any:
        extra = super().get_help_extra(ctx)
        names = self.shown_envvars or (self.envvar_names(ctx) if self.show_envvar else ())
        if names:
            extra["envvars"] = tuple(names)
        return extra


#: The global options: accepted before the command name and after it. Each can also be set by
#: an environment variable, shown in --help (ADAPTER_API_URL keeps its documented name).
#: Those only a command that talks to the API uses are listed in NETWORK_OPTIONS.
GLOBAL_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--debug",), dict(is_flag=True, default=False,
                        help="Show tracebacks and HTTP exchanges (never the key).")),
    (("--no-color",), dict(is_flag=True, default=False,
                           help="No colour (also: NO_COLOR, TERM=dumb; FORCE_COLOR forces it).")),
    (("--api-url",), dict(envvar=["ADAPTER_API_URL", "ADAPTER_SYNC_API_URL"],
                          default=DEFAULT_API_URL, show_default=True,
                          help="API base URL; 'sandbox:' or 'sandbox:PATH' runs the emulator "
                          "in-process.")),
    (("--max-attempts",), dict(type=click.IntRange(1, 100), default=8, show_default=True,
                               help="Attempts per API call (retries on 429, 5xx and network "
                               "errors).")),
    (("--deadline",), dict(type=Number(1, 3600), default=120.0, show_default=True,
                           help="Seconds one API call may take, retries included.")),
    (("--max-rps",), dict(type=Number(0.1, 10000), default=None,
                          help="Pace requests to at most this many per second.")),
    (("--rate-share",), dict(type=Number(0, 1, min_open=True), default=1.0,
                             show_default=True, metavar="FRACTION",
                             help="Use at most this share of the rate limit the API announces "
                             "(leave the rest to other integrations on the same key).")),
    (("--allow-http",), dict(multiple=True, metavar="HOST",
                             help="Allow plain http:// to HOST (repeatable), e.g. a sandbox "
                             "reached by its service name in CI. Only loopback is allowed "
                             "without it.")),
    (("--backoff-base",), dict(type=Number(0, 60), default=0.5, hidden=True,
                               envvar="ADAPTER_SYNC_BACKOFF_BASE",
                               help="Seconds of the first retry backoff (for tests).")),
)


#: Global options only commands that reach the API use: validate, schema and show accept them
#: (a script may pass them to every command) but do not list them in their --help.
NETWORK_OPTIONS = frozenset({"--api-url", "--max-attempts", "--deadline", "--max-rps",
                             "--rate-share", "--allow-http", "--backoff-base"})


def _global_options(group: bool, network: bool = True) -> Callable[[Any], Any]:
    """The global options as decorators: on the group with their defaults and environment
    variables; on a command with no default (given there, they override the group's), showing
    the group's variable. ``network=False``: a command that reaches no API (the network
    options are accepted, not listed)."""

    def decorate(f: Any) -> Any:
        for decls, kwargs in reversed(GLOBAL_OPTIONS):
            if group:
                f = click.option(*decls, cls=_Option, **kwargs)(f)
                continue
            local = {k: v for k, v in kwargs.items()
                     if k in ("type", "is_flag", "help", "hidden", "multiple", "metavar")}
            if not network and decls[0] in NETWORK_OPTIONS:
                local["hidden"] = True
            shown = kwargs.get("envvar") or envvar_name(ENV_PREFIX, click.Option(decls))
            f = click.option(*decls, cls=_Option, default=None, expose_value=False,
                             allow_from_autoenv=False, callback=_override,
                             shown_envvars=[shown] if isinstance(shown, str) else shown,
                             **local)(f)
        return f

    return decorate


def _override(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    context = ctx.find_object(Context)
    if value is not None and value is not False and value != () and param.name and context:
        context.set(**{param.name: value})
    return value


def option(*decls: str, **kwargs: Any) -> Callable[[Any], Any]:
    """A command option whose environment variable (ADAPTER_SYNC_<COMMAND>_<OPTION>, see
    :class:`_Option`) is shown in --help."""
    return click.option(*decls, cls=_Option, **kwargs)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100,
                               "auto_envvar_prefix": ENV_PREFIX})
@click.version_option(__version__, "--version", prog_name="adapter-sync")
@_global_options(group=True)
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Manage Adapter custom connectors as code.

    Connectors are declared in YAML; validate checks them offline, plan shows what would
    change, apply makes the live state match, import writes YAML for what exists already.
    The API key is read from ADAPTER_API_KEY. Global options may also follow the command
    name, and every option can be set by the environment variable shown in its help.
    """
    key = read_key()  # the one read of ADAPTER_API_KEY
    if os.environ.get("ADAPTER_SYNC_DEBUG") == "1":
        options["debug"] = True
    ctx.ensure_object(Context).start(key, **options)


paths_argument = click.argument("paths", nargs=-1, type=click.Path(dir_okay=True, file_okay=True))


@cli.command()
@_global_options(group=False, network=False)
@paths_argument
@click.pass_obj
def validate(context: Context, paths: Sequence[str]) -> int:
    """Check config files offline: YAML pitfalls and the JSON Schema.

    PATHS are files or folders (every *.yaml / *.yml below, sorted). With none:
    ./connectors.yaml if it exists, else ./connectors/.
    """
    desired = context.engine().validate(paths)
    warned = _policy_warnings(desired)
    n, f = len(desired.connectors), len(desired.files)
    line = f"OK: {n} connector{'s' * (n != 1)} in {f} file{'s' * (f != 1)} valid."
    if warned:
        line += f" {warned} policy warning{'s' * (warned != 1)}."
    inactive = sorted(c.source_name for c in desired.connectors.values() if not c.active)
    if inactive:
        shown = ", ".join(inactive[:10]) + (f" and {len(inactive) - 10} more"
                                            if len(inactive) > 10 else "")
        line += (f" {len(inactive)} declared active: false ({_one_line(shown)}): plan "
                 "deactivates them where live and active, never creates them.")
    click.echo(line)
    return 0


def _use_color(stream: TextIO | None = None) -> bool:
    """Colour when writing to a terminal, unless --no-color, NO_COLOR or TERM=dumb say no;
    FORCE_COLOR asks for it anywhere."""
    if _context().no_color or "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return (stream or sys.stdout).isatty()


format_option = option(
    "--format", "format", type=click.Choice(["text", "markdown", "json"]), default="text",
    show_default=True, help="Output format; with json, stdout carries only the JSON document.",
)
prune_option = option(
    "--prune", is_flag=True, help="Deactivate live connectors that are not declared (or set prune: true)."
)


def _selection_options(f: Any) -> Any:
    f = option("--exclude", multiple=True, metavar="GLOB",
               help="Leave out source_names matching GLOB (repeatable).")(f)
    return option("--include", multiple=True, metavar="GLOB",
                  help="Only source_names matching GLOB (repeatable; default: all).")(f)


full_plan_at_option = option(
    "--full-plan-at", metavar="TEXT",
    help="Where the whole plan is, for the note of a Markdown plan too long to show whole "
    "(e.g. \"the workflow artifact `adapter-sync-plan-staging`\"). Default: the saved plan "
    "(--out), else how to save it.")


def _selection(include: Sequence[str], exclude: Sequence[str]) -> Selection:
    from adapter_sync.engine import select

    return select(include, exclude)


@cli.command()
@_global_options(group=False)
@paths_argument
@format_option
@prune_option
@_selection_options
@option("--base", metavar="BASE",
        help="Compare with this base config (a file or folder, or a git revision holding the "
        "same paths): each action is this config's change or drift already live.")
@option("--out", "out", type=click.Path(dir_okay=False, writable=True),
        help="Also save the plan to FILE, for 'apply --plan FILE' and 'show FILE'.")
@option("--detailed-exitcode", is_flag=True,
        help="Exit 0 when there are no changes, 2 when there are, 1 on error.")
@full_plan_at_option
@click.pass_obj
def plan(context: Context, paths: Sequence[str], format: str, prune: bool,
         include: Sequence[str], exclude: Sequence[str], base: str | None, out: str | None,
         detailed_exitcode: bool, full_plan_at: str | None) -> int:
    """Show what apply would change. Reads the API; never writes to it."""
    if out == "-":  # never a file named '-'; the document on stdout is --format json
        raise AdapterSyncError("--out needs a file; for the plan document on stdout use "
                               "--format json")
    engine = context.engine()
    planned = engine.plan(paths, prune=prune, selection=_selection(include, exclude),
                          base=base)
    if planned.desired is not None:
        if out and any(os.path.realpath(out) == os.path.realpath(f)
                       for f in planned.desired.files):
            raise AdapterSyncError(f"--out {out}: that is a config file this plan read; "
                                   "save the plan elsewhere (e.g. plan.json)")
        _policy_warnings(planned.desired)
    colour = _use_color()
    # color=: click would strip the codes off a non-terminal even when FORCE_COLOR asked
    click.echo(engine.render(planned.plan, format, color=colour,  # type: ignore[arg-type]
                             full_plan_at=full_plan_at, plan_file=out), nl=False, color=colour)
    if out:
        engine.save_plan(out, planned.plan)
        click.echo(f"Plan saved to {out}; run 'adapter-sync apply --plan {out}' to apply it.",
                   err=True)
    return 2 if detailed_exitcode and planned.plan.has_changes else 0


@cli.command()
@_global_options(group=False, network=False)
@click.argument("plan_file", metavar="PLANFILE", type=click.Path(dir_okay=False, exists=True))
@format_option
@full_plan_at_option
@click.pass_obj
def show(context: Context, plan_file: str, format: str, full_plan_at: str | None) -> int:
    """Show a saved plan exactly as 'plan' showed it. Reads no API."""
    engine = context.engine()
    colour = _use_color()
    click.echo(engine.render(engine.load_plan(plan_file), format,  # type: ignore[arg-type]
                             color=colour, full_plan_at=full_plan_at, plan_file=plan_file),
               nl=False, color=colour)
    return 0


@cli.command()
@_global_options(group=False, network=False)
@click.pass_obj
def schema(context: Context) -> int:
    """Print the config's JSON Schema (for editors: no clone needed)."""
    click.echo(context.engine().config_schema(), nl=False)
    return 0


def _ascii_only() -> bool:
    """Whether stdout cannot encode the result markers (e.g. a cp1252 console)."""
    try:
        "✓✗".encode(getattr(sys.stdout, "encoding", None) or "ascii")
    except (LookupError, UnicodeEncodeError):
        return True
    return False


class _ApplyDisplay:
    """The command side of an apply: the plan, the prompt, the live report (see
    :mod:`adapter_sync.progress`), and the stop event: set by a signal or when stdout's reader
    goes away, said on stderr as it happens."""

    def __init__(self, engine: Engine, stop: Stop, confirm: bool, output_format: str,
                 heartbeat: float) -> None:
        from adapter_sync.progress import ApplyReporter

        self.engine, self.stop = engine, stop
        self.confirm, self.output_format = confirm, output_format
        self._said_stopping = False
        self.human = sys.stderr if output_format == "json" else sys.stdout  # JSON owns stdout
        self.reporter = ApplyReporter(
            out=sys.stdout, err=sys.stderr, fmt="json" if output_format == "json" else "text",
            tty=sys.stderr.isatty() and output_format != "json", ascii=_ascii_only(),
            heartbeat=heartbeat, redact=engine.redact,  # the ticker's thread has no click context
            on_out_gone=self.out_gone)

    def show_plan(self, plan: Plan) -> None:
        colour = _use_color(self.human)
        text = self.engine.render(plan, "text", color=colour)
        try:
            click.echo(text, nl=False, file=self.human, color=colour)
        except BrokenPipeError:
            self.reporter.out_gone = True
            self.out_gone()

    def approve(self, plan: Plan) -> bool:
        if not self.confirm:
            self._begin(plan)
            return True
        if not sys.stdin.isatty():
            raise AdapterSyncError(
                "refusing to apply without confirmation: no terminal to ask on; "
                "pass --auto-approve (or apply a saved plan with --plan)"
            )
        if click.confirm("Apply these changes?", default=False, err=self.output_format == "json"):
            self._begin(plan)
            return True
        click.echo("Nothing applied.", file=self.human)
        return False

    def _begin(self, plan: Plan) -> None:
        self.reporter.plan(plan)
        self.reporter.start()

    def progress(self, outcome: Outcome) -> None:
        self.reporter.outcome(outcome)

    def wait(self, event: WaitEvent) -> None:
        self.reporter.wait(event)

    def interrupted(self, why: str) -> None:
        """Stop (a signal, stdout's reader gone): start no new action; say so once."""
        if not self.stop.is_set():
            self.stop.set(why)
            self._say_stopping(why)

    def stopping(self, why: str) -> None:
        """The engine skipped a first action (e.g. ``--max-duration`` reached): say so, once."""
        self._say_stopping(why)

    def _say_stopping(self, why: str) -> None:
        if not self._said_stopping:
            self._said_stopping = True
            self.reporter.note(f"{why}: finishing the calls in flight, starting no new ones...")

    def out_gone(self) -> None:
        """stdout's reader went away: nothing more goes there (not even at exit), and the
        apply stops as it does on Ctrl-C; the report goes to stderr."""
        _stdout_to_devnull()
        self.interrupted("stdout's reader went away")

    def report(self, result: Result) -> None:
        self.reporter.close()
        text = self.engine.render_result(result, color=_use_color(self.human),
                                         ascii=_ascii_only(), streamed=True)
        self.reporter.summary(result, text)


def _stdout_to_devnull() -> None:
    """Point stdout's file descriptor at /dev/null: what is still buffered, and anything
    written later, is dropped instead of raising BrokenPipeError (at exit too)."""
    with suppress(OSError, ValueError, AttributeError):
        import io

        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        except io.UnsupportedOperation:  # not a real file (a test's capture)
            pass
        finally:
            os.close(devnull)


#: Signals that stop an apply gracefully: Ctrl-C, and SIGTERM (timeout, docker stop,
#: Kubernetes, CI cancellation).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _stop_on_signals(display: _ApplyDisplay) -> Iterator[None]:
    """Ctrl-C or SIGTERM stop the apply (``display.interrupted``): no new calls start, those
    waiting for their turn are not sent, those in flight finish. A second signal stops
    waiting (the engine then reports what finished). Signal handlers only in the main
    thread; restored afterwards."""
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt  # the second one: stop waiting
        display.interrupted("Ctrl-C" if signum == signal.SIGINT
                            else signal.Signals(signum).name)

    main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS} if main_thread else {}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@cli.command()
@_global_options(group=False)
@paths_argument
@prune_option
@option("--plan", "plan_file", type=click.Path(dir_okay=False, exists=True),
              help="Apply exactly this saved plan (refused if stale). PATHS are ignored.")
@option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@option("--force", is_flag=True, help="Allow a mass deactivation the safety check refuses.")
@option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="API calls in flight at once.")
@option("--format", "format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: newline-delimited JSON events on stdout (the "
              "plan, a result for every action, waits, heartbeats, then a summary; "
              "docs/events.md); human text goes to stderr.")
@option("--max-duration", type=Number(min=0, min_open=True), default=None,
              metavar="SECONDS", help="After this long, start no new actions and send none "
              "still waiting (e.g. for the rate limit), finish those in flight, report, exit 1 "
              "if any was left (a re-run continues).")
@option("--heartbeat", type=Number(min=0.1), default=10.0, hidden=True,
              envvar="ADAPTER_SYNC_HEARTBEAT",
              help="Seconds of silence before a heartbeat line off a terminal.")
@option("--summary-out", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
        help="At the end (done, failed or stopped), write what apply did as Markdown to FILE "
        "(e.g. for $GITHUB_STEP_SUMMARY): the counts, the failed and skipped actions.")
@_selection_options
@click.pass_obj
def apply(context: Context, paths: Sequence[str], prune: bool, plan_file: str | None,
          auto_approve: bool, force: bool, concurrency: int, format: str,
          max_duration: float | None, heartbeat: float, summary_out: str | None,
          include: Sequence[str], exclude: Sequence[str]) -> int:
    """Make the live state match the config: create, update, reactivate, deactivate.

    Each done action is printed as it finishes, and each failure once, in the final report;
    off a terminal a heartbeat line shows progress at least every 10 s, and waits of a
    second or more (retries, rate limits) are shown.
    """
    from adapter_sync.engine import Hooks, stop_event

    if plan_file and paths:
        _echo_err(f"Warning: PATHS are ignored with --plan: {plan_file} is applied as saved.")
    if plan_file and (include or exclude):
        _echo_err("Warning: --include/--exclude are ignored with --plan: the saved plan keeps "
                  "the selection it was made with.")
    if plan_file and prune:
        _echo_err("Warning: --prune is ignored with --plan: the saved plan keeps the "
                  "deactivations it was made with.")
    engine = context.engine(concurrency)
    display = _ApplyDisplay(engine, stop_event(), confirm=not (plan_file or auto_approve),
                            output_format=format, heartbeat=heartbeat)
    context.wait_sink = display.wait
    try:
        with _stop_on_signals(display):
            applied = engine.apply(
                paths, plan_file=plan_file, prune=prune, force=force,
                selection=None if plan_file else _selection(include, exclude),
                max_duration=max_duration,
                hooks=Hooks(show_plan=display.show_plan, approve=display.approve,
                            progress=display.progress, stop=display.stop,
                            stopping=display.stopping))
    finally:
        display.reporter.close()
        context.wait_sink = None
    if not applied.approved:
        return 1
    if applied.result is None:
        return 1 if display.reporter.out_gone else 0
    display.report(applied.result)
    if summary_out:
        engine.write_result_markdown(summary_out, applied.result)
    return 0 if applied.result.ok and not display.reporter.out_gone else 1

@cli.command("import")
@_global_options(group=False)
@option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
        help="Write to FILE instead of stdout ('-': stdout).")
@option("--split", "split_dir", type=click.Path(file_okay=False),
              help="Write one file per connector into DIR.")
@option("--include-inactive", is_flag=True, help="Also import inactive connectors (as active: false).")
@option("--force", is_flag=True, help="Overwrite existing files.")
@option("--policy-from", "policy_from", multiple=True, metavar="CONFIG",
        type=click.Path(dir_okay=True, file_okay=True),
        help="Warn about written connectors breaking the policy of this config (file or "
        "folder; repeatable). Default: ./connectors.yaml or ./connectors/ when present.")
@_selection_options
@click.pass_obj
def import_(context: Context, output: str | None, split_dir: str | None,
            include_inactive: bool, force: bool, policy_from: Sequence[str],
            include: Sequence[str], exclude: Sequence[str]) -> int:
    """Write YAML for connectors that already exist, to adopt them.

    A live connector a config could not declare (a source_name that is not a slug, too many
    metadata keys, an unknown kind, ...) is left out with a warning saying why, so the file
    always validates. A selection (--include/--exclude) that leaves nothing to import is an
    error (exit 1) and writes nothing.
    """
    if output and split_dir:
        raise click.UsageError("--output and --split cannot be used together")
    if split_dir == "-":  # a folder of files can't be stdout: never a folder named '-'
        raise AdapterSyncError("--split needs a folder, and '-' is none: use -o - to write "
                               "one file to stdout")
    if output == "-":
        output = None  # stdout, as Unix tools read '-'
    imported = context.engine().import_(output=output, split_dir=split_dir,
                                        include_inactive=include_inactive, force=force,
                                        selection=_selection(include, exclude),
                                        policy_from=policy_from)
    for message in imported.left_out + imported.policy_warnings:
        _echo_err(f"Warning: {_one_line(message)}")
    n = imported.connectors
    if split_dir:
        _echo_err(f"Wrote {len(imported.written)} file(s) to {split_dir}.")
    elif output:
        _echo_err(f"Wrote {n} connector{'s' * (n != 1)} to {output}.")
    else:
        click.echo(imported.text, nl=False)
    return 0


@cli.group()
def sandbox() -> None:
    """The Adapter API emulator, for demos and tests."""


@sandbox.command("serve")
@option("--host", default="127.0.0.1", show_default=True)
@option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True)
@option("--db", default=None, help="SQLite file holding the state "
              "[default: .adapter-sync/sandbox.db].")
@option("--latency", type=Number(min=0), default=0.0, help="Seconds added to every request.")
@option("--error-rate", type=Number(0, 1), default=0.0, help="Share of 5xx answers.")
@option("--rate-limit-rate", type=Number(0, 1), default=0.0,
              help="Share of 429 answers (with Retry-After).")
@option("--drop-rate", type=Number(0, 1), default=0.0,
              help="Share of writes committed, then answered by a dropped connection.")
@option("--seed", type=int, default=None, help="Seed for the fault dice.")
@option("--rate-limit", type=click.Choice(["fixed_window", "token_bucket"]), default=None,
              help="A real rate limiter (X-RateLimit-* on every answer, 429 over the limit).")
@option("--rate-limit-requests", type=click.IntRange(min=1), default=60, show_default=True,
              help="Requests per window (fixed window) or bucket size (token bucket).")
@option("--rate-limit-window", type=Number(min=0, min_open=True), default=60.0,
              show_default=True, help="Window seconds (the bucket refills this fast).")
@option("--retry-after-style", default="seconds", show_default=True,
              type=click.Choice(["seconds", "fractional", "zero", "date", "none"]),
              help="How a 429 says Retry-After (none: no header).")
@option("--reset-style", type=click.Choice(["epoch", "none"]), default="epoch",
              show_default=True, help="X-RateLimit-Reset as epoch seconds, or left out.")
@option("--clock-offset", type=float, default=0.0, show_default=True,
              help="Seconds the server's clock is ahead (negative: behind) of this machine's.")
@option("--shared-usage", type=Number(0, 1), default=0.0, show_default=True,
              help="Share of the budget other integrations on the same key spend.")
def sandbox_serve(host: str, port: int, db: str | None, **faults: Any) -> int:
    """Serve the sandbox over HTTP until Ctrl-C or SIGTERM."""
    from adapter_sync.engine import serve_sandbox

    serve_sandbox(host=host, port=port, db=db, **faults)
    return 0


@sandbox.command("reset")
@click.argument("path", required=False, metavar="[PATH]")
@click.pass_obj
def sandbox_reset(context: Context, path: str | None) -> int:
    """Empty the sandbox's state: remove every connector.

    PATH (or sandbox:PATH) is the state file; without it, the one --api-url (or
    ADAPTER_API_URL) names when it is a sandbox: URL, else the per-user file that
    --api-url sandbox: uses. A missing file is left missing; a file that is not a sandbox
    database is refused, untouched.
    """
    from adapter_sync.engine import SANDBOX_SCHEME, reset_sandbox

    if path is None and context.api_url.startswith(SANDBOX_SCHEME):
        path = context.api_url
    db, held = reset_sandbox(path)
    if held is None:
        click.echo(f"Sandbox state {db} does not exist: nothing to reset.")
    else:
        click.echo(f"Sandbox reset: removed {held} connector{'s' * (held != 1)} from {db}.")
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
    context = Context()  # the group fills it in: here it outlives the command, for the errors

    def say(message: str) -> None:
        click.echo(context.error_redactor()(message), err=True)

    try:
        code = cli.main(args=args, prog_name="adapter-sync", standalone_mode=False,
                        obj=context)
    except click.exceptions.Exit as exc:  # --version, --help
        code = exc.exit_code
    except click.exceptions.Abort:
        say("Aborted.")
        code = 1
    except click.ClickException as exc:  # usage errors: 1, never click's 2
        import io

        shown = io.StringIO()
        exc.show(file=shown)
        click.echo(context.error_redactor()(shown.getvalue()), err=True, nl=False)
        code = 1
    except KeyboardInterrupt:
        say("Interrupted.")
        code = 1
    except BrokenPipeError:  # stdout's reader went away: nothing more to say there
        _stdout_to_devnull()
        say("Stopped: stdout closed (its reader went away).")
        code = 1
    except ConfigError as exc:
        _github_annotations(exc, context.error_redactor())
        if exc.warnings:  # every violation listed, the warnings too
            _github_annotations(ConfigError(exc.warnings), context.error_redactor(), "warning")
            for problem in exc.warnings:
                say(f"Warning: {_one_line(str(problem))}")
        for problem in exc.problems:
            say(_one_line(str(problem)))
        n = len(exc.problems)
        say(f"{n} error{'s' * (n != 1)} found.")
        code = 1
    except AdapterSyncError as exc:
        if context.debug:
            import traceback

            say("".join(traceback.format_exception(exc)))
        say(f"Error: {_one_line(str(exc))}")
        code = 1
    except Exception as exc:  # a bug: one line unless --debug
        if context.debug:
            import traceback

            say("".join(traceback.format_exception(exc)))
        say(f"Error: unexpected {type(exc).__name__}: {_one_line(str(exc))} "
            "(run with --debug for details)")
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
