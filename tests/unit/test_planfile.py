"""Saved plans: exact round trip, no secrets, clear errors for bad files, every staleness kind."""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from adapter_sync import __version__
from adapter_sync.diff import change
from adapter_sync.errors import AdapterSyncError, StalePlanError
from adapter_sync.model import (
    Action,
    Cause,
    DesiredConnector,
    FieldChange,
    Live,
    LiveConnector,
    Plan,
)
from adapter_sync.planfile import SavedPlan, check_stale, load, save

URL = "https://api.adapter.com/v1"

CRM = LiveConnector("c0ffee01-aaaa", "acme-crm", "Old", frozenset({"page", "email"}),
                    {"owner": "ana", "tier": "gold"}, True, "2024-05-01T10:00:00Z")
BUGS = LiveConnector("c0ffee02-bbbb", "bug-tracker", "Bugs", is_active=False)
WIKI = LiveConnector("c0ffee03-cccc", "wiki", "Wiki", metadata={"x": ""})
BYSTANDER = LiveConnector("c0ffee04-dddd", "bystander", "Not in the plan")

PLAN = Plan(
    actions=(
        Action("update", "acme-crm", CRM.connector_id, {
            "name": change("name", "Old", "Acme CRM"),
            "accepted_kinds": change("accepted_kinds", ["email", "page"], []),
            "metadata": change("metadata", {"owner": "ana", "tier": "gold"}, {"owner": "bo"}),
        }, live=CRM),
        Action("reactivate", "bug-tracker", BUGS.connector_id,
               {"is_active": FieldChange(False, True)}, live=BUGS),
        Action("create", "new-one", None, {
            "name": FieldChange(None, "Café | <new>"),
            "accepted_kinds": FieldChange(None, ["issue"]),
            "metadata": FieldChange(None, {"empty": ""}),
        }, desired=DesiredConnector("new-one", "Café | <new>", frozenset({"issue"}),
                                    {"empty": ""})),
        Action("deactivate", "wiki", WIKI.connector_id, {"is_active": FieldChange(True, False)},
               live=WIKI, cause=Cause.PRUNED),
    ),
    unmanaged=("other-team",),
    live_active=3,
    prune=True,
)
LIVE_NOW = Live.from_list([CRM, BUGS, WIKI, BYSTANDER])


@pytest.fixture
def saved_path(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    save(str(path), PLAN, URL)
    return path


def stale_message(saved: SavedPlan, live: Live, url: str = URL) -> str:
    with pytest.raises(StalePlanError) as info:
        check_stale(saved, live, url)
    message = str(info.value)
    assert "stale" in message and "\n" not in message
    return message


# --- save / load ----------------------------------------------------------------------------


def test_round_trip_gives_an_equal_plan(saved_path: Path) -> None:
    saved = load(str(saved_path))
    assert replace(saved.plan, provenance=None) == PLAN
    assert saved.plan.provenance.api_url == saved.api_url == URL
    assert saved.tool_version == __version__
    assert saved.plan.actions[0].live.created_at == CRM.created_at
    assert saved.plan.actions[0].request_body() == PLAN.actions[0].request_body()


def test_empty_plan_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    save(str(path), Plan(live_active=7), URL)
    assert replace(load(str(path)).plan, provenance=None) == Plan(live_active=7)


def test_file_has_the_documented_shape(saved_path: Path) -> None:
    doc = json.loads(saved_path.read_text(encoding="utf-8"))
    assert list(doc) == ["format_version", "kind", "tool_version", "summary", "has_changes",
                         "actions", "unmanaged", "protected", "drift_resolved", "live_active",
                         "prune", "safety", "policy", "estimate", "provenance"]
    assert doc["format_version"] == "2.0" and doc["kind"] == "adapter-sync-plan"
    assert doc["unmanaged"] == ["other-team"] and doc["prune"] is True
    assert doc["provenance"]["api_url"] == URL
    assert doc["provenance"]["selection"] == {"include": [], "exclude": []}
    update, _, create, _ = doc["actions"]
    assert update["live"] == {**CRM.to_api(), "created_at": CRM.created_at}
    assert update["connector_id"] == CRM.connector_id
    assert create["live"] is None and create["connector_id"] is None
    assert create["desired"] == {"name": "Café | <new>", "accepted_kinds": ["issue"],
                                 "metadata": {"empty": ""}}
    assert doc["actions"][3]["cause"] == "pruned"


def test_the_file_is_the_json_plan_byte_for_byte(saved_path: Path) -> None:
    from adapter_sync.render import render_json

    saved = load(str(saved_path))
    assert saved_path.read_text(encoding="utf-8") == render_json(saved.plan)
    text = saved_path.read_text(encoding="utf-8")
    assert text.isascii() and text.count("\n") == 1  # compact: the C encoder, no indent


def test_field_change_details_per_key_and_per_kind_are_in_the_file(saved_path: Path) -> None:
    changes = json.loads(saved_path.read_text(encoding="utf-8"))["actions"][0]["changes"]
    assert changes["accepted_kinds"]["details"] == [
        {"op": "-", "key": "email", "before": "email", "after": None},
        {"op": "-", "key": "page", "before": "page", "after": None}]
    assert changes["metadata"]["details"] == [
        {"op": "~", "key": "owner", "before": "ana", "after": "bo"},
        {"op": "-", "key": "tier", "before": "gold", "after": None}]
    assert load(str(saved_path)).plan.actions[0].changes["metadata"].details \
        == PLAN.actions[0].changes["metadata"].details


@pytest.mark.parametrize("old", [
    {"format_version": "1.1", "actions": [], "unmanaged": [], "summary": {}},  # a JSON plan 1.1
    {"format_version": 2, "kind": "adapter-sync-plan", "api_url": URL, "actions": []},  # file 2
    {"format_version": 1, "kind": "adapter-sync-plan", "api_url": URL, "actions": []},
])
def test_older_plans_are_refused_with_make_the_plan_again(tmp_path: Path, old: dict) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(AdapterSyncError) as info:
        load(str(path))
    message = str(info.value)
    assert "is not supported" in message and "make the plan again" in message
    assert "\n" not in message


def test_credentials_in_the_url_never_reach_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ADAPTER_API_KEY", "pk_live_supersecret")
    path = tmp_path / "plan.json"
    save(str(path), PLAN, "https://bot:pk_live_supersecret@api.adapter.com/v1/")
    text = path.read_text(encoding="utf-8")
    assert "supersecret" not in text and "bot" not in text
    assert load(str(path)).api_url == "https://api.adapter.com/v1/"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_file_is_private_and_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("old contents")
    path.chmod(0o644)
    save(str(path), PLAN, URL)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert replace(load(str(path)).plan, provenance=None) == PLAN
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temp file left behind


def test_unwritable_destination_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "plan.json"
    with pytest.raises(AdapterSyncError, match="cannot write plan file"):
        save(str(target), PLAN, URL)


# --- bad files ------------------------------------------------------------------------------


def _doc(saved_path: Path) -> dict:
    return json.loads(saved_path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("content, expected", [
    ("", "invalid JSON"),
    ("not json at all", "invalid JSON"),
    ("[1, 2]", "not a JSON object"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"kind": "terraform-plan", "format_version": 1}', "not an adapter-sync plan file"),
])
def test_garbage_files_are_one_clear_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AdapterSyncError) as info:
        load(str(path))
    message = str(info.value)
    assert expected in message and str(path) in message and "\n" not in message


def test_truncated_file(saved_path: Path) -> None:
    text = saved_path.read_text(encoding="utf-8")
    saved_path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(AdapterSyncError, match="truncated or corrupt"):
        load(str(saved_path))


def test_binary_and_missing_files(tmp_path: Path) -> None:
    binary = tmp_path / "plan.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(AdapterSyncError, match="plan.bin"):
        load(str(binary))
    with pytest.raises(AdapterSyncError, match="cannot read plan file"):
        load(str(tmp_path / "nope.json"))


def test_future_format_version_is_refused(saved_path: Path) -> None:
    doc = _doc(saved_path)
    doc["format_version"] = "3.0"
    saved_path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(AdapterSyncError, match='format_version "3.0" is not supported'):
        load(str(saved_path))


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["actions"][0]["changes"].update({"source_name": {"before": "a", "after": "b"}}),
     "unknown field 'source_name'"),
    (lambda d: d["actions"][0].update(action="delete"), "actions[0].action"),
    (lambda d: d["actions"][0].update(live=None), "actions[0].live must be an object"),
    (lambda d: d["actions"][0]["changes"]["metadata"].update(after={"n": 1}),
     "metadata.after must be an object of strings"),
    (lambda d: d["actions"][1]["live"].update(connector_id="other"), "does not match"),
    (lambda d: d["actions"][2].update(connector_id="x"), "a create has no connector_id"),
    (lambda d: d.update(live_active="3"), "live_active"),
    (lambda d: d.update(provenance=None), "provenance.api_url missing"),
    (lambda d: d["safety"]["findings"].append({"code": "x", "effect": "maybe", "subjects": [],
                                               "numbers": {}}), "safety.findings[0].effect"),
    (lambda d: d["actions"][0]["changes"]["accepted_kinds"]["details"].append({"op": "*"}),
     "details[2]: key, before, after missing"),
    (lambda d: d.update(estimate={"api_calls": 1, "seconds": None, "limit_per_minute": None,
                                  "remaining": 0, "reset_at": "2026-13-45T99:00:00Z"}),
     "a value of another shape"),
    (lambda d: d["actions"].append(d["actions"][0]), "more than one action"),
])
def test_malformed_content_is_refused(saved_path: Path, edit, expected: str) -> None:
    doc = _doc(saved_path)
    edit(doc)
    saved_path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(AdapterSyncError) as info:
        load(str(saved_path))
    assert expected in str(info.value) and str(saved_path) in str(info.value)


# --- staleness ------------------------------------------------------------------------------


def test_unchanged_live_state_is_not_stale(saved_path: Path) -> None:
    check_stale(load(str(saved_path)), LIVE_NOW, URL)


def test_connectors_outside_the_plan_and_ignored_fields_do_not_make_it_stale(
        saved_path: Path) -> None:
    live = Live.from_list([
        replace(CRM, accepted_kinds=frozenset({"email", "page"}), created_at="2030-01-01"),
        BUGS, WIKI,
        replace(BYSTANDER, name="Renamed", is_active=False),
        LiveConnector("c0ffee05-eeee", "brand-new-stranger", "Stranger"),
    ])
    check_stale(load(str(saved_path)), live, URL + "/")


@pytest.mark.parametrize("changed, expected", [
    (replace(CRM, name="Someone else"), 'acme-crm changed live (name "Old" -> "Someone else")'),
    (replace(CRM, accepted_kinds=frozenset({"email"})),
     "acme-crm changed live (accepted_kinds [email, page] -> [email])"),
    (replace(CRM, metadata={"owner": "ana"}),
     'acme-crm changed live (metadata {"owner": "ana", "tier": "gold"} -> {"owner": "ana"})'),
    (replace(CRM, is_active=False), "acme-crm changed live (is_active true -> false)"),
    (replace(CRM, connector_id="c0ffee99-zzzz"),
     'acme-crm changed live (connector_id "c0ffee01-aaaa" -> "c0ffee99-zzzz")'),
])
def test_a_planned_connector_that_changed_live_is_stale(
        saved_path: Path, changed: LiveConnector, expected: str) -> None:
    live = Live.from_list([changed, BUGS, WIKI])
    message = stale_message(load(str(saved_path)), live)
    assert expected in message
    assert "bug-tracker" not in message and "wiki" not in message


def test_a_planned_create_that_now_exists_is_stale(saved_path: Path) -> None:
    appeared = LiveConnector("c0ffee06-ffff", "new-one", "New", is_active=False)
    message = stale_message(load(str(saved_path)), Live.from_list([CRM, BUGS, WIKI, appeared]))
    assert "new-one now exists live (inactive)" in message


def test_a_planned_connector_that_vanished_is_stale(saved_path: Path) -> None:
    message = stale_message(load(str(saved_path)), Live.from_list([CRM, BUGS]))
    assert "wiki no longer exists live" in message


def test_every_reason_is_listed_in_plan_order(saved_path: Path) -> None:
    appeared = LiveConnector("c0ffee06-ffff", "new-one", "New")
    live = Live.from_list([replace(CRM, name="B"), appeared])
    message = stale_message(load(str(saved_path)), live)
    assert message == (
        'saved plan is stale: acme-crm changed live (name "Old" -> "B"); '
        "bug-tracker no longer exists live; new-one now exists live; "
        "wiki no longer exists live — run plan again"
    )


def test_many_reasons_are_capped(tmp_path: Path) -> None:
    plan = Plan(tuple(Action("create", f"c-{i:02d}", None, {"name": FieldChange(None, "N")},
                             desired=DesiredConnector(f"c-{i:02d}", "N"))
                      for i in range(15)))
    live = Live.from_list([LiveConnector(f"id-{i}", f"c-{i:02d}", "N") for i in range(15)])
    message = stale_message(SavedPlan(plan, URL), live)
    assert "c-09 now exists live" in message and "c-10" not in message
    assert "and 5 more" in message


def test_another_api_url_is_stale_and_names_both(saved_path: Path) -> None:
    message = stale_message(load(str(saved_path)), LIVE_NOW, "http://127.0.0.1:8787/v1")
    assert URL in message and "http://127.0.0.1:8787/v1" in message


def test_url_comparison_ignores_trailing_slash_and_host_case_but_hides_credentials(
        saved_path: Path) -> None:
    saved = load(str(saved_path))
    check_stale(saved, LIVE_NOW, "https://API.adapter.com/v1/")
    message = stale_message(saved, LIVE_NOW, "https://u:hunter2@staging.adapter.com/v1")
    assert "hunter2" not in message and "https://staging.adapter.com/v1" in message


def test_an_action_whose_kind_does_not_match_its_changes_is_refused(tmp_path):
    import json as _json

    from adapter_sync import planfile as _pf
    from adapter_sync.errors import AdapterSyncError as _Err
    from adapter_sync.model import Action as _A
    from adapter_sync.model import FieldChange as _FC
    from adapter_sync.model import LiveConnector as _LC
    from adapter_sync.model import Plan as _P

    live = _LC("id-a", "a", "A")
    deactivate = _A("deactivate", "a", "id-a", {"is_active": _FC(True, False)}, live=live,
                    cause=Cause.DECLARED_INACTIVE)
    path = tmp_path / "p.json"
    _pf.save(str(path), _P((deactivate,), live_active=1), "https://api.adapter.com/v1")
    doc = _json.loads(path.read_text())
    doc["actions"][0]["action"] = "update"  # hides a deactivation from the safety check
    path.write_text(_json.dumps(doc))
    import pytest as _pytest

    with _pytest.raises(_Err, match="kind 'update' must not change is_active"):
        _pf.load(str(path))


def test_safety_protection_origins_and_provenance_round_trip(tmp_path: Path) -> None:
    from adapter_sync.model import (
        Estimate,
        Finding,
        PolicyFinding,
        Provenance,
        Safety,
        SafetyRules,
        Selection,
    )

    plan = replace(
        PLAN,
        actions=tuple(replace(a, origin=o) for a, o in zip(
            PLAN.actions, ("change", "drift", "change", "drift"), strict=True)),
        protected=("keep-me",), drift_resolved=("fixed-by-hand",),
        safety=Safety((Finding("none_left", "needs_force", (), {"deactivating": 1,
                                                                "live_active": 1}),
                       Finding("protected_inactive", "blocked", ("wiki",), {})),
                      SafetyRules(12.5, 3, 40.0)),
        provenance=Provenance(URL, Selection(("a*",), ("a-legacy",)), "origin/main",
                              "sha256:" + "c" * 64, "sha256:" + "1" * 64, ("legacy-*",)),
        estimate=Estimate(4, 24.0, 10.0, 3, 1_796_000_000.0),
        policy=(PolicyFinding("wiki", "owner required", "error", "'owner' is a required "
                              "property", True),))
    path = tmp_path / "plan.json"
    save(str(path), plan, URL)
    assert load(str(path)).plan == plan


# --- the live digest and the API URL (#16) ----------------------------------------------------


def _saved_with_digest(tmp_path: Path, selection=None, ignore=()) -> SavedPlan:
    from adapter_sync.model import Provenance, Selection
    from adapter_sync.planfile import live_digest

    selection = selection or Selection()
    plan = replace(PLAN, provenance=Provenance(URL, selection, None, "",
                                               live_digest(LIVE_NOW, selection, ignore),
                                               ignore))
    path = tmp_path / "plan.json"
    save(str(path), plan, URL)
    return load(str(path))


def test_a_change_the_plan_does_not_act_on_moves_the_live_digest_and_is_stale(
        tmp_path: Path) -> None:
    saved = _saved_with_digest(tmp_path)
    check_stale(saved, LIVE_NOW, URL)  # the same live state: fine
    renamed = Live.from_list([CRM, BUGS, WIKI, replace(BYSTANDER, name="Renamed")])
    message = stale_message(saved, renamed)
    assert "the live connectors changed since the plan was made" in message
    appeared = Live.from_list([CRM, BUGS, WIKI, BYSTANDER, LiveConnector("id-x", "x", "X")])
    assert "live_digest" in stale_message(saved, appeared)


def test_the_live_digest_covers_the_plans_selection_only(tmp_path: Path) -> None:
    from adapter_sync.model import Selection

    saved = _saved_with_digest(tmp_path, Selection(exclude=("bystander",)))
    check_stale(saved, Live.from_list([CRM, BUGS, WIKI, replace(BYSTANDER, name="Renamed")]),
                URL)
    message = stale_message(saved, Live.from_list([CRM, BUGS, WIKI, BYSTANDER,
                                                   LiveConnector("id-x", "x", "X")]))
    assert "within its selection" in message


def test_a_planned_connector_that_changed_is_still_named_with_a_digest(tmp_path: Path) -> None:
    saved = _saved_with_digest(tmp_path)
    message = stale_message(saved, Live.from_list([replace(CRM, name="B"), BUGS, WIKI,
                                                   BYSTANDER]))
    assert 'acme-crm changed live (name "Old" -> "B")' in message


def test_api_url_paths_are_compared_case_sensitively(saved_path: Path) -> None:
    saved = load(str(saved_path))
    message = stale_message(saved, LIVE_NOW, "https://api.adapter.com/V1")
    assert "https://api.adapter.com/V1" in message
    stale_message(saved, LIVE_NOW, "https://api.adapter.com/v1?org=Other")


def test_a_change_to_an_ignored_connector_never_makes_the_plan_stale(tmp_path: Path) -> None:
    ignore = ("bystand*",)  # the config never touches it: someone else's connector
    saved = _saved_with_digest(tmp_path, ignore=ignore)
    assert saved.plan.provenance is not None and saved.plan.provenance.ignore == ignore
    check_stale(saved, Live.from_list([CRM, BUGS, WIKI, replace(BYSTANDER, name="Renamed")]),
                URL)
    # a connector the config does manage (unmanaged, not ignored) still moves the digest
    message = stale_message(saved, Live.from_list([CRM, BUGS, WIKI, BYSTANDER,
                                                   LiveConnector("id-x", "x", "X")]))
    assert "live_digest" in message


def test_a_plan_file_that_is_not_a_regular_file_is_refused_unread(tmp_path: Path) -> None:
    """``show /dev/zero`` or a FIFO read until memory ran out: refused before it is opened."""
    import os

    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    for path in (fifo, link):
        with pytest.raises(AdapterSyncError, match="cannot read plan file: not a regular file"):
            load(str(path))
