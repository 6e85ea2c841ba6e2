"""What a running apply shows, as it happens (part of the command layer, beside the CLI).

It writes events (:mod:`adapter_sync.events`) and nothing else: their JSON with
``fmt="json"`` (newline-delimited on stdout, ``docs/events.md``; human text goes to stderr),
else their human lines:

- A done action's line when it finishes (stdout). Failed and skipped actions are said once,
  in the final report (under a heading), not as they happen.
- On a terminal: a live status line on stderr (the heartbeat's status), redrawn in place and
  always erased before any other line is written, so nothing is glued onto it.
- Off a terminal: a heartbeat line on stderr whenever nothing was written for ``heartbeat``
  seconds while work is pending: CI systems kill jobs that print nothing, and people cancel
  what looks hung.
- A wait of a second or more (a retry, a rate-limit hold) is one line, without ``--debug``;
  one hold is said once.

When stdout's reader goes away (``apply --format json | head -1``), nothing more is written
there, ``on_out_gone`` is called once (the command stops the apply), and the final report goes
to stderr. Outcomes arrive on the event loop's thread, waits from the client and the ticker
runs on its own thread: every write holds one lock. Everything written goes through the
redactor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TextIO

from adapter_sync.events import (
    Event,
    HeartbeatEvent,
    PlanEvent,
    ResultEvent,
    SummaryEvent,
    WaitEvent,
    encode,
)
from adapter_sync.model import Outcome, Plan, Result

Format = Literal["text", "json"]
#: Waits shorter than this are not worth a line.
WAIT_WORTH_A_LINE = 1.0
#: How often the status line is redrawn on a terminal.
REDRAW_EVERY = 0.5


def wait_line(notice: Any) -> str | None:
    """The one line for a wait worth telling (a second or more), else None. ``notice``: the
    client's :class:`~adapter_sync.pacing.WaitEvent`."""
    if notice.seconds < WAIT_WORTH_A_LINE:
        return None
    return WaitEvent.of(notice).line()


class ApplyReporter:
    """Streams one apply (see the module docstring). Use :meth:`start` and :meth:`close`."""

    def __init__(self, *, out: TextIO, err: TextIO, fmt: Format = "text", tty: bool = False,
                 ascii: bool = False, heartbeat: float = 10.0,
                 redact: Callable[[str], str] = lambda text: text,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 on_out_gone: Callable[[], None] | None = None) -> None:
        self.out, self.err, self.fmt, self.tty = out, err, fmt, tty
        self.ascii = ascii
        self.heartbeat, self.redact, self.clock, self.wall = heartbeat, redact, clock, wall
        self.on_out_gone = on_out_gone
        self.out_gone = False
        self.total = 0
        self.done = self.failed = self.skipped = 0
        self.started = clock()
        self.last_write = self.started
        self.held_until: float | None = None  # epoch: a rate-limit hold in force
        self._lock = threading.RLock()
        self._status_shown = False
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def plan(self, plan: Plan) -> None:
        """The apply is about to start with ``plan``'s actions."""
        with self._lock:
            self.total = len(plan.actions)
            self.started = self.last_write = self.clock()
            if self.fmt == "json":
                self._event(PlanEvent.of(plan))

    def start(self) -> None:
        """Start the ticker (status line or heartbeat) while work is pending."""
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="adapter-sync-progress",
                                            daemon=True)
            self._ticker.start()

    def close(self) -> None:
        """Stop the ticker and erase the status line."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        with self._lock:
            self._erase_status()

    # -- what happens ---------------------------------------------------------------------

    def outcome(self, outcome: Outcome) -> None:
        """One action finished (or was skipped): its event, or a done action's line, now."""
        with self._lock:
            if outcome.status == "failed":
                self.failed += 1
            elif outcome.status == "done":
                self.done += 1
            else:
                self.skipped += 1
            if self.held_until is not None and self.held_until <= self.wall():
                self.held_until = None
            event = ResultEvent.of(outcome)
            if self.fmt == "json":
                self._event(event)
            elif outcome.status == "done":
                self._line(self.out, event.line(ascii=self.ascii))

    def wait(self, notice: Any) -> None:
        """A call waits (the client's :class:`~adapter_sync.pacing.WaitEvent`): a retry's
        backoff or a rate-limit hold. Worth telling when a second or more, and not already
        said (one hold, many calls waiting in it: said once)."""
        with self._lock:
            if notice.reason == "rate_limit":
                until = notice.until
                if self.held_until is not None and until <= self.held_until + WAIT_WORTH_A_LINE:
                    self.held_until = max(self.held_until, until)
                    return  # the same hold, already said
                self.held_until = until
            if notice.seconds < WAIT_WORTH_A_LINE:
                return
            event = WaitEvent.of(notice)
            if self.fmt == "json":
                self._event(event)
            else:
                self._line(self.err, event.line())

    def summary(self, result: Result, text: str) -> None:
        """The end: the summary event (json) and the report ``text`` (already rendered) for
        people: on stderr with json, or when stdout's reader went away; else on stdout."""
        with self._lock:
            self._erase_status()
            if self.fmt == "json":
                self._event(SummaryEvent.of(result))
            human = self.err if self.fmt == "json" or self.out_gone else self.out
            self._write(human, self.redact(text))

    def note(self, text: str) -> None:
        """A line for people (stderr), e.g. why new actions stopped starting."""
        with self._lock:
            self._line(self.err, text)

    def heartbeat_event(self) -> HeartbeatEvent:
        """Where the apply is now (the status line's and the heartbeat's data)."""
        held = self.held_until if self.held_until is not None and \
            self.held_until > self.wall() else None
        return HeartbeatEvent(self.done, self.failed, self.total, self.clock() - self.started,
                              self.skipped, held)

    def status(self) -> str:
        """done/total, failed, elapsed, rate, ETA, and a rate-limit hold if any."""
        return self.heartbeat_event().status()

    # -- writing --------------------------------------------------------------------------

    def _event(self, event: Event) -> None:
        self._write(self.out, self.redact(encode(event)) + "\n")

    def _line(self, stream: TextIO, text: str) -> None:
        self._erase_status()
        self._write(stream, self.redact(text) + "\n")

    def _write(self, stream: TextIO, text: str) -> None:
        if stream is self.out and self.out_gone:
            return
        try:
            stream.write(text)
            stream.flush()
        except (BrokenPipeError, ValueError) as exc:  # its reader went away (or it closed)
            if stream is not self.out or isinstance(exc, ValueError) and not stream.closed:
                raise
            self.out_gone = True
            if self.on_out_gone is not None:
                self.on_out_gone()
            return
        self.last_write = self.clock()

    def _erase_status(self) -> None:
        if self._status_shown:
            self.err.write("\r\x1b[2K")
            self.err.flush()
            self._status_shown = False

    def _tick(self) -> None:
        every = REDRAW_EVERY if self.tty else min(1.0, self.heartbeat / 4)
        while not self._stop.wait(every):
            with self._lock:
                if self.total and self.done + self.failed + self.skipped >= self.total:
                    continue
                if self.tty:
                    self.err.write("\r\x1b[2K" + self.redact(self.status()))
                    self.err.flush()
                    self._status_shown = True
                elif self.clock() - self.last_write >= self.heartbeat:
                    beat = self.heartbeat_event()
                    if self.fmt == "json":
                        self._event(beat)
                    else:
                        self._line(self.err, beat.line())
