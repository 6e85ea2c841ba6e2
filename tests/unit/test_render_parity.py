"""Parity: every view shows (or counts) everything the plan document holds.

A corpus of plans, each built by the planner from a Desired and a Live state (every action
kind, every combination of field changes, hostile names, protection, each safety threshold,
drift, policy findings, an estimate over budget, 20,000 actions), is rendered in every human
view: text, Markdown, and ``show`` of the saved file. For each plan:

- every action appears with its cause and each changed field, each metadata key and each kind
  its details name, in the view's escaped form; in Markdown an action may instead be left out
  and counted: the "N more actions not shown" number equals the actions missing;
- each safety finding's sentence, each policy finding, each unmanaged, protected and
  drift-resolved name appears (or, in Markdown, is counted in its list's "and N more");
- the Markdown stays under 65,000 characters;
- ``show`` of the saved plan renders the same bytes as the plan itself;
- the JSON document validates against ``schemas/plan.schema.json``, is the saved file byte for
  byte, and reads back (the codec) into an equal plan.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from adapter_sync import planfile
from adapter_sync.document import from_document
from adapter_sync.escape import clean
from adapter_sync.model import (
    Action,
    Desired,
    DesiredConnector,
    Estimate,
    Live,
    LiveConnector,
    Plan,
    PolicyFinding,
    Provenance,
    SafetyRules,
    Selection,
)
from adapter_sync.planner import label_origins, plan
from adapter_sync.render import render_json, render_markdown, render_text
from adapter_sync.render.common import SYMBOLS, finding_line, finding_sentence, policy_sentence
from adapter_sync.render.markdown import MARKDOWN_LIMIT, md_escape, md_field, md_key

URL = "https://api.adapter.com/v1"
HOSTILE = [
    "pipe|name", "back`tick`", "<b>bold</b>", "<script>alert(1)</script>", "*star*_under_",
    "[link](javascript:x)", "@octo-org/admins", "#1 issue", "$x$ math", "~strike~", "amp&amp;",
    "new\nline", "esc\x1b[31mred", "bell\x07", "tab\tname", "rtl\u202eevil", "zero\u200bwidth",
    "café ☕", "日本語", "emoji 🚀", "back\\slash", "trailing space ", "", "  ", "!bang",
    "a, b", "Connector",
]
KINDS_A, KINDS_B = frozenset({"email", "page"}), frozenset({"page", "issue", "custom"})
META_A = {"owner": "ana", "tier": "gold", "gone": "x"}
META_B = {"owner": "bo", "tier": "gold", "new key": "<v>", "we|rd": "`x`"}


def _want(source: str, **kw: Any) -> DesiredConnector:
    return DesiredConnector(source, kw.pop("title", f"Name of {source}"), **kw)


def _have(source: str, n: int, **kw: Any) -> LiveConnector:
    kw.setdefault("name", f"Name of {source}")
    return LiveConnector(f"id-{n:05d}", source, **kw)


NO_SELECTION = Selection()


def _finish(p: Plan, selection: Selection = NO_SELECTION) -> Plan:
    """The plan with a provenance, as the engine gives it (the saved file needs one)."""
    return replace(p, provenance=Provenance(URL, selection, None, "sha256:" + "a" * 64,
                                            "sha256:" + "b" * 64))


def _every_change(prune: bool) -> Plan:
    """Every action kind with every combination of field changes."""
    wanted: list[DesiredConnector] = []
    present: list[LiveConnector] = []
    fields = ("name", "accepted_kinds", "metadata")
    n = 0
    for kind in ("update", "reactivate", "deactivate"):
        for size in range(0 if kind != "update" else 1, 4):
            for combo in combinations(fields, size):
                n += 1
                name = f"{kind}-{n:03d}-{'-'.join(combo) or 'only'}"
                live_active = kind != "reactivate"
                present.append(_have(name, n, name="Old", accepted_kinds=KINDS_A,
                                     metadata=META_A, is_active=live_active))
                wanted.append(_want(
                    name, title="New" if "name" in combo else "Old",
                    accepted_kinds=KINDS_B if "accepted_kinds" in combo else KINDS_A,
                    metadata=META_B if "metadata" in combo else META_A,
                    active=kind != "deactivate"))
    wanted += [_want("create-full", accepted_kinds=KINDS_B, metadata=META_B),
               _want("create-bare"), _want("create-all-kinds", metadata={"k": ""})]
    wanted += [_want("kinds-to-all", accepted_kinds=frozenset()),
               _want("metadata-to-empty")]
    present += [_have("kinds-to-all", 900, accepted_kinds=KINDS_A),
                _have("metadata-to-empty", 901, metadata=META_A)]
    present += [_have(f"stray-{i:02d}", 910 + i) for i in range(25)]  # pruned or unmanaged
    present += [_have(f"keep-{i:02d}", 950 + i) for i in range(3)]
    present += [_have("inactive-undeclared", 990, is_active=False)]
    desired = Desired({c.source_name: c for c in wanted}, protect=("keep-*",),
                      safety=SafetyRules(max_deactivate_percent=100))
    return _finish(plan(desired, Live.from_list(present), prune=prune))


def _hostile() -> Plan:
    """Hostile names as source_names (live and declared), names, metadata keys and values."""
    wanted, present = [], []
    for i, text in enumerate(HOSTILE):
        created, updated, pruned = f"c{i:02d} {text}", f"u{i:02d} {text}", f"p{i:02d} {text}"
        wanted.append(_want(created, title=text or "x", accepted_kinds=frozenset({"custom"}),
                            metadata={text or "k": text, f"k{i}": text}))
        wanted.append(_want(updated, title=f"new {text}", metadata={text or "k": f"v {text}"}))
        present.append(_have(updated, i, name=f"old {text}", metadata={text or "k": text,
                                                                       "old": text}))
        present.append(_have(pruned, 100 + i))
        present.append(_have(f"x{i:02d} {text}", 200 + i))  # protected
    desired = Desired({c.source_name: c for c in wanted}, protect=("x*",),
                      safety=SafetyRules(max_deactivate_percent=100))
    return _finish(plan(desired, Live.from_list(present), prune=True),
                   Selection(("*",), ("nothing <here>",)))


def _unmanaged_hostile() -> Plan:
    present = [_have(f"{i:02d} {t}", i) for i, t in enumerate(HOSTILE)]
    return _finish(plan(Desired(), Live.from_list(present)))


def _thresholds() -> dict[str, Plan]:
    def pruned(n: int, keep: int, **rules: Any) -> Plan:
        desired = Desired({f"c{i:02d}": _want(f"c{i:02d}") for i in range(keep)},
                          safety=SafetyRules(**rules))
        live = Live.from_list([_have(f"c{i:02d}", i, name=f"Name of c{i:02d}")
                               for i in range(n)])
        return _finish(plan(desired, live, prune=True))

    blocked = Desired({"billing-eu": _want("billing-eu", active=False),
                       "billing-us": _want("billing-us", active=False),
                       "other": _want("other", title="Renamed")}, protect=("billing-*",))
    live = Live.from_list([_have(n, i) for i, n in enumerate(
        ("billing-eu", "billing-us", "other", *(f"z{i:02d}" for i in range(20))))])
    return {
        "none_left": pruned(3, 0),
        "deactivate_share": pruned(20, 10),
        "small_account": pruned(6, 2),
        "blocked": _finish(plan(blocked, live)),
        "blocked_and_share": _finish(plan(replace(blocked, prune=True), live, prune=True)),
    }


def _drift() -> Plan:
    present = Live.from_list([_have(n, i, name="Live") for i, n in enumerate(
        ("both-same", "both-other", "base-only", "head-only", "<drift> |x|"))])
    head = Desired({"both-same": _want("both-same", title="Same"),
                    "both-other": _want("both-other", title="Head"),
                    "head-only": _want("head-only", title="Head"),
                    "<drift> |x|": _want("<drift> |x|", title="Same"),
                    "base-only": _want("base-only", title="Live")})
    base = Desired({"both-same": _want("both-same", title="Same"),
                    "both-other": _want("both-other", title="Base"),
                    "<drift> |x|": _want("<drift> |x|", title="Same"),
                    "base-only": _want("base-only", title="Base"),
                    "head-only": _want("head-only", title="Live")})
    labelled = label_origins(plan(head, present), plan(base, present))
    assert labelled.drift_resolved == ("base-only",)
    return _finish(labelled)


def _policy_and_budget() -> Plan:
    p = _thresholds()["small_account"]
    policy = tuple(PolicyFinding(f"c{i:02d}" if i < 3 else f"live-{i} {HOSTILE[i % 27]}",
                                 f"rule <{i}> | `owner`", "error" if i % 2 else "warning",
                                 f"'owner' is a required property ({i})", i < 3)
                   for i in range(80))
    return replace(p, policy=policy, estimate=Estimate(4, 2.4, 100.0, 1, 1_796_000_000))


def _many(n: int = 20_000) -> Plan:
    """20,000 actions of every kind, hostile names among them."""
    wanted, present = [], []
    for i in range(n):
        name = f"s{i:05d}" + (f" {HOSTILE[i % len(HOSTILE)]}" if i % 7 == 0 else "")
        kind = i % 4
        if kind == 0:
            wanted.append(_want(name, metadata={"team": f"t{i}"}))
        elif kind == 1:
            wanted.append(_want(name, title=f"New {i}", metadata={"team": f"t{i}", "x": "y"}))
            present.append(_have(name, i, metadata={"team": "old"}))
        elif kind == 2:
            wanted.append(_want(name, accepted_kinds=frozenset({"email"})))
            present.append(_have(name, i, is_active=False))
        else:
            present.append(_have(name, i))  # pruned
    for i in range(300):
        present.append(_have(f"z-unmanaged-{i:04d}", n + i))
    desired = Desired({c.source_name: c for c in wanted}, protect=("z-*",))
    return _finish(plan(desired, Live.from_list(present), prune=True))


@cache
def corpus() -> dict[str, Plan]:
    plans = {
        "empty": _finish(Plan(live_active=3)),
        "every_change_pruned": _every_change(prune=True),
        "every_change_unmanaged": _every_change(prune=False),
        "hostile": _hostile(),
        "unmanaged_hostile": _unmanaged_hostile(),
        "drift": _drift(),
        "policy_and_budget": _policy_and_budget(),
        **_thresholds(),
    }
    return plans


def test_the_corpus_covers_what_it_claims() -> None:
    plans = corpus()
    kinds = {a.kind for p in plans.values() for a in p.actions}
    assert kinds == {"create", "update", "reactivate", "deactivate"}
    codes = {f.code for p in plans.values() for f in p.safety.findings}
    assert codes == {"none_left", "deactivate_share", "small_account", "protected_inactive"}
    combos = {(a.kind, frozenset(a.changes)) for a in plans["every_change_pruned"].actions}
    for kind, base in (("update", set()), ("reactivate", {"is_active"}),
                       ("deactivate", {"is_active"})):
        for size in range(4):
            for combo in combinations(("name", "accepted_kinds", "metadata"), size):
                if kind != "update" or combo:
                    assert (kind, frozenset(base | set(combo))) in combos
    assert plans["every_change_pruned"].protected and plans["every_change_unmanaged"].unmanaged
    assert {a.origin for a in plans["drift"].actions} == {"change", "drift"}
    assert plans["policy_and_budget"].estimate.exceeds_budget
    assert any(a.cause is not None and a.cause.name == "PRUNED"
               for a in plans["hostile"].actions)


# --- reading a view back -------------------------------------------------------------------------


def _text_blocks(text: str) -> dict[str, str]:
    """Each block of the text view by its first line (an action's header)."""
    return {block.split("\n", 1)[0]: block for block in text.split("\n\n")}


def _text_header(action: Action) -> str:
    line = f"{SYMBOLS[action.kind]} {action.kind} {clean(action.source_name)}"
    if action.connector_id:
        line += f" ({clean(action.connector_id)})"
    if action.cause is not None:
        line += f": {clean(action.cause.value)}"
    return line


def _check_text(p: Plan, text: str) -> None:
    blocks = _text_blocks(text)
    for action in p.actions:
        block = blocks.get(_text_header(action))
        assert block is not None, f"{action.kind} {action.source_name!r} missing"
        lines = block.split("\n")[1:]
        for field, change in action.changes.items():
            line = next((x for x in lines if x.startswith(f"    {field}:")), None)
            assert line is not None, (action.source_name, field)
            for d in change.details:
                if field == "metadata":
                    assert any(x.lstrip().startswith(f"{d.op} {clean(d.key)}: ")
                               for x in lines), (action.source_name, d)
                elif action.kind == "create":
                    assert clean(d.key) in line
                else:
                    assert f"{d.op}{clean(d.key)}" in line, (action.source_name, d)
    for title, names in (("Drift resolved by this change", p.drift_resolved),
                         ("Unmanaged (", p.unmanaged), ("Protected (", p.protected)):
        if names:
            (line,) = [x for x in text.split("\n") if x.startswith(title)]
            for name in names:
                assert clean(name) in line
    for finding in p.safety.findings:
        assert finding_line(finding) in text
    for policy in p.policy:
        assert clean(policy_sentence(policy)) in text
    _check_estimate(p, text)


def _check_estimate(p: Plan, view: str) -> None:
    if p.estimate is not None and p.has_changes:
        assert f"Estimate: {p.estimate.api_calls} API call" in view
        if p.estimate.exceeds_budget:
            assert "Over budget" in view and "2026-11-30T00:53:20Z" in view


def _md_rows(md: str) -> dict[str, str]:
    """Each action's row group in the Markdown view, by its first cell."""
    groups: dict[str, str] = {}
    key = None
    for line in md.split("\n"):
        if not line.startswith("| "):
            key = None
            continue
        first = line[2:].split(" | ", 1)[0]
        if first:
            key = first
            groups[key] = line
        elif key is not None:
            groups[key] += "\n" + line
    return groups


def _md_sections(md: str) -> dict[str, str]:
    """Each ``### Title (n)`` list section's text, by its title."""
    sections: dict[str, str] = {}
    for part in re.split(r"\n(?=#{3,4} )", md):
        title = re.match(r"#{3,4} (.+?) \(\d+\)", part)
        if title:
            sections[title.group(1)] = part
    return sections


def _counted(section: str) -> int:
    found = re.findall(r"^- and (\d+) more not shown$", section, re.M)
    return sum(int(n) for n in found)


def _check_markdown(p: Plan, md: str) -> None:
    assert len(md) < MARKDOWN_LIMIT
    assert md.count("<details>") == md.count("</details>")
    assert "job summary" not in md
    rows = _md_rows(md)
    missing = 0
    for action in p.actions:
        group = rows.get(md_escape(action.source_name))
        if group is None:
            missing += 1
            continue
        if action.kind == "create":
            for change in action.changes.values():
                for d in change.details:
                    assert md_escape(d.key) in group, (action.source_name, d)
            continue
        if action.cause is not None:
            assert (f"| {md_escape(action.connector_id or '')} | "
                    f"{md_escape(action.cause.value)} |") in group
        for field, change in action.changes.items():
            if field == "metadata" and change.details:
                for d in change.details:
                    assert md_key(d.key) in group, (action.source_name, d)
            else:
                assert md_field(field) in group, (action.source_name, field)
            if field == "accepted_kinds":
                for d in change.details:
                    assert md_escape(f"{d.op}{clean(d.key)}") in group, (action.source_name, d)
    note = re.search(r"\*\*(\d+) more actions? not shown here\*\*", md)
    assert (int(note.group(1)) if note else 0) == missing
    if note:
        assert "`adapter-sync show FILE`" in md and "`adapter-sync plan --out FILE`" in md
    sections = _md_sections(md)
    for title, items in (("Drift resolved", [f"- {md_escape(n)}" for n in p.drift_resolved]),
                         ("Unmanaged", [f"- {md_escape(n)}" for n in p.unmanaged]),
                         ("Protected", [f"- {md_escape(n)}" for n in p.protected]),
                         ("Policy", [f"- **{f.severity}**: {md_escape(policy_sentence(f))}"
                                     for f in p.policy])):
        if not items:
            assert title not in sections
            continue
        lines = set(sections[title].split("\n"))
        absent = sum(1 for item in items if item not in lines)
        assert absent == _counted(sections[title]), title
    for finding in p.safety.findings:
        assert md_escape(finding_sentence(finding)) in md
    _check_estimate(p, md)


@cache
def _validator() -> Any:
    from jsonschema import Draft7Validator

    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" /
                         "plan.schema.json").read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def _check_all(p: Plan, tmp_path: Path) -> None:
    text, md, doc_text = render_text(p), render_markdown(p), render_json(p)
    _check_text(p, text)
    _check_markdown(p, md)
    doc = json.loads(doc_text)
    assert list(_validator().iter_errors(doc)) == []
    assert from_document(doc) == p
    path = tmp_path / "plan.json"
    planfile.save(str(path), p, URL)
    assert path.read_text(encoding="utf-8") == doc_text  # the file is the JSON plan
    shown = planfile.load(str(path)).plan  # what `show FILE` renders
    assert shown == p
    assert render_text(shown) == text and render_markdown(shown) == md


NAMES = ("blocked", "blocked_and_share", "deactivate_share", "drift", "empty",
         "every_change_pruned", "every_change_unmanaged", "hostile", "none_left",
         "policy_and_budget", "small_account", "unmanaged_hostile")


def test_the_corpus_is_the_one_named() -> None:
    assert sorted(corpus()) == list(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_view_shows_or_counts_everything(name: str, tmp_path: Path) -> None:
    _check_all(corpus()[name], tmp_path)


def test_two_thousand_actions_are_shown_or_counted(tmp_path: Path) -> None:
    p = _many(2_000)
    _check_all(p, tmp_path)
    assert "more actions not shown here" in render_markdown(p)


@pytest.mark.slow
def test_twenty_thousand_actions_are_shown_or_counted(tmp_path: Path) -> None:
    p = _many()
    assert len(p.actions) == 20_000 and len(p.protected) == 300
    assert {a.kind for a in p.actions} == {"create", "update", "reactivate", "deactivate"}
    _check_all(p, tmp_path)
    md = render_markdown(p)
    assert "more actions not shown here" in md  # this one is cut, and says so
