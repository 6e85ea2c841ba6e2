"""The planner as pure unit tests: every action kind, normalisation, ignore, prune, safety."""

from __future__ import annotations

import pytest

from adapter_sync.model import Desired, DesiredConnector, FieldChange, Live, LiveConnector
from adapter_sync.planner import check_safety as _check_safety
from adapter_sync.planner import plan
from adapter_sync.render import finding_sentence


def check_safety(p, now=None):
    """Why apply refuses ``p`` without --force (its sentences), or None."""
    safety = _check_safety(p, now)
    return "; ".join(finding_sentence(f) for f in safety.findings) if safety.needs_force \
        else None


def want(slug: str, **kw) -> DesiredConnector:
    kw.setdefault("name", slug.title())
    kw["accepted_kinds"] = frozenset(kw.get("accepted_kinds", ()))
    return DesiredConnector(source_name=slug, **kw)


def have(slug: str, **kw) -> LiveConnector:
    kw.setdefault("name", slug.title())
    kw["accepted_kinds"] = frozenset(kw.get("accepted_kinds", ()))
    return LiveConnector(connector_id=f"id-{slug}", source_name=slug, **kw)


def desired(*cs: DesiredConnector, **kw) -> Desired:
    return Desired(connectors={c.source_name: c for c in cs}, **kw)


def live(*cs: LiveConnector) -> Live:
    return Live.from_list(list(cs))


def test_identical_states_plan_nothing():
    p = plan(desired(want("a", metadata={"k": "v"})), live(have("a", metadata={"k": "v"})))
    assert p.actions == () and not p.has_changes


def test_create_declared_and_absent():
    p = plan(desired(want("a", accepted_kinds={"page", "email"}, metadata={"x": "1"})), live())
    (a,) = p.actions
    assert a.kind == "create" and a.connector_id is None and a.live is None
    assert a.request_body() == {
        "source_name": "a", "name": "A", "accepted_kinds": ["email", "page"], "metadata": {"x": "1"},
    }


def test_declared_inactive_and_absent_is_not_created():
    assert plan(desired(want("a", active=False)), live()).actions == ()


def test_update_sends_only_changed_fields_and_metadata_whole():
    p = plan(
        desired(want("a", name="New", metadata={"k": "v", "j": "2"})),
        live(have("a", name="Old", metadata={"k": "v"})),
    )
    (a,) = p.actions
    assert a.kind == "update" and a.connector_id == "id-a"
    assert a.changes == {
        "name": FieldChange("Old", "New"),
        "metadata": FieldChange({"k": "v"}, {"j": "2", "k": "v"}),
    }
    assert a.request_body() == {"name": "New", "metadata": {"j": "2", "k": "v"}}


def test_kinds_compare_as_a_set_and_empty_means_all():
    same = plan(desired(want("a", accepted_kinds={"page", "email"})),
                live(have("a", accepted_kinds={"email", "page"})))
    assert same.actions == ()
    # from some kinds to all kinds: PATCH must send [] (null would mean "unchanged")
    (a,) = plan(desired(want("a")), live(have("a", accepted_kinds={"email"}))).actions
    assert a.request_body() == {"accepted_kinds": []}


def test_tolerant_live_parse_gives_no_phantom_diff():
    raw = {"connector_id": "id-a", "source_name": "a", "name": "A", "accepted_kinds": None,
           "metadata": None, "is_active": True, "extra": {"x": 1}}
    p = plan(desired(want("a")), Live.from_list([LiveConnector.from_api(raw)]))
    assert p.actions == ()


def test_reactivate_inactive_declared_active_with_field_changes():
    (a,) = plan(desired(want("a", name="B")), live(have("a", is_active=False))).actions
    assert a.kind == "reactivate"
    assert a.request_body() == {"name": "B", "is_active": True}


def test_deactivate_declared_inactive():
    (a,) = plan(desired(want("a", active=False)), live(have("a"))).actions
    assert a.kind == "deactivate" and a.request_body() == {"is_active": False}
    assert "active: false" in a.reason


def test_declared_inactive_already_inactive_is_nothing():
    assert plan(desired(want("a", active=False)), live(have("a", is_active=False))).actions == ()


def test_undeclared_live_is_unmanaged_without_prune():
    p = plan(desired(want("a")), live(have("a"), have("z"), have("old", is_active=False)))
    assert p.actions == () and p.unmanaged == ("z",)


def test_prune_deactivates_undeclared_active_only():
    p = plan(desired(want("a")), live(have("a"), have("z"), have("old", is_active=False)),
             prune=True)
    (a,) = p.actions
    assert (a.kind, a.source_name, a.connector_id) == ("deactivate", "z", "id-z")
    assert p.unmanaged == ()


def test_ignore_globs_are_never_planned_even_with_prune():
    p = plan(desired(want("a"), ignore=("legacy-*",)),
             live(have("a", name="x"), have("legacy-1"), have("legacy-2")), prune=True)
    assert [a.source_name for a in p.actions] == ["a"]
    assert p.unmanaged == ()


def test_actions_are_sorted_and_plan_is_deterministic():
    d = desired(*(want(n) for n in ["m", "b", "z", "a"]))
    p1, p2 = plan(d, live()), plan(d, live())
    assert [a.source_name for a in p1.actions] == ["a", "b", "m", "z"]
    assert p1 == p2
    assert p1.summary == {"create": 4, "update": 0, "reactivate": 0, "deactivate": 0}


def _actives(n: int) -> Live:
    return live(*(have(f"c{i}") for i in range(n)))


def test_safety_refuses_mass_deactivation():
    p = plan(desired(*(want(f"c{i}") for i in range(6))), _actives(10), prune=True)
    assert p.summary["deactivate"] == 4
    message = check_safety(p)
    assert message and "4 of 10" in message and "30%" in message


def test_safety_allows_up_to_thirty_percent():
    p = plan(desired(*(want(f"c{i}") for i in range(7))), _actives(10), prune=True)
    assert p.summary["deactivate"] == 3 and check_safety(p) is None


def test_safety_small_accounts_allow_up_to_half():
    p = plan(desired(*(want(f"c{i}") for i in range(3))), _actives(5), prune=True)
    assert p.summary["deactivate"] == 2 and check_safety(p) is None


def test_safety_small_accounts_refuse_more_than_half():
    p = plan(desired(*(want(f"c{i}") for i in range(2))), _actives(5), prune=True)
    assert p.summary["deactivate"] == 3
    message = check_safety(p)
    assert message and "3 of 5" in message and "more than 50%" in message


def test_safety_refuses_leaving_nothing_active():
    p = plan(desired(), _actives(3), prune=True)
    message = check_safety(p)
    assert message and "no active connector" in message
    # ...unless something new becomes active in the same plan (then only the small-account
    # rule speaks, and it can be relaxed)
    from adapter_sync.model import SafetyRules

    replaced = plan(desired(want("new")), _actives(3), prune=True)
    assert "no active connector" not in (check_safety(replaced) or "")
    relaxed = desired(want("new"), safety=SafetyRules(small_account_percent=100))
    assert check_safety(plan(relaxed, _actives(3), prune=True)) is None


def test_duplicate_live_source_names_are_refused_not_guessed():
    import pytest

    from adapter_sync.errors import AdapterSyncError

    with pytest.raises(AdapterSyncError, match=r"a \(id-1, id-2\)"):
        Live.from_list([LiveConnector("id-1", "a", "A"), LiveConnector("id-2", "a", "A2")])


def test_safety_counts_against_the_current_live_state_when_given():
    # a plan made when 20 were active deactivates 5 (25%): fine then...
    p = plan(desired(*(want(f"c{i}") for i in range(5, 20))), _actives(20), prune=True)
    assert p.summary["deactivate"] == 5 and check_safety(p) is None
    # ...but if only those 5 are still active now, it would leave none
    now = live(*(have(f"c{i}", is_active=i < 5) for i in range(20)))
    message = check_safety(p, now)
    assert message and "no active connector" in message


def test_a_deactivation_cannot_hide_behind_another_kind():
    from dataclasses import replace

    from adapter_sync.model import InvalidAction

    p = plan(desired(*(want(f"c{i}") for i in range(5))), _actives(10), prune=True)
    assert check_safety(p) is not None
    with pytest.raises(InvalidAction, match="kind 'update' must not change is_active"):
        replace(p.actions[0], kind="update")


# --- details and three-way labels (#16: mutations the suite let through) -----------------------


def test_the_kinds_detail_says_which_kinds_are_added_and_which_removed():
    from adapter_sync.model import Detail

    p = plan(desired(want("a", accepted_kinds={"email", "page"})),
             live(have("a", accepted_kinds={"page", "issue"})))
    (action,) = p.actions
    assert action.changes["accepted_kinds"].details == (
        Detail("+", "email", None, "email"), Detail("-", "issue", "issue", None))


def test_a_base_planning_the_same_kind_of_action_with_other_changes_labels_it_change():
    from adapter_sync.planner import label_origins

    live_now = live(have("a", name="Live", metadata={"k": "v"}))
    head = plan(desired(want("a", name="Head", metadata={"k": "v"})), live_now)
    base = plan(desired(want("a", name="Base", metadata={"k": "v"})), live_now)
    assert head.actions[0].kind == base.actions[0].kind == "update"
    (labelled,) = label_origins(head, base).actions
    assert labelled.origin == "change"
    # the same action in both: drift
    (same,) = label_origins(head, head).actions
    assert same.origin == "drift"
