"""What a running apply shows, as it happens (part of the command layer, beside the CLI).

- One line per finished action, written and flushed when it finishes (stdout).
- On a terminal: a live status line on stderr (done/total, failed, elapsed, rate, ETA, and
  "waiting for the rate limit until HH:MM:SS" while held), redrawn in place and always erased
  before any other line is written, so nothing is glued onto it.
- Off a terminal: a heartbeat line on stderr whenever nothing was written for ``heartbeat``
  seconds while work is pending, with the same content: CI systems kill jobs that print
  nothing, and people cancel what looks hung.
- A wait of a second or more (a retry, a rate-limit hold) is one line, without ``--debug``.
- With ``fmt="json"``: newline-delimited JSON events on stdout instead (``docs/events.md``),
  one object per line, each with a ``type``; human text goes to stderr.

Outcomes arrive on the event loop's thread, waits from the client and the ticker runs on its
own thread: every write holds one lock. Everything written goes through the redactor.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TextIO

from adapter_sync.escape import clean
from adapter_sync.model import Outcome, Plan, Result
from adapter_sync.render import outcome_lines

Format = Literal["text", "json"]
#: Waits shorter than this are not worth a line.
WAIT_WORTH_A_LINE = 1.0
#: How often the status line is redrawn on a terminal.
REDRAW_EVERY = 0.5


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _clock_time(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def wait_line(reason: str, seconds: float, until: float, what: str = "",
              message: str = "") -> str | None:
    """One line for a wait worth telling (a second or more), else None."""
    if seconds < WAIT_WORTH_A_LINE:
        return None
    if reason == "rate_limit":
        text = f"waiting {seconds:.1f}s for the rate limit (until {_clock_time(until)})"
    else:
        text = f"retrying in {seconds:.1f}s"
    if what:
        text += f": {what}"
    if message:
        text += f" ({message})"
    return clean(text)


class ApplyReporter:
    """Streams one apply (see the module docstring). Use :meth:`start` and :meth:`close`."""

    def __init__(self, *, out: TextIO, err: TextIO, fmt: Format = "text", tty: bool = False,
                 ascii: bool = False, heartbeat: float = 10.0,
                 redact: Callable[[str], str] = lambda text: text,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.out, self.err, self.fmt, self.tty = out, err, fmt, tty
        self.ascii = ascii
        self.heartbeat, self.redact, self.clock, self.wall = heartbeat, redact, clock, wall
        self.total = 0
        self.done = self.failed = 0
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
                self._event({"type": "plan", "actions": self.total, "summary": plan.summary})

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
        """One action finished: its line (or event), now."""
        with self._lock:
            if outcome.status == "failed":
                self.failed += 1
            elif outcome.status == "done":
                self.done += 1
            self.held_until = None if self.held_until and self.held_until <= self.wall() \
                else self.held_until
            if self.fmt == "json":
                self._event(self.result_event(outcome))
            else:
                self._line(self.out, self.result_line(outcome))

    def wait(self, reason: str, seconds: float, until: float, what: str = "",
             message: str = "") -> None:
        """A call waits ``seconds`` (until the epoch time ``until``): a retry's backoff or a
        rate-limit hold. Worth a line when a second or more, and not already announced."""
        with self._lock:
            if reason == "rate_limit":
                if self.held_until is not None and until <= self.held_until + WAIT_WORTH_A_LINE:
                    self.held_until = max(self.held_until, until)
                    return  # the same hold, already said
                self.held_until = until
            if seconds < WAIT_WORTH_A_LINE:
                return
            if self.fmt == "json":
                self._event({"type": "wait", "reason": reason, "seconds": round(seconds, 3),
                             "until": round(until, 3), "what": what, "message": message})
                return
            line = wait_line(reason, seconds, until, what, message)
            if line:
                self._line(self.err, line)

    def summary(self, result: Result, text: str) -> None:
        """The end: the summary event (json) or the summary ``text`` (already rendered)."""
        with self._lock:
            self._erase_status()
            if self.fmt == "json":
                self._event({"type": "summary", "done": result.count("done"),
                             "failed": result.count("failed"),
                             "skipped": result.count("skipped"),
                             "interrupted": result.interrupted, "halted": result.halted})
                self.err.write(self.redact(text))
                self.err.flush()
            else:
                self.out.write(self.redact(text))
                self.out.flush()

    def note(self, text: str) -> None:
        """A line for people (stderr), e.g. why new actions stopped starting."""
        with self._lock:
            self._line(self.err, text)

    # -- lines and events -----------------------------------------------------------------

    def result_line(self, outcome: Outcome) -> str:
        """The line(s) the result report uses for a done or failed action."""
        return "\n".join(outcome_lines(outcome, ascii=self.ascii))

    @staticmethod
    def result_event(outcome: Outcome) -> dict[str, Any]:
        action = outcome.action
        return {"type": "result", "action": action.kind, "source_name": action.source_name,
                "status": outcome.status,
                "connector_id": outcome.connector_id or action.connector_id,
                "message": outcome.message}

    def status(self) -> str:
        """done/total, failed, elapsed, rate, ETA, and a rate-limit hold if any."""
        elapsed = self.clock() - self.started
        finished = self.done + self.failed
        text = f"applying: {finished}/{self.total} done, {self.failed} failed, " \
               f"{_duration(elapsed)} elapsed"
        if finished and elapsed > 0:
            rate = finished / elapsed
            text += f", {rate:.1f}/s, ETA {_duration((self.total - finished) / rate)}"
        if self.held_until is not None and self.held_until > self.wall():
            text += f", waiting for the rate limit until {_clock_time(self.held_until)}"
        return text

    def _event(self, event: dict[str, Any]) -> None:
        self.out.write(self.redact(json.dumps(event)) + "\n")
        self.out.flush()
        self.last_write = self.clock()

    def _line(self, stream: TextIO, text: str) -> None:
        self._erase_status()
        stream.write(self.redact(text) + "\n")
        stream.flush()
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
                if self.total and self.done + self.failed >= self.total:
                    continue
                if self.tty:
                    self.err.write("\r\x1b[2K" + self.redact(self.status()))
                    self.err.flush()
                    self._status_shown = True
                elif self.clock() - self.last_write >= self.heartbeat:
                    if self.fmt == "json":
                        self._event({"type": "heartbeat", "done": self.done,
                                     "failed": self.failed, "total": self.total,
                                     "elapsed": round(self.clock() - self.started, 1)})
                    else:
                        self._line(self.err, "still " + self.status())
