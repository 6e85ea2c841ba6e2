"""The workflow of every command, in one place: adapter-sync's Python API.

Like octoDNS's ``Manager.sync``, the :class:`Engine` holds the whole flow::

    config (or a saved plan) ─▶ fetch live ─▶ plan ─▶ stale check ─▶ safety ─▶ approve ─▶ apply

and is the one place a ``sandbox:`` URL becomes an in-process transport. Each method runs one
event loop with one API client. The safety checks live here, not in the CLI, so every caller
gets them: a plan that would deactivate too much is refused unless ``force=True``, and one
that would deactivate a protected connector is refused even then.

The engine has no side effects on the process: it prints nothing, installs no signal handler
and leaves the garbage collector alone. It talks back through :class:`Hooks` (show the plan,
ask for approval, report each outcome, a stop event), which the CLI, or a platform team's own
tooling, provides::

    from adapter_sync.api import Engine, Hooks, Settings, read_key

    engine = Engine(Settings(api_url="https://api.adapter.com/v1", api_key=read_key()))
    planned = engine.plan(["connectors/"])
    print(engine.render(planned.plan, "text"))
    applied = engine.apply(["connectors/"], hooks=Hooks(approve=lambda plan: True))
    assert applied.result is None or applied.result.ok

Every failure a user can cause is an :class:`~adapter_sync.errors.AdapterSyncError`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from adapter_sync.errors import AdapterSyncError, ProtectedError, SafetyError
from adapter_sync.secrets import ApiKey, Redactor

if TYPE_CHECKING:
    import threading

    import httpx

    # The public types, named by callers from here (``as``: re-exported for type checkers).
    from adapter_sync.applier import Stop as Stop
    from adapter_sync.client import AdapterClient as AdapterClient
    from adapter_sync.client import WaitEvent as WaitEvent
    from adapter_sync.model import Desired as Desired
    from adapter_sync.model import Live as Live
    from adapter_sync.model import LiveConnector as LiveConnector
    from adapter_sync.model import Outcome as Outcome
    from adapter_sync.model import Plan as Plan
    from adapter_sync.model import PolicyFinding as PolicyFinding
    from adapter_sync.model import Result as Result
    from adapter_sync.model import Selection as Selection

DEFAULT_API_URL = "https://api.adapter.com/v1"
SANDBOX_SCHEME = "sandbox:"
Format = Literal["text", "markdown", "json"]
T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """How to reach the API and how hard to push it."""

    api_url: str = DEFAULT_API_URL
    api_key: ApiKey | None = field(default=None, repr=False)
    max_attempts: int = 8
    deadline: float = 120.0
    max_rps: float | None = None
    backoff_base: float = 0.5
    concurrency: int = 4
    rate_share: float = 1.0
    #: Hosts plain http may go to besides loopback (an explicit opt-in, e.g. a CI service).
    allow_http: tuple[str, ...] = ()
    #: Seeds the retry backoff's jitter (None: unseeded): the same seed, the same waits.
    random_seed: int | None = None


@dataclass(frozen=True)
class Hooks:
    """How the engine talks back while it works (every hook is optional).

    ``show_plan(plan)``: the plan about to be applied, before any write (and before a refusal).
    ``approve(plan) -> bool``: asked once a plan with changes passed the safety check; False
    applies nothing. ``progress(outcome)``: each action's outcome as it finishes (a skipped one
    too). ``stop``: set it (e.g. from a signal handler) to start no new action and send no
    call still waiting for its turn; the calls in flight finish. A
    :class:`~adapter_sync.applier.Stop` also says why (``stop.set("SIGTERM")``), and the
    result repeats it. ``stopping(why)``: told once, when a stop or the deadline first leaves
    an action unstarted. (Waits are heard by the engine's ``on_wait``, in every command.)
    """

    show_plan: Callable[[Plan], None] | None = None
    approve: Callable[[Plan], bool] | None = None
    progress: Callable[[Outcome], None] | None = None
    stop: threading.Event | None = None
    stopping: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Planned:
    """A plan, with the declared and live states it was made from."""

    plan: Plan
    live: Live
    desired: Desired | None = None


@dataclass(frozen=True)
class Applied:
    """What ``apply`` did. ``result`` is None when nothing ran: no changes, or not approved."""

    plan: Plan
    result: Result | None
    approved: bool = True


@dataclass(frozen=True)
class Imported:
    """What ``import`` produced: the YAML text (one file or stdout), or the files written, how
    many connectors they declare, why any live connector was left out, and the policy rules
    those written break."""

    text: str | None = None
    written: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()
    connectors: int = 0  # how many connectors the YAML declares
    #: One line per way a connector written breaks a rule of the config's policy.
    policy_warnings: tuple[str, ...] = ()


class Engine:
    """Runs validate, plan, apply and import against one API (see the module docstring)."""

    def __init__(self, settings: Settings | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 redactor: Redactor | None = None,
                 on_wait: Callable[[WaitEvent], None] | None = None,
                 on_sandbox: Callable[[str], None] | None = None) -> None:
        """``transport`` replaces the network (tests); ``redactor`` is the one every output
        goes through (by default one for ``settings.api_key``); ``on_wait`` hears of every
        wait of a second or more (a retry's backoff, a rate-limit hold), in every command;
        ``on_sandbox`` hears the state file of a ``sandbox:`` URL when a command opens it
        (only a command that reaches the API does, and only once its config is valid)."""
        self.settings = settings or Settings()
        self._transport = transport
        self.redact = redactor or Redactor([self.settings.api_key])
        self.on_wait = on_wait
        self.on_sandbox = on_sandbox

    # -- the commands ---------------------------------------------------------------------

    def validate(self, paths: Sequence[str] = ()) -> Desired:
        """Read and check the config offline; ConfigError lists every problem."""
        from adapter_sync import config

        key = self.settings.api_key
        return config.load(paths, api_key=key.reveal() if key else None)

    def plan(self, paths: Sequence[str] = (), *, prune: bool = False,
             selection: Selection | None = None, base: str | None = None) -> Planned:
        """What apply would change. Reads the API once; never writes. An invalid config sends
        no request at all. ``selection``: only the source_names it matches (one that matches
        no declared and no live connector is an error: a mistyped glob). ``base``: a config
        file or folder, or a git revision holding the same paths; each action is then labelled
        as this config's change or as drift (see :func:`~adapter_sync.planner.label_origins`).
        """
        from adapter_sync.planner import label_origins

        desired = self.validate(paths)
        base_desired = None
        if base is not None:
            from adapter_sync.base import load_base

            base_desired = load_base(base, paths, self._base_config)
        live, client = self._run(self._fetch_with_limit)
        _check_selection(selection, desired, live)
        plan = self._plan(desired, live, prune, selection)
        if base_desired is not None:
            plan = label_origins(plan, self._plan(base_desired, live, prune, selection))
        return Planned(self._finish(plan, desired, live, selection, base, client), live, desired)

    def _base_config(self, paths: Sequence[str]) -> Desired:
        """The base config of a three-way plan: its connectors; its policy is not read (it
        changes no action, and the files it names may lie outside the paths read at a git
        revision)."""
        from adapter_sync import config

        key = self.settings.api_key
        return config.load(paths, api_key=key.reveal() if key else None, check_policy=False)

    async def _fetch_with_limit(self, client: AdapterClient) -> tuple[Live, AdapterClient]:
        live = await self._fetch(client)
        return live, client  # (closed by now: only what its answers announced is read)

    def _plan(self, desired: Desired, live: Live, prune: bool,
              selection: Selection | None) -> Plan:
        from adapter_sync.planner import plan as make_plan

        return make_plan(desired, live, prune=prune or desired.prune, selection=selection)

    def _finish(self, plan: Plan, desired: Desired, live: Live, selection: Selection | None,
                base: str | None, client: AdapterClient) -> Plan:
        """``plan`` with where it comes from (:class:`Provenance`) and what applying it costs:
        its writes and, at the limit the list call's answer announced (requests a minute, as
        Adapter documents its limits) and the share of it we may use, roughly how long they
        take; and the budget it announced (remaining requests, reset time)."""
        from adapter_sync.model import Estimate, Provenance, Selection
        from adapter_sync.planfile import live_digest

        calls, limit = len(plan.actions), client.announced_limit
        estimate = Estimate(calls, remaining=client.announced_remaining,
                            reset_at=client.announced_reset_at)
        if limit:
            per_minute = limit * self.settings.rate_share
            estimate = replace(estimate, seconds=round(calls * 60.0 / per_minute, 1),
                               limit_per_minute=per_minute)
        provenance = Provenance(
            api_url=_safe_url(self.settings.api_url), selection=selection or Selection(),
            base=base, config_digest=_digest_desired(desired),
            live_digest=live_digest(live, selection, desired.ignore), ignore=desired.ignore)
        return replace(plan, provenance=provenance, estimate=estimate,
                       policy=_policy_findings(plan, desired, live, selection))

    def apply(self, paths: Sequence[str] = (), *, plan_file: str | None = None,
              prune: bool = False, force: bool = False, hooks: Hooks | None = None,
              selection: Selection | None = None,
              max_duration: float | None = None) -> Applied:
        """Make the live state match: plan from ``paths`` (or take the saved ``plan_file``,
        refused if stale), refuse a plan that deactivates a protected connector, refuse an
        unsafe plan unless ``force``, ask ``hooks.approve``, then apply. One event loop and one
        client for the whole run. ``selection``: only the source_names it matches (a saved
        plan keeps the selection it was made with; one that matches no declared and no live
        connector is an error, as in :meth:`plan`).

        The apply's lifetime is kept here: ``hooks.stop`` (a signal, the output's reader gone)
        and ``max_duration`` (seconds from this call) stop new actions from starting, and a
        call held past them (by the rate limit, or before a retry) is not sent. Stopped, the
        result is partial: every action never started or never sent is ``skipped``, saying
        why. A deadline that fires once every action finished changes nothing. Interrupted
        hard (a second signal raising KeyboardInterrupt while calls are in flight), the result
        has what finished and the rest skipped as not finished.
        """
        from adapter_sync import planfile
        from adapter_sync.applier import Lifetime, Stop, Tally

        hooks = hooks or Hooks()
        lifetime = Lifetime(hooks.stop if hooks.stop is not None else Stop(), max_duration)
        desired = None if plan_file else self.validate(paths)  # before any request
        saved = planfile.load(plan_file) if plan_file else None
        running: list[Tally] = []

        async def run(client: AdapterClient) -> Applied:
            from adapter_sync.applier import apply_plan
            from adapter_sync.model import Live
            from adapter_sync.planner import check_safety
            from adapter_sync.retry import RetryPolicy

            live = Live.from_list(await client.list_connectors())
            if saved is not None:
                planfile.check_stale(saved, live, self.settings.api_url, self.redact)
                plan = saved.plan
            else:
                assert desired is not None
                _check_selection(selection, desired, live)
                plan = self._finish(self._plan(desired, live, prune, selection), desired, live,
                                    selection, None, client)
            if hooks.show_plan is not None:
                hooks.show_plan(plan)
            if not plan.has_changes:
                return Applied(plan, None)
            from adapter_sync.render import finding_sentence

            safety = check_safety(plan, live)  # counted against live now
            if safety.blocked:  # protection: no --force overrides it
                raise ProtectedError("refusing to apply, --force or not: " + "; ".join(
                    finding_sentence(f) for f in safety.findings if f.effect == "blocked"))
            if safety.needs_force and not force:
                raise SafetyError("; ".join(finding_sentence(f) for f in safety.findings)
                                  + "; re-run with --force if this is intended")
            if hooks.approve is not None and not hooks.approve(plan):
                return Applied(plan, None, approved=False)
            s = self.settings
            backoff = partial(RetryPolicy(s.max_attempts, s.deadline, s.backoff_base).backoff,
                              rng=_rng(s.random_seed))
            client.expect_requests(len(plan.actions))  # a budget covering them is spent
            running.append(Tally(plan))
            result = await apply_plan(plan, client, concurrency=s.concurrency,
                                      progress=hooks.progress, lifetime=lifetime,
                                      tally=running[0], stopping=hooks.stopping,
                                      attempts=s.max_attempts, backoff=backoff)
            return Applied(plan, result)

        try:
            applied: Applied = self._run(run, sleep=lifetime.sleep)
        except KeyboardInterrupt:
            if not running:
                raise
            tally = running[0]
            return Applied(tally.plan, tally.unfinished(
                "not finished (stopped by a second interrupt; a re-run checks them)"))
        return applied

    def live(self) -> Live:
        """The live connectors, inactive ones included (one list call)."""
        live: Live = self._run(self._fetch)
        return live

    def import_(self, *, output: str | None = None, split_dir: str | None = None,
                include_inactive: bool = False, force: bool = False,
                selection: Selection | None = None,
                policy_from: Sequence[str] = ()) -> Imported:
        """YAML for the live connectors (those ``selection`` matches): returned as text,
        written to ``output``, or one file per connector into ``split_dir``. Existing files
        are kept unless ``force``. A connector a config could not declare is left out, with
        the reason in ``left_out`` (what is written always validates). A ``selection`` that
        leaves nothing to import is an error, and nothing is written. Each connector written is
        checked against the ``policy:`` of the config at ``policy_from`` (by default
        ``./connectors.yaml`` or ``./connectors/`` when one exists; none: no check), read
        before any request."""
        from adapter_sync import config, importer
        from adapter_sync.model import Live
        from adapter_sync.policy import live_findings

        if output and split_dir:
            raise AdapterSyncError("--output and --split cannot be used together")
        rules = config.load_policy(policy_from) if policy_from or config.default_exists() \
            else ()
        live = self.live()
        listed = len(live.connectors)
        if selection:
            selected = selection.matcher()
            live = Live({k: c for k, c in live.connectors.items() if selected(k)})
        matched = live
        # A connector holding the key: a config holding it is refused, and a masked copy would
        # plan an update of the live value to the mask.
        holding = sorted(name for name, c in live.connectors.items()
                         if (include_inactive or c.is_active) and self._holds_key(c))
        live = Live({k: c for k, c in live.connectors.items() if k not in holding})
        left_out = tuple(sorted(self.redact(m) for m in [
            *importer.left_out(live, include_inactive=include_inactive),
            *(f"{importer.quote(name)}: not imported: its name or metadata holds the API key "
              "(ADAPTER_API_KEY), which a config must never hold; it stays unmanaged"
              for name in holding)]))
        writing = importer.written(live, include_inactive)
        count = len(writing)
        if selection and not count:
            raise AdapterSyncError(self.redact(_nothing_to_import(
                selection, matched, listed, include_inactive, left_out)))
        policy_warnings = tuple(
            self.redact(f"connectors.{f.source_name}: policy ({f.severity}): {f.rule}: {f.error}")
            for f in live_findings(rules, writing))
        if split_dir:
            files = importer.split_files(live, include_inactive=include_inactive)
            written = importer.write_split(
                {name: self.redact(text) for name, text in files.items()}, split_dir,
                force=force)
            return Imported(written=tuple(written), left_out=left_out, connectors=count,
                            policy_warnings=policy_warnings)
        text = self.redact(importer.to_yaml(live, include_inactive=include_inactive))
        if output:
            importer.write_file(output, text, force=force)
            return Imported(written=(output,), left_out=left_out, connectors=count,
                            policy_warnings=policy_warnings)
        return Imported(text=text, left_out=left_out, connectors=count,
                        policy_warnings=policy_warnings)

    def _holds_key(self, connector: LiveConnector) -> bool:
        """Whether any text of ``connector`` holds the API key (in any spelling)."""
        texts = [connector.source_name, connector.name, *connector.metadata,
                 *connector.metadata.values()]
        return any(self.redact(t) != t for t in texts)

    # -- outputs --------------------------------------------------------------------------

    def render(self, plan: Plan, fmt: Format = "text", *, color: bool = False,
               full_plan_at: str | None = None, plan_file: str | None = None) -> str:
        """The plan as text, Markdown or JSON (the plan document), redacted. A Markdown plan too
        long to show whole names where the whole plan is: ``full_plan_at`` (e.g. a workflow
        artifact), else ``plan_file`` (where it is saved), else how to save one."""
        from adapter_sync import render

        if fmt == "json":  # the plan document: the bytes save_plan writes
            return self.redact(render.render_json(plan, _safe_url(self.settings.api_url)
                                                  if plan.provenance is None else None))
        if fmt == "markdown":
            return self.redact(render.render_markdown(plan, full_plan_at=full_plan_at,
                                                      plan_file=plan_file))
        return self.redact(render.render_text(plan, color=color))

    def render_result(self, result: Result, *, color: bool = False, ascii: bool = False,
                      streamed: bool = False) -> str:
        """What apply did, redacted (``ascii``: markers any console can encode; ``streamed``:
        the done lines were already shown as they happened)."""
        from adapter_sync.render import render_result

        return self.redact(render_result(result, color=color, ascii=ascii,
                                         include_done=not streamed))

    def write_result_markdown(self, path: str, result: Result) -> None:
        """What apply did as Markdown for a job summary (``apply --summary-out``), redacted,
        written to ``path`` whole or not at all."""
        from adapter_sync.atomicfile import write_atomic
        from adapter_sync.render import render_result_markdown

        write_atomic(path, self.redact(render_result_markdown(result)), overwrite=True,
                     what="the apply summary")

    def load_plan(self, path: str) -> Plan:
        """A saved plan, as saved (for ``show``): no API call, no stale check."""
        from adapter_sync import planfile

        return planfile.load(path).plan

    def config_schema(self) -> str:
        """The config's JSON Schema, as published in ``schemas/connectors.schema.json``."""
        from adapter_sync import schemafiles

        return schemafiles.path("connectors.schema.json").read_text(encoding="utf-8")

    def save_plan(self, path: str, plan: Plan) -> None:
        """Save ``plan`` for ``apply --plan`` (atomic, mode 0600, redacted, no credentials)."""
        from adapter_sync import planfile

        planfile.save(path, plan, self.settings.api_url, redact=self.redact)

    # -- wiring ---------------------------------------------------------------------------

    @property
    def sandbox_db(self) -> str | None:
        """The emulator's state file for a ``sandbox:`` URL (None for a real API): PATH made
        absolute, or the one per-user file whichever folder a command runs from."""
        url = self.settings.api_url
        if not url.startswith(SANDBOX_SCHEME):
            return None
        from adapter_sync.sandbox import inprocess

        path = url[len(SANDBOX_SCHEME):]
        return os.path.abspath(path) if path else inprocess.default_db()

    def connect(self, *, sleep: Callable[[float], Awaitable[None]] | None = None
                ) -> AdapterClient:
        """The API client for these settings: the one place ``sandbox:`` / ``sandbox:PATH``
        becomes the in-process emulator (see :attr:`sandbox_db`). ``sleep``: how its waits
        wait (apply's lifetime ends them early)."""
        from adapter_sync.client import make_client

        s = self.settings
        url, key, transport = s.api_url, s.api_key, self._transport
        if url.startswith(SANDBOX_SCHEME):
            if self.on_sandbox is not None and self.sandbox_db:
                self.on_sandbox(self.sandbox_db)  # before opening: named even if that fails
            url, transport, sandbox_key = _sandbox(url[len(SANDBOX_SCHEME):], transport)
            key = key or ApiKey(sandbox_key)
        else:
            _check_not_a_misspelt_sandbox(url)
        return make_client(url, key, max_attempts=s.max_attempts, deadline=s.deadline,
                           max_rps=s.max_rps, rate_share=s.rate_share,
                           backoff_base=s.backoff_base, transport=transport,
                           on_wait=self.on_wait, allow_http=s.allow_http,
                           rng=_rng(s.random_seed), sleep=sleep)

    async def _fetch(self, client: AdapterClient) -> Live:
        from adapter_sync.model import Live

        return Live.from_list(await client.list_connectors())

    def _run(self, work: Callable[[AdapterClient], Awaitable[T]], *,
             sleep: Callable[[float], Awaitable[None]] | None = None) -> T:
        """Run ``work(client)`` in one event loop with one client, closed afterwards."""

        import asyncio

        async def main() -> T:
            async with self.connect(sleep=sleep) as client:
                return await work(client)

        return asyncio.run(main())


def _sandbox(path: str, transport: Any) -> tuple[str, Any, str]:
    """(base URL, transport, key) of the in-process sandbox over the SQLite file ``path``."""
    import sqlite3

    from adapter_sync.sandbox import inprocess

    db = os.path.abspath(path) if path else inprocess.default_db()
    if transport is None:
        try:
            transport = inprocess.transport(db)
        except (OSError, sqlite3.Error) as exc:
            raise AdapterSyncError(f"cannot open the sandbox database {db!r}: {exc}") from None
    return inprocess.BASE_URL, transport, inprocess.SANDBOX_KEY


def _rng(seed: int | None) -> Any:
    import random

    return None if seed is None else random.Random(seed)


def _check_not_a_misspelt_sandbox(url: str) -> None:
    """Refuse ``sandbox`` (no colon), ``sanbox:`` and the like with a did-you-mean, rather
    than the client's "expected https://HOST/..."."""
    import difflib

    scheme, colon, rest = url.strip().partition(":")
    if scheme.lower() in ("http", "https") or (colon and rest.startswith("//")):
        return
    if difflib.get_close_matches(scheme.lower(), [SANDBOX_SCHEME[:-1]], n=1, cutoff=0.7):
        raise AdapterSyncError(
            f"invalid API URL {url!r}: expected https://HOST/... or the emulator "
            f"(did you mean {SANDBOX_SCHEME + rest!r}?)")


def stop_event() -> Stop:
    """A stop event for :class:`Hooks` that says why it was set (``stop.set("SIGTERM")``)."""
    from adapter_sync.applier import Stop

    return Stop()


def select(include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Selection:
    """A :class:`~adapter_sync.model.Selection` of source_name globs."""
    from adapter_sync.model import Selection

    return Selection(tuple(include), tuple(exclude))


def _given(selection: Selection) -> str:
    """The selection as the options that gave it (``--include 'svc-*' --exclude x``)."""
    import shlex

    return " ".join([*(f"--include {shlex.quote(g)}" for g in selection.include),
                     *(f"--exclude {shlex.quote(g)}" for g in selection.exclude)])


def _check_selection(selection: Selection | None, desired: Desired, live: Live) -> None:
    """Refuse a selection that matches no declared and no live connector: a mistyped glob
    would otherwise plan "No changes" and a CI deploy would pass having done nothing."""
    if not selection:
        return
    selected = selection.matcher()
    if any(selected(n) for n in desired.connectors) or any(selected(n) for n in live.connectors):
        return
    raise AdapterSyncError(
        f"{_given(selection)} matches no connector: none of the {len(desired.connectors)} "
        f"declared and none of the {len(live.connectors)} live ones (globs are "
        "case-sensitive and match the whole source_name); nothing planned")


def _nothing_to_import(selection: Selection, matched: Live, listed: int,
                       include_inactive: bool, left_out: Sequence[str]) -> str:
    """Why an import with ``selection`` has nothing to write (``matched``: what it selects of
    the ``listed`` live connectors)."""
    given = _given(selection)
    n = len(matched.connectors)
    if not n:
        return (f"nothing to import: no live connector matches {given} "
                f"({listed} live connector{'s' * (listed != 1)} listed); nothing written")
    why = []
    inactive = sum(1 for c in matched.connectors.values() if not c.is_active)
    if inactive and not include_inactive:
        why.append(f"{inactive} inactive (add --include-inactive to import them)")
    if left_out:
        why.append(f"{len(left_out)} that a config cannot declare ({'; '.join(left_out[:3])}"
                   f"{'; ...' if len(left_out) > 3 else ''})")
    return (f"nothing to import: of the {n} live connector{'s' * (n != 1)} matching {given}, "
            f"{' and '.join(why)}; nothing written")


def _safe_url(url: str) -> str:
    from adapter_sync.planfile import safe_url

    return safe_url(url)


def _digest_desired(desired: Desired) -> str:
    """A digest of what the config declares (its meaning, not its layout or file names)."""
    from adapter_sync.planfile import digest

    return digest({
        "connectors": [{**c.create_body(), "active": c.active}
                       for _, c in sorted(desired.connectors.items())],
        "prune": desired.prune, "ignore": sorted(desired.ignore),
        "protect": sorted(desired.protect),
        "safety": [desired.safety.max_deactivate_percent, desired.safety.min_active,
                   desired.safety.small_account_percent],
        "policy": [[rule.label, list(rule.match), rule.severity, rule.schema]
                   for rule in desired.policy]})


def _policy_findings(plan: Plan, desired: Desired, live: Live,
                     selection: Selection | None) -> tuple[PolicyFinding, ...]:
    """The plan's policy findings: declared connectors breaking a ``warning`` rule (found by
    the loader), and the live connectors left unmanaged (or kept by protect) that break any
    rule; within the selection, sorted by source_name."""
    if not desired.policy:
        return ()
    from adapter_sync.model import Selection
    from adapter_sync.policy import live_findings

    selected = (selection or Selection()).matcher()
    managed = tuple(f for f in desired.policy_findings if selected(f.source_name))
    names = sorted({*plan.unmanaged, *plan.protected})
    unmanaged = live_findings(desired.policy, [live.connectors[n] for n in names])
    return tuple(sorted(managed + unmanaged, key=lambda f: f.source_name))



def reset_sandbox(path: str | None = None) -> tuple[str, int | None]:
    """``adapter-sync sandbox reset``: empty the sandbox state file ``path`` (``sandbox:PATH``
    is accepted too; None, empty or ``sandbox:``: the per-user file). Returns the file and how
    many connectors it held, or None when there is no such file (nothing is created). A file
    that is not a sandbox database is refused, untouched."""
    import sqlite3

    from adapter_sync.sandbox.store import Store, default_db, is_store  # no httpx, no app

    if path and path.startswith(SANDBOX_SCHEME):
        path = path[len(SANDBOX_SCHEME):]
    db = os.path.abspath(path) if path else default_db()
    if not os.path.lexists(db):
        return db, None
    if not is_store(db):
        raise AdapterSyncError(f"{db} is not a sandbox state file (an SQLite database with "
                               "the sandbox's connectors table); nothing reset")
    try:
        store = Store(db)
        try:
            held = store.count()
            store.reset()
        finally:
            store.close()
    except (OSError, sqlite3.Error) as exc:
        raise AdapterSyncError(f"cannot reset the sandbox database {db!r}: {exc}") from None
    return db, held


def serve_sandbox(*, db: str | None = None, **options: Any) -> None:
    """``adapter-sync sandbox serve``: the emulator over HTTP until Ctrl-C or SIGTERM (state in
    the per-user sandbox state unless ``db``). ``options``: host, port and fault settings."""
    try:
        import uvicorn  # noqa: F401 - the `sandbox` extra
    except ImportError:
        raise AdapterSyncError(
            "'sandbox serve' needs uvicorn, which is in the 'sandbox' extra: "
            "pip install '.[sandbox]' from the adapter-sync checkout (the in-process "
            "--api-url sandbox: needs nothing more)") from None
    from adapter_sync.sandbox import inprocess
    from adapter_sync.sandbox.server import CannotServe, serve

    try:
        serve(db=db or inprocess.default_db(), **options)
    except CannotServe as exc:
        raise AdapterSyncError(str(exc)) from None
