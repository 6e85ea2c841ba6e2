"""The result report: what an apply did (``Result`` -> text, and -> Markdown for a job summary,
``apply --summary-out``), and the line each finished action streams as it happens."""

from __future__ import annotations

from collections.abc import Callable

from adapter_sync.escape import clean
from adapter_sync.model import Action, Outcome, Result
from adapter_sync.render.common import (
    _BOLD,
    _GREEN,
    _RED,
    _YELLOW,
    PAST_TENSE,
    SYMBOLS,
    _Painter,
)
from adapter_sync.render.markdown import _MARKDOWN_RESERVE, _Budget, _md_table, _row, md_escape

#: Result markers, and the ASCII ones for output that cannot encode them (a cp1252 console).
MARKERS = {"done": "✓", "failed": "✗", "skipped": "-"}
ASCII_MARKERS = {"done": "+", "failed": "x", "skipped": "-"}
#: Skipped actions named in their summary line at most.
SKIPPED_NAMED = 5


def result_lines(kind: str, source_name: str, status: str, connector_id: str | None = None,
                 message: str = "", *, paint: Callable[[str, str], str] | None = None,
                 ascii: bool = False) -> list[str]:
    """One action's result as the report shows it (and as an apply streams it):
    ``✓ created name (id)`` with a note line when there is one, ``✗ failed kind name: why``,
    or ``- skipped kind name: why``."""
    paint = paint or _Painter(False)
    mark = ASCII_MARKERS if ascii else MARKERS
    name = clean(source_name)
    why = clean(message)
    if status == "failed":
        return [paint(f"{mark['failed']} failed {kind} {name}: {why or 'unknown error'}", _RED)]
    if status == "skipped":
        return [paint(f"{mark['skipped']} skipped {kind} {name}: {why or 'not started'}",
                      _YELLOW)]
    line = f"{mark['done']} {PAST_TENSE.get(kind, kind)} {name}"
    if connector_id:
        line += f" ({clean(connector_id)})"
    return [paint(line, _GREEN), *([f"    note: {why}"] if why else [])]


def outcome_lines(outcome: Outcome, *, paint: Callable[[str, str], str] | None = None,
                  ascii: bool = False) -> list[str]:
    """:func:`result_lines` of an apply's outcome."""
    action = outcome.action
    return result_lines(action.kind, action.source_name, outcome.status,
                        outcome.connector_id or action.connector_id, outcome.message,
                        paint=paint, ascii=ascii)


def result_heading(done: int, failed: int, skipped: int, *, interrupted: bool = False,
                   halted: bool = False) -> str:
    """``Apply complete: 4 done, 0 failed, 0 skipped.`` (``interrupted``/``stopped``)."""
    word = "interrupted" if interrupted else "stopped" if halted else "complete"
    return f"Apply {word}: {done} done, {failed} failed, {skipped} skipped."


def render_result(result: Result, *, color: bool = False, ascii: bool = False,
                  include_done: bool = True) -> str:
    """What apply did: one line per done action (unless ``include_done`` is false: they were
    shown as they happened), the failed actions once, under a ``Failed (N):`` heading, one line
    per reason summing up the skipped ones, the final count, and why it stopped early and how
    to finish (nothing when rerunning would not help)."""
    paint = _Painter(color)
    mark = ASCII_MARKERS if ascii else MARKERS
    lines: list[str] = []
    failed: list[str] = []
    skipped: dict[str, list[Action]] = {}
    for outcome in result.outcomes:
        if outcome.status == "skipped":
            skipped.setdefault(clean(outcome.message) or "not started", []).append(outcome.action)
        elif outcome.status == "failed":
            failed += outcome_lines(outcome, paint=paint, ascii=ascii)
        elif include_done:
            lines += outcome_lines(outcome, paint=paint, ascii=ascii)
    if failed:
        lines.append(paint(f"Failed ({result.count('failed')}):", _BOLD))
        lines += failed
    for why, actions in skipped.items():
        named = ", ".join(f"{a.kind} {clean(a.source_name)}" for a in actions[:SKIPPED_NAMED])
        if len(actions) > SKIPPED_NAMED:
            named += f" and {len(actions) - SKIPPED_NAMED} more"
        noun = "action" if len(actions) == 1 else "actions"
        lines.append(paint(f"{mark['skipped']} skipped {len(actions)} {noun}: {why} ({named})",
                           _YELLOW))
    done, n_failed, n_skipped = (result.count(s) for s in ("done", "failed", "skipped"))
    final = result_heading(done, n_failed, n_skipped, interrupted=result.interrupted,
                           halted=result.halted is not None)
    lines.append(paint(final, _BOLD if result.ok else _RED))
    again = ("Run 'adapter-sync apply' again to finish the job: it plans afresh and does only "
             "what is still needed (a saved plan is now stale; make a new one).")
    if result.halted:
        lines.append(f"Stopped because every other write would be refused too: "
                     f"{clean(result.halted)}")
    elif result.interrupted and result.stopped:
        lines.append(f"Stopped early ({clean(result.stopped)}): {n_skipped} action"
                     f"{'s' * (n_skipped != 1)} not started. {again}")
    elif not result.ok:
        lines.append(again)
    return "\n".join(lines) + "\n"


#: The apply's Markdown report stays under this many characters (with the Markdown plan, under
#: 65,000, a job summary stays well inside GitHub's 1 MiB per step).
RESULT_MARKDOWN_LIMIT = 200_000


def render_result_markdown(result: Result) -> str:
    """What apply did, for ``$GITHUB_STEP_SUMMARY`` (``apply --summary-out``): a heading with
    the outcome and the counts, then the failed and the skipped actions, each with why (the
    done ones are the plan, already shown). Under :data:`RESULT_MARKDOWN_LIMIT` characters:
    what does not fit is counted."""
    done, failed, skipped = (result.count(s) for s in ("done", "failed", "skipped"))
    word = ("interrupted" if result.interrupted else "stopped" if result.halted
            else "succeeded" if result.ok else "FAILED")
    lines = [f"### Apply {word}", "",
             f"**{done} done, {failed} failed, {skipped} skipped** of {len(result.outcomes)}."]
    if result.halted:
        lines += ["", f"Stopped because every other write would be refused too: "
                      f"{md_escape(clean(result.halted))}"]
    elif not result.ok:
        lines += ["", "Run the apply again to finish the job: it plans afresh and does only what "
                      "is still needed (a saved plan is now stale; make a new one)."]
    budget = _Budget(RESULT_MARKDOWN_LIMIT - _MARKDOWN_RESERVE)
    budget.add(lines)
    for status, title in (("failed", "Failed"), ("skipped", "Skipped")):
        outcomes = [o for o in result.outcomes if o.status == status]
        if not outcomes:
            continue
        head = ["", f"#### {title} ({len(outcomes)})", "", *_md_table(["Action", "Connector",
                                                                      "Why"])]
        if budget.left_out or not budget.add(head):
            budget.left_out += len(outcomes)
            continue
        for number, outcome in enumerate(outcomes):
            action = outcome.action
            row = _row([f"{SYMBOLS[action.kind]} {action.kind}", md_escape(clean(
                action.source_name)), md_escape(clean(outcome.message)) or "—"])
            if not budget.add([row]):
                budget.left_out += len(outcomes) - number
                break
    if budget.left_out:
        budget.close(["", f"> [!NOTE]\n> **{budget.left_out} more not shown here**: the "
                          "apply's output (the job log) lists every result."])
    return "\n".join(budget.lines) + "\n"
