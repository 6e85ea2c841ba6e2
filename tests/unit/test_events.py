"""The apply's typed events (one JSON object and one line each) and the live display that
writes them: every event validated against schemas/events.schema.json."""

from __future__ import annotations

import io
import json
import time

import pytest

from adapter_sync.events import (
    FORMAT_VERSION,
    HeartbeatEvent,
    PlanEvent,
    ResultEvent,
    SummaryEvent,
    WaitEvent,
    clock_time,
    encode,
)
from adapter_sync.model import Action, Outcome, Result
from adapter_sync.pacing import WaitEvent as Notice
from adapter_sync.progress import ApplyReporter
from adapter_sync.render import render_result
from adapter_sync.secrets import Redactor
from ndjson import check, events

KEY = "pk_live_ü_0123456789abcdef"  # non-ASCII: the JSON spells it \u00fc


def _action(name: str, kind: str = "create") -> Action:
    """A create of ``name``, or an update (renamed live)."""
    from adapter_sync.model import Desired, DesiredConnector, Live, LiveConnector
    from adapter_sync.planner import plan

    live = [LiveConnector(f"id-{name}", name, "old")] if kind == "update" else []
    desired = Desired(connectors={name: DesiredConnector(source_name=name, name="New")})
    (action,) = plan(desired, Live.from_list(live)).actions
    assert action.kind == kind
    return action


def _result() -> Result:
    return Result((Outcome(_action("a"), "done", "", "id-a"),
                   Outcome(_action("b", "update"), "done"),
                   Outcome(_action("c"), "failed", "API error 422: name: too long"),
                   Outcome(_action("d"), "skipped", "not started: SIGTERM"),
                   Outcome(_action("e"), "skipped", "not started: SIGTERM"),
                   Outcome(_action("f"), "skipped", "not sent: SIGTERM while it waited")),
                  interrupted=True, stopped="SIGTERM")


def test_every_event_type_gives_json_the_schema_accepts_and_one_line() -> None:
    until = time.time() + 1.5
    samples = [
        PlanEvent(3, {"create": 2, "deactivate": 1}),
        ResultEvent.of(Outcome(_action("a"), "done", "", "id-a")),
        ResultEvent.of(Outcome(_action("b"), "skipped", "not started: the apply halted")),
        WaitEvent("rate_limit", 1.5, until, "list connectors", 1, ""),
        HeartbeatEvent(1, 0, 3, 12.0, 1, until),
        SummaryEvent.of(_result()),
    ]
    for event in samples:
        data = check(json.loads(encode(event)))
        assert data["type"] == event.type and data["format_version"] == FORMAT_VERSION
        assert "\n" not in encode(event) and encode(event).isascii()
        assert event.line() and "\n" not in event.line()
    assert samples[0].line() == "Applying 3 actions: 2 to create, 1 to deactivate."
    assert samples[2].line() == "- skipped create b: not started: the apply halted"
    assert samples[5].line() == "Apply interrupted: 2 done, 1 failed, 3 skipped."


def test_a_wait_is_data_and_its_one_line_says_each_part_once() -> None:
    until = time.time() + 1.5
    wait = WaitEvent("rate_limit", 1.5, until, "list connectors", 1, "")
    assert wait.line() == (f"waiting 1.5s for the rate limit (until {clock_time(until)}): "
                           "list connectors")
    retry = WaitEvent("retry", 2.0, until, "create 'acme'", 3, "server error (503: busy)")
    assert retry.line() == ("retrying in 2.0s (attempt 3): create 'acme': "
                            "server error (503: busy)")
    data = check(retry.to_json())
    assert (data["what"], data["message"], data["attempt"]) == (
        "create 'acme'", "server error (503: busy)", 3)


def test_the_summary_counts_what_the_result_holds() -> None:
    summary = SummaryEvent.of(_result()).to_json()
    assert (summary["done"], summary["failed"], summary["skipped"]) == (2, 1, 3)
    assert summary["interrupted"] is True and summary["stopped"] == "SIGTERM"
    other = Result((Outcome(_action("a"), "skipped", "x"),))
    assert (SummaryEvent.of(other).done, SummaryEvent.of(other).skipped) == (0, 1)


def _reporter(fmt: str = "json", **kw) -> tuple[ApplyReporter, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return ApplyReporter(out=out, err=err, fmt=fmt, **kw), out, err  # type: ignore[arg-type]


def _apply(reporter: ApplyReporter, result: Result) -> None:
    from adapter_sync.model import Plan

    reporter.plan(Plan(tuple(o.action for o in result.outcomes)))
    for outcome in result.outcomes:
        reporter.outcome(outcome)
    reporter.summary(result, render_result(result, include_done=False))


def test_the_ndjson_stream_has_one_result_per_action_and_a_summary_that_counts_them() -> None:
    reporter, out, err = _reporter()
    reporter.wait(Notice("rate_limit", 2.0, time.time() + 2, "create 'a'", 1, ""))
    _apply(reporter, _result())
    stream = events(out.getvalue())
    assert [e["type"] for e in stream] == ["wait", "plan"] + ["result"] * 6 + ["summary"]
    assert [e["status"] for e in stream if e["type"] == "result"].count("skipped") == 3
    assert stream[-1]["done"] == 2 and stream[-1]["skipped"] == 3 and stream[-1]["failed"] == 1
    assert "Apply interrupted: 2 done, 1 failed, 3 skipped." in err.getvalue()


def test_redaction_reaches_every_event_in_every_spelling() -> None:
    reporter, out, err = _reporter(redact=Redactor([KEY]))
    result = Result((Outcome(_action("a"), "failed", f"echoed the key {KEY}"),))
    reporter.wait(Notice("retry", 1.0, time.time() + 1, "create 'a'", 2, f"said {KEY}"))
    _apply(reporter, result)
    text = out.getvalue()
    assert json.dumps(KEY)[1:-1] not in text and KEY not in text  # \u00fc spelled too
    assert text.count("***") == 2 and KEY not in err.getvalue()
    events(text)


def test_a_text_apply_streams_done_lines_and_says_each_failure_once_under_a_heading() -> None:
    reporter, out, err = _reporter("text")
    _apply(reporter, _result())
    text = out.getvalue()
    assert text.count("failed create c") == 1
    assert text.index("Failed (1):") < text.index("✗ failed create c: API error 422")
    assert text.count("✓ created a") == 1
    assert "Stopped early (SIGTERM): 3 actions not started." in text


def test_a_wait_line_off_json_is_the_events_line_and_one_hold_is_said_once() -> None:
    reporter, out, err = _reporter("text")
    until = time.time() + 3
    reporter.wait(Notice("rate_limit", 3.0, until, "create 'a'", 1, ""))
    reporter.wait(Notice("rate_limit", 2.9, until, "create 'b'", 1, ""))  # the same hold
    lines = err.getvalue().splitlines()
    assert lines == [f"waiting 3.0s for the rate limit (until {clock_time(until)}): create 'a'"]


class _Gone(io.StringIO):
    """A stdout whose reader went away after ``keep`` writes."""

    def __init__(self, keep: int) -> None:
        super().__init__()
        self.keep = keep

    def write(self, text: str) -> int:
        if self.keep <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.keep -= 1
        return super().write(text)


def test_when_stdouts_reader_goes_away_the_display_says_so_once_and_reports_on_stderr() -> None:
    out, err = _Gone(keep=2), io.StringIO()
    gone: list[bool] = []
    reporter = ApplyReporter(out=out, err=err, fmt="json",  # type: ignore[arg-type]
                             on_out_gone=lambda: gone.append(True))
    _apply(reporter, _result())
    assert gone == [True] and reporter.out_gone
    assert len(events(out.getvalue())) == 2  # what was written before is whole
    assert "Apply interrupted: 2 done, 1 failed, 3 skipped." in err.getvalue()
    reporter, err = ApplyReporter(out=_Gone(keep=0), err=io.StringIO(), fmt="text"), None
    _apply(reporter, _result())  # text mode: the report goes to stderr instead
    assert "Apply interrupted" in reporter.err.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("held", [None, 1.0])
def test_heartbeats_validate_and_say_the_hold(held: float | None) -> None:
    until = None if held is None else time.time() + 60
    beat = HeartbeatEvent(3, 1, 10, 30.0, 0, until)
    check(beat.to_json())
    assert beat.line().startswith("still applying: 4/10 done, 1 failed, 30s elapsed")
    assert ("waiting for the rate limit until" in beat.line()) == (held is not None)


def test_the_schema_is_valid_shipped_and_every_key_is_documented() -> None:
    from pathlib import Path

    from jsonschema import Draft7Validator

    from adapter_sync import events as events_module
    from adapter_sync.schemafiles import load

    schema = load(events_module.SCHEMA)
    Draft7Validator.check_schema(schema)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    for name, definition in schema["definitions"].items():
        for key in definition.get("properties", {}):
            assert f"`{key}`" in docs, (name, key)
        if "properties" in definition:
            assert f"| `{name}` |" in docs, name
    assert f'"{FORMAT_VERSION}"' in docs
