"""apply --summary-out's Markdown report (#17) and the Markdown plan's pointer to the whole plan
(--full-plan-at): what a job summary shows after an apply, and where a cut plan sends readers."""

from __future__ import annotations

import re

from test_render import create

from adapter_sync.model import Outcome, Plan, Result
from adapter_sync.render import RESULT_MARKDOWN_LIMIT, render_markdown, render_result_markdown


def outcomes(n: int, status: str, message: str = "") -> tuple[Outcome, ...]:
    return tuple(Outcome(create(f"{status}-{i:05d}", f"N {i}"), status, message)  # type: ignore[arg-type]
                 for i in range(n))


def test_a_clean_apply_is_a_heading_and_its_counts() -> None:
    md = render_result_markdown(Result(outcomes(3, "done")))
    assert md == "### Apply succeeded\n\n**3 done, 0 failed, 0 skipped** of 3.\n"


def test_failed_and_skipped_actions_are_listed_with_why_never_the_plan_again() -> None:
    result = Result(outcomes(2, "done") + outcomes(1, "failed", "HTTP 422: name | too long")
                    + outcomes(2, "skipped", "not started (interrupted)"), interrupted=True)
    md = render_result_markdown(result)
    assert md.startswith("### Apply interrupted\n\n**2 done, 1 failed, 2 skipped** of 5.")
    assert "#### Failed (1)" in md and "| + create | failed-00000 | HTTP 422: name &#124; too long |" in md
    assert "#### Skipped (2)" in md and md.count("not started (interrupted)") == 2
    assert "done-00000" not in md  # the done actions are the plan, shown already
    assert "Run the apply again" in md


def test_a_halted_apply_says_why_it_stopped() -> None:
    md = render_result_markdown(Result(outcomes(1, "failed", "401"), halted="the key was refused"))
    assert md.startswith("### Apply stopped") and "the key was refused" in md


def test_the_report_is_bounded_and_counts_what_it_leaves_out() -> None:
    result = Result(outcomes(3000, "failed", "x" * 100) + outcomes(3000, "skipped", "y" * 100))
    md = render_result_markdown(result)
    assert len(md) < RESULT_MARKDOWN_LIMIT
    shown = len(re.findall(r"^\| \+ create \| (failed|skipped)-", md, re.MULTILINE))
    left_out = int(re.search(r"\*\*(\d+) more not shown here\*\*", md)[1])
    assert shown + left_out == 6000 and shown > 1000


def big_plan() -> Plan:
    return Plan(actions=tuple(create(f"svc-{i:05d}", f"Service {i} " + "z" * 40, ("email",))
                              for i in range(6000)))


def test_a_cut_markdown_plan_names_where_the_whole_plan_is() -> None:
    md = render_markdown(big_plan(), full_plan_at="the workflow artifact `adapter-sync-plan-prod`")
    note = md[md.index("not shown here"):]
    assert "the whole plan is in the workflow artifact `adapter-sync-plan-prod`" in note
    assert "job summary" not in md


def test_without_a_place_the_note_says_how_to_save_the_whole_plan() -> None:
    md = render_markdown(big_plan())
    note = md[md.index("not shown here"):]
    assert "`adapter-sync plan --out FILE`" in note and "`adapter-sync show FILE`" in note
    assert "job summary" not in md


def test_apply_summary_out_writes_the_report(tmp_path) -> None:
    from clirun import run

    config = tmp_path / "c.yaml"
    config.write_text("version: 1\nconnectors:\n  a-one:\n    name: A\n    accepted_kinds: [email]\n")
    report = tmp_path / "report.md"
    result = run(["--api-url", f"sandbox:{tmp_path / 's.db'}", "apply", "--auto-approve",
                  "--summary-out", str(report), str(config)], env={"ADAPTER_API_KEY": None})
    assert result.code == 0, result.err
    assert report.read_text() == "### Apply succeeded\n\n**1 done, 0 failed, 0 skipped** of 1.\n"
