"""Renderers: golden files for what a user sees, plus the checks a golden file cannot make.

Regenerate the golden files after an intended change with::

    UPDATE_GOLDEN=1 PYTHONPATH=src pytest tests/unit/test_render.py

then review the diff of tests/golden/ like any other change.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from adapter_sync import __version__
from adapter_sync.diff import change
from adapter_sync.model import (
    Action,
    Cause,
    DesiredConnector,
    Finding,
    LiveConnector,
    Outcome,
    Plan,
    Result,
    Safety,
    SafetyRules,
)
from adapter_sync.render import (
    render_json,
    render_markdown,
    render_result,
    render_text,
)

GOLDEN = Path(__file__).parents[1] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- plans built by hand --------------------------------------------------------------------


def live(source_name: str, n: int, **fields) -> LiveConnector:
    return LiveConnector(connector_id=f"c0ffee{n:02d}-0000-4000-8000-00000000000{n % 10}",
                         source_name=source_name, name=fields.pop("name", source_name.title()),
                         **fields)


def create(source_name: str, name: str, kinds=(), metadata=None) -> Action:
    return Action("create", source_name, None, {
        "name": change("name", None, name),
        "accepted_kinds": change("accepted_kinds", None, sorted(kinds)),
        "metadata": change("metadata", None, dict(sorted((metadata or {}).items()))),
    }, desired=DesiredConnector(source_name, name, frozenset(kinds), metadata or {}))


def update(have: LiveConnector, kind="update", cause=None, **changes: tuple) -> Action:
    return Action(kind, have.source_name, have.connector_id,
                  {f: change(f, *c) for f, c in changes.items()}, live=have, cause=cause)


def deactivate(have: LiveConnector, cause: Cause) -> Action:
    return update(have, "deactivate", cause, is_active=(True, False))


EMPTY = Plan(live_active=3)
EMPTY_UNMANAGED = Plan(unmanaged=("legacy-pager", "other-team"), live_active=5)

_crm = live("acme-crm", 1, name="Old", accepted_kinds=frozenset({"email", "page"}),
            metadata={"owner": "ana", "tier": "gold", "old": "x"})
_bugs = live("bug-tracker", 2, is_active=False)
_wiki = live("wiki", 3)
_legacy = live("zz-legacy", 4)
MIXED = Plan(
    actions=(
        update(_crm, name=("Old", "Acme CRM"), accepted_kinds=(["email", "page"], []),
               metadata=({"old": "x", "owner": "ana", "tier": "gold"},
                         {"owner": "bo", "team": "crm", "tier": "gold"})),
        update(_bugs, "reactivate", name=("Bug-Tracker", "Bug tracker"), is_active=(False, True)),
        create("new-hook", "New hook", kinds=["issue", "message"], metadata={"team": "ops"}),
        deactivate(_wiki, Cause.DECLARED_INACTIVE),
        deactivate(_legacy, Cause.PRUNED),
    ),
    unmanaged=(),
    live_active=4,
    prune=True,
)
UPDATE_AND_UNMANAGED = Plan(
    actions=(update(_crm, accepted_kinds=(["email", "page"], ["email"])),),
    unmanaged=("other-team",),
    live_active=2,
)
_evil = live("evil", 5, name="a|b`c`<script>alert(1)</script>",
             metadata={"note": "", "ping": "@octo-org/admins"})
HOSTILE = Plan(
    actions=(
        create("café", "Café ☕ | `rm -rf` <b>bold</b>", metadata={"empty": "", "sp": "  "}),
        update(_evil,
               name=("a|b`c`<script>alert(1)</script>", "line1\nline2\x1b[31mred"),
               metadata=({"note": "", "ping": "@octo-org/admins"},
                         {"note": "[x](javascript:alert(1))", "ping": "@octo-org/admins",
                          "we|rd key": "**$x$**"})),
    ),
    unmanaged=("<img src=x onerror=alert(1)>",),
    live_active=1,
)
LONG = Plan(
    actions=tuple(create(f"hook-{i:02d}", f"Hook {i}") for i in range(22))
    + (deactivate(live("old", 9), Cause.DECLARED_INACTIVE),),
    unmanaged=tuple(f"stray-{i:02d}" for i in range(21)),
    live_active=22,
)

PLANS = {
    "empty": EMPTY,
    "empty_unmanaged": EMPTY_UNMANAGED,
    "mixed": MIXED,
    "update_unmanaged": UPDATE_AND_UNMANAGED,
    "hostile": HOSTILE,
    "long": LONG,
}

_done = Outcome(create("new-hook", "New hook"), "done", connector_id="c0ffee77-new")
RESULTS = {
    "result_ok": Result((
        _done,
        Outcome(MIXED.actions[0], "done"),
        Outcome(MIXED.actions[1], "done"),
        Outcome(MIXED.actions[3], "done"),
    )),
    "result_mixed": Result((
        Outcome(create("lost", "Lost"), "done", "adopted the existing connector after a lost "
                "response (no duplicate created)", "c0ffee88-adopted"),
        Outcome(MIXED.actions[0], "failed", "API error 422: name: too long"),
        Outcome(MIXED.actions[3], "skipped", "not started: interrupted"),
    ), interrupted=True),
}


# --- golden files ---------------------------------------------------------------------------


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="")
        return
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs from its golden file (UPDATE_GOLDEN=1 rewrites it)"


@pytest.mark.parametrize("name", PLANS)
def test_text_golden(name: str) -> None:
    check_golden(f"{name}.txt", render_text(PLANS[name]))


@pytest.mark.parametrize("name", PLANS)
def test_markdown_golden(name: str) -> None:
    check_golden(f"{name}.md", render_markdown(PLANS[name]))


@pytest.mark.parametrize("name", PLANS)
def test_json_golden(name: str) -> None:
    check_golden(f"{name}.json", render_json(PLANS[name]))


@pytest.mark.parametrize("name", RESULTS)
def test_result_golden(name: str) -> None:
    check_golden(f"{name}.txt", render_result(RESULTS[name]))


def test_color_golden() -> None:
    check_golden("mixed.color.txt", render_text(MIXED, color=True))


# --- text -----------------------------------------------------------------------------------


def test_text_shows_each_action_kind_with_its_symbol_and_the_summary() -> None:
    out = render_text(MIXED)
    assert "~ update acme-crm (c0ffee01-" in out
    assert "^ reactivate bug-tracker (c0ffee02-" in out
    assert "+ create new-hook\n" in out
    assert "- deactivate wiki (c0ffee03-0000-4000-8000-000000000003): declared active: false" in out
    assert "- deactivate zz-legacy" in out and "not declared (prune)" in out
    assert out.endswith("Plan: 1 to create, 1 to update, 1 to reactivate, 2 to deactivate.\n")


def test_text_field_diffs_read_naturally() -> None:
    out = render_text(MIXED)
    assert '    name: "Old" -> "Acme CRM"' in out
    assert "    accepted_kinds: [email, page] -> [all kinds]" in out
    assert '      + team: "crm"' in out
    assert '      - old: "x"' in out
    assert '      ~ owner: "ana" -> "bo"' in out
    assert "tier" not in out  # unchanged keys are not noise
    assert "    is_active: false -> true" in out


def test_text_empty_plan_and_unmanaged() -> None:
    assert render_text(EMPTY) == "No changes. Live state matches the configuration.\n"
    out = render_text(EMPTY_UNMANAGED)
    assert "Unmanaged (not declared, left untouched): legacy-pager, other-team" in out
    assert out.endswith("No changes. Live state matches the configuration.\n")


def test_text_has_no_ansi_unless_asked_and_same_words_with_colour() -> None:
    plain = render_text(MIXED)
    coloured = render_text(MIXED, color=True)
    assert "\x1b" not in plain
    assert "\x1b[32m" in coloured and "\x1b[31m" in coloured and "\x1b[33m" in coloured
    assert ANSI.sub("", coloured) == plain


def test_text_neutralises_terminal_escapes_and_shows_empty_strings() -> None:
    out = render_text(HOSTILE)
    assert "\x1b" not in out
    assert "\\u001b[31mred" in out and "line1\\nline2" in out
    assert '+ empty: ""' in out and '+ sp: "  "' in out
    assert "Café ☕" in out  # unicode stays readable


# --- Markdown -------------------------------------------------------------------------------


def _table_rows(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("|")]


def _cells(row: str) -> int:
    """Cells as a GFM table parser splits them: on every | not escaped by a backslash."""
    return len(re.split(r"(?<!\\)\|", row)) - 2


def test_markdown_hostile_values_cannot_break_tables_or_inject_html() -> None:
    md = render_markdown(HOSTILE)
    for table in md.split("\n\n"):
        rows = _table_rows(table)
        if rows:
            assert len({_cells(r) for r in rows}) == 1, table
    assert "<script" not in md and "<img" not in md and "<b>" not in md
    assert "`" not in md
    assert "@octo-org" not in md  # no accidental team mention in a PR comment
    assert "](javascript:" not in md
    assert "\x1b" not in md


def test_without_a_base_no_action_is_called_drift() -> None:
    for render in (render_text, render_markdown):
        assert "drift" not in render(MIXED).lower()
    assert all(a["origin"] is None for a in json.loads(render_json(MIXED))["actions"])


def test_with_a_base_changes_come_first_and_drift_has_its_own_section() -> None:
    labelled = replace(MIXED, actions=tuple(
        replace(a, origin="drift" if a.source_name in ("acme-crm", "wiki") else "change")
        for a in MIXED.actions), drift_resolved=("hand-fixed",))
    text = render_text(labelled)
    drift_at = text.index("Drift: the live state differs from the configuration already merged")
    assert text.index("+ create new-hook") < drift_at < text.index("~ update acme-crm")
    assert text.index("^ reactivate bug-tracker") < drift_at < text.index("- deactivate wiki")
    assert "Drift resolved by this change (live kept as it is): hand-fixed" in text
    md = render_markdown(labelled)
    changes_at, drift_at = md.index("### Changes from this configuration (3)"), md.index(
        "### Drift (2)")
    assert changes_at < md.index("new-hook") < drift_at < md.index("acme-crm")
    assert "### Drift resolved (1)" in md and "- hand-fixed" in md
    doc = json.loads(render_json(labelled))
    assert {a["source_name"]: a["origin"] for a in doc["actions"]} == {
        "acme-crm": "drift", "bug-tracker": "change", "new-hook": "change", "wiki": "drift",
        "zz-legacy": "change"}
    assert doc["drift_resolved"] == ["hand-fixed"]


SHARE = Finding("deactivate_share", "needs_force", (), {
    "deactivating": 2, "live_active": 4, "percent": 50.0, "max_deactivate_percent": 30.0,
    "min_active": 3})


def test_a_plan_that_needs_force_says_so_in_every_format() -> None:
    unsafe = replace(MIXED, safety=Safety((SHARE,), SafetyRules(30.0, 3)))
    assert "Warning: apply will refuse this plan without --force: refusing to deactivate 2 " \
        "of 4 active connectors (50%): more than 30% when 3 or more are active" \
        in render_text(unsafe)
    md = render_markdown(unsafe)
    assert md.index("> [!CAUTION]") < md.index("| Action | Connectors |")  # first
    assert "without `--force`:** refusing to deactivate 2 of 4" in md
    doc = json.loads(render_json(unsafe))
    assert doc["safety"] == {
        "needs_force": True, "blocked": False,
        "rules": {"max_deactivate_percent": 30.0, "min_active": 3,
                  "small_account_percent": 50.0},
        "findings": [{"code": "deactivate_share", "effect": "needs_force", "subjects": [],
                      "numbers": dict(SHARE.numbers)}]}
    safe = json.loads(render_json(MIXED))["safety"]
    assert safe["needs_force"] is False and safe["blocked"] is False and safe["findings"] == []


def test_a_blocked_deactivation_reads_blocked_in_every_format() -> None:
    blocked = replace(MIXED, safety=Safety((Finding("protected_inactive", "blocked",
                                                    ("wiki",)),)))
    assert "Blocked: apply will refuse this plan, --force or not: wiki is protected" \
        in render_text(blocked)
    assert "**Blocked, `--force` or not:** wiki is protected" in render_markdown(blocked)
    safety = json.loads(render_json(blocked))["safety"]
    assert safety["blocked"] is True and safety["needs_force"] is False
    assert safety["findings"] == [{"code": "protected_inactive", "effect": "blocked",
                                   "subjects": ["wiki"], "numbers": {}}]


def test_markdown_deactivate_row_shows_every_field_change() -> None:
    renamed = update(_wiki, "deactivate", Cause.DECLARED_INACTIVE, name=("Wiki", "Old wiki"),
                     accepted_kinds=(["page"], ["email", "page"]), is_active=(True, False))
    md = render_markdown(Plan((renamed,), live_active=2))
    (row,) = [line for line in md.splitlines() if line.startswith("| wiki |")]
    assert "declared active: false" in row
    assert 'name: &#34;Wiki&#34; → &#34;Old wiki&#34;' in row or '"Wiki"' in row
    assert "accepted_kinds: page → email, page (+email)" in row
    assert "is_active: true → false" in row


def test_markdown_puts_deactivations_before_other_actions_and_folds_details() -> None:
    md = render_markdown(MIXED)
    assert md.index("### - Deactivate (2)") < md.index("<details><summary>+ Create (1)")
    assert md.index("<details><summary>+ Create") < md.index("<details><summary>~ Update")
    assert "zz-legacy" in md.split("<details>")[0]  # deactivations in view


@pytest.mark.slow
def test_markdown_stays_under_the_comment_limit_and_counts_what_it_leaves_out() -> None:
    from adapter_sync.render import MARKDOWN_LIMIT

    huge = Plan(tuple(update(live(f"c-{i:05d}", i), name=(f"Old {i}", "x" * 40 + f" {i}"),
                             metadata=({"k": "v"}, {"k": "w", "team": "t"}))
                      for i in range(20_000)))
    md = render_markdown(huge)
    assert len(md) < MARKDOWN_LIMIT
    shown = md.count("| c-")
    note = re.search(r"\*\*(\d+) more actions not shown here\*\*", md)
    assert note and shown + int(note.group(1)) == 20_000
    assert "the job summary" not in md
    assert "`adapter-sync plan --out FILE`" in md and "`adapter-sync show FILE`" in md
    assert md.count("<details>") == md.count("</details>")
    saved = render_markdown(huge, plan_file="plan.json")
    assert "the saved plan `plan.json` (`adapter-sync show plan.json`)" in saved


def test_markdown_empty_plan_lists_unmanaged() -> None:
    md = render_markdown(EMPTY_UNMANAGED)
    assert "**No changes.**" in md
    assert "- legacy-pager\n- other-team" in md
    assert "|" not in md


# --- JSON -----------------------------------------------------------------------------------


def test_json_has_exactly_the_documented_shape() -> None:
    doc = json.loads(render_json(UPDATE_AND_UNMANAGED))
    assert doc == {
        "format_version": "2.0",
        "kind": "adapter-sync-plan",
        "tool_version": __version__,
        "summary": {"create": 0, "update": 1, "reactivate": 0, "deactivate": 0, "total": 1},
        "has_changes": True,
        "actions": [{
            "action": "update",
            "source_name": "acme-crm",
            "connector_id": _crm.connector_id,
            "cause": None,
            "origin": None,
            "changes": {"accepted_kinds": {
                "before": ["email", "page"], "after": ["email"],
                "details": [{"op": "-", "key": "page", "before": "page", "after": None}]}},
            "live": {**_crm.to_api()},
            "desired": None,
        }],
        "unmanaged": ["other-team"],
        "protected": [],
        "drift_resolved": [],
        "live_active": 2,
        "prune": False,
        "safety": {"needs_force": False, "blocked": False,
                   "rules": {"max_deactivate_percent": 30.0, "min_active": 10,
                             "small_account_percent": 50.0},
                   "findings": []},
        "policy": [],
        "estimate": None,
        "provenance": None,
    }
    assert list(doc)[:4] == ["format_version", "kind", "tool_version", "summary"]


def test_json_is_compact_ascii_from_the_c_encoder() -> None:
    text = render_json(HOSTILE)
    assert "\n" not in text[:-1] and ", " not in text.replace('", "', "") and text.isascii()
    assert text == json.dumps(json.loads(text), separators=(",", ":")) + "\n"


def test_json_creates_have_null_id_and_fields_in_display_order() -> None:
    doc = json.loads(render_json(MIXED))
    assert [a["action"] for a in doc["actions"]] == [
        "update", "reactivate", "create", "deactivate", "deactivate"]
    new = doc["actions"][2]
    assert new["connector_id"] is None
    assert list(new["changes"]) == ["name", "accepted_kinds", "metadata"]
    assert new["changes"]["name"] == {"before": None, "after": "New hook", "details": []}
    assert list(doc["actions"][0]["changes"]) == ["name", "accepted_kinds", "metadata"]
    assert render_json(MIXED).endswith("}\n")


def test_json_empty_plan() -> None:
    doc = json.loads(render_json(EMPTY))
    assert doc["format_version"] == "2.0" and doc["actions"] == [] and doc["unmanaged"] == []
    assert doc["summary"] == {"create": 0, "update": 0, "reactivate": 0, "deactivate": 0,
                              "total": 0}
    assert doc["has_changes"] is False


def test_equal_plans_render_identically_whatever_the_dict_order() -> None:
    a = Plan((update(_crm, metadata=({"b": "1", "a": "2"}, {"a": "3", "b": "1"})),))
    b = Plan((update(_crm, metadata=({"a": "2", "b": "1"}, {"b": "1", "a": "3"})),))
    assert a == b
    for render in (render_text, render_markdown, render_json):
        assert render(a) == render(b)


# --- apply result ---------------------------------------------------------------------------


def test_result_lines_counts_and_rerun_hint() -> None:
    out = render_result(RESULTS["result_mixed"])
    assert "✓ created lost (c0ffee88-adopted)" in out
    assert "note: adopted the existing connector after a lost response" in out
    assert "✗ failed update acme-crm: API error 422: name: too long" in out
    assert "- skipped 1 action: not started: interrupted (deactivate wiki)" in out
    assert "Apply interrupted: 1 done, 1 failed, 1 skipped." in out
    assert "apply' again" in out


def test_skipped_actions_are_summed_up_in_one_line() -> None:
    many = Result(tuple(Outcome(create(f"c-{i:03d}", "C"), "skipped", "interrupted before it "
                                "started") for i in range(300)), interrupted=True)
    out = render_result(many)
    assert out.count("skipped") == 2  # the summary line and the final count
    assert ("- skipped 300 actions: interrupted before it started (create c-000, create c-001, "
            "create c-002, create c-003, create c-004 and 295 more)") in out


def test_a_halted_apply_names_the_reason_once_and_does_not_advise_a_rerun() -> None:
    why = "create 'a': permission denied (HTTP 403): the API key lacks connectors:write"
    halted = Result((Outcome(create("a", "A"), "failed", why),
                     Outcome(create("b", "B"), "skipped", "not started")), halted=why)
    out = render_result(halted)
    assert out.count("connectors:write") == 2  # the failed line and the reason, once
    assert "Apply stopped: 0 done, 1 failed, 1 skipped." in out and "again" not in out


def test_ascii_markers_for_output_that_cannot_encode_the_symbols() -> None:
    out = render_result(RESULTS["result_mixed"], ascii=True)
    out.encode("cp1252")  # would raise on ✓ or ✗
    assert "+ created lost" in out and "x failed update acme-crm" in out


def test_result_all_done_has_no_hint() -> None:
    out = render_result(RESULTS["result_ok"])
    assert out.endswith("Apply complete: 4 done, 0 failed, 0 skipped.\n")
    assert "again" not in out and "✗" not in out


# --- import cost ----------------------------------------------------------------------------


def test_render_import_pulls_in_nothing_heavy() -> None:
    code = ("import sys, adapter_sync.render; "
            "print(sorted(m for m in ('deepdiff', 'httpx', 'click', 'yaml') "
            "if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert out.strip() == "[]"


# --- the published JSON plan schema ------------------------------------------------------------


def _plan_validator():
    from jsonschema import Draft7Validator

    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" /
                         "plan.schema.json").read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


@pytest.mark.parametrize("name", sorted(PLANS))
def test_every_rendered_json_plan_validates_against_the_published_schema(name: str) -> None:
    errors = list(_plan_validator().iter_errors(json.loads(render_json(PLANS[name]))))
    assert errors == []


def test_the_schema_refuses_what_it_must() -> None:
    doc = json.loads(render_json(MIXED))
    validator = _plan_validator()
    for broken in ({**doc, "format_version": "1.1"}, {**doc, "format_version": 2},
                   {**doc, "safety": {**doc["safety"], "needs_force": "yes"}},
                   {**doc, "safety": {"needs_force": False, "reasons": []}},
                   {k: v for k, v in doc.items() if k != "estimate"}):
        assert list(validator.iter_errors(broken)), broken


def test_each_safety_finding_is_its_own_paragraph_and_blocked_is_said_once() -> None:
    from adapter_sync.model import Finding, Safety, SafetyRules

    plan = Plan(safety=Safety((
        Finding("deactivate_share", "needs_force", (), {"deactivating": 4, "live_active": 10,
                                                        "max_deactivate_percent": 30,
                                                        "min_active": 10}),
        Finding("protected_inactive", "blocked", ("billing-eu",), {})), SafetyRules()))
    md = render_markdown(plan)
    box = md[md.index("> [!CAUTION]"):].split("\n\n")[0].splitlines()
    # GitHub joins consecutive "> " lines into one paragraph: a bare ">" separates them
    assert box[1].startswith("> **Apply will refuse this plan without `--force`:**")
    assert box[2] == ">" and box[3].startswith("> **Blocked, `--force` or not:**")
    for text in (md, render_text(plan)):
        assert text.count("--force` or not") + text.count("--force or not") == 1
