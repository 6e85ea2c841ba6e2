"""Each safety guarantee, as fast unit tests the everyday loop (``-m "not slow"``) runs.

- prune never deactivates a protected connector (it lists it as protected instead);
- a protected connector declared inactive is blocked, and ``--force`` never overrides it;
- each threshold: none left, the share of a large account, the share of a small one (#16);
  and each can be relaxed in ``safety:``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapter_sync.engine import Engine, Settings
from adapter_sync.errors import ProtectedError, SafetyError
from adapter_sync.model import Desired, DesiredConnector, Live, LiveConnector, SafetyRules
from adapter_sync.planner import assess, check_safety, plan


def _live(n: int, active: int | None = None) -> Live:
    active = n if active is None else active
    return Live.from_list([LiveConnector(f"id-{i}", f"c{i:02d}", "C", is_active=i < active)
                           for i in range(n)])


def _declare(*names: str, inactive: tuple[str, ...] = (), **kw) -> Desired:
    connectors = {n: DesiredConnector(n, "C", active=n not in inactive)
                  for n in (*names, *inactive)}
    return Desired(connectors=connectors, **kw)


def _codes(p) -> list[str]:
    return [f.code for f in p.safety.findings]


# --- protection -------------------------------------------------------------------------------


def test_prune_never_deactivates_a_protected_connector() -> None:
    p = plan(_declare("c00", protect=("c01", "c0[23]")), _live(4), prune=True)
    assert p.actions == ()
    assert p.protected == ("c01", "c02", "c03")
    assert not p.safety.blocked and not p.safety.needs_force


def test_a_protected_connector_declared_inactive_is_blocked() -> None:
    p = plan(_declare("c00", inactive=("c01",), protect=("c01",)), _live(12))
    assert [a.kind for a in p.actions] == ["deactivate"]
    (finding,) = p.safety.findings
    assert (finding.code, finding.effect, finding.subjects) == (
        "protected_inactive", "blocked", ("c01",))
    assert p.safety.blocked and not p.safety.needs_force
    # rechecked against live at apply time, it stays blocked
    assert check_safety(p, _live(12)).blocked


def test_protect_globs_match_the_whole_name_case_sensitively() -> None:
    p = plan(Desired(protect=("C0*", "c0")), _live(20), prune=True)
    assert p.protected == () and len(p.actions) == 20


def _engine(tmp_path: Path) -> Engine:
    return Engine(Settings(api_url=f"sandbox:{tmp_path / 'sandbox.db'}"))


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "connectors.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_force_never_overrides_a_blocked_deactivation(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    assert engine.apply([_config(tmp_path, "connectors:\n  billing-eu: {name: B}\n"
                                           "  other: {name: O}\n")]).result.ok
    blocked = _config(tmp_path, 'protect: ["billing-*"]\nconnectors:\n'
                                "  billing-eu: {name: B, active: false}\n"
                                "  other: {name: Renamed}\n")
    for force in (False, True):
        with pytest.raises(ProtectedError, match="billing-eu is protected"):
            engine.apply([blocked], force=force)
    live = engine.live().connectors
    assert live["billing-eu"].is_active and live["other"].name == "O"  # nothing written


# --- thresholds -------------------------------------------------------------------------------


def test_leaving_none_active_needs_force() -> None:
    p = plan(Desired(), _live(3), prune=True)
    assert _codes(p) == ["none_left"] and p.safety.needs_force
    assert dict(p.safety.findings[0].numbers) == {"deactivating": 3, "live_active": 3}


@pytest.mark.parametrize(("keep", "codes"), [(7, []), (6, ["deactivate_share"])])
def test_more_than_thirty_percent_of_a_large_account_needs_force(keep: int, codes) -> None:
    p = plan(_declare(*(f"c{i:02d}" for i in range(keep))), _live(10), prune=True)
    assert _codes(p) == codes


@pytest.mark.parametrize(("n", "keep", "needs_force"), [
    (6, 2, True),    # 4 of 6: the reported case
    (6, 3, False),   # 3 of 6: half is allowed
    (5, 2, True),    # 3 of 5
    (2, 1, False),   # 1 of 2
    (9, 4, True),    # 5 of 9, just under min_active
])
def test_more_than_half_of_a_small_account_needs_force(n: int, keep: int,
                                                       needs_force: bool) -> None:
    p = plan(_declare(*(f"c{i:02d}" for i in range(keep))), _live(n), prune=True)
    assert p.safety.needs_force is needs_force
    if needs_force:
        (finding,) = p.safety.findings
        assert finding.code == "small_account" and finding.effect == "needs_force"
        assert finding.numbers["deactivating"] == n - keep
        assert finding.numbers["small_account_percent"] == 50.0


def test_the_small_account_rule_counts_declared_inactive_connectors_too() -> None:
    p = plan(_declare("c00", "c01", inactive=("c02", "c03", "c04", "c05")), _live(6))
    assert _codes(p) == ["small_account"]


def test_each_threshold_can_be_relaxed() -> None:
    small = plan(_declare("c00", "c01", safety=SafetyRules(small_account_percent=100)),
                 _live(6), prune=True)
    assert _codes(small) == []
    large = plan(_declare(*(f"c{i:02d}" for i in range(5)),
                          safety=SafetyRules(max_deactivate_percent=50)), _live(10), prune=True)
    assert _codes(large) == []
    floor = plan(_declare(*(f"c{i:02d}" for i in range(5)), safety=SafetyRules(min_active=20)),
                 _live(10), prune=True)
    assert _codes(floor) == []  # 5 of 10 is half: allowed in a small account


def test_assess_counts_what_the_actions_do() -> None:
    p = plan(_declare("c00", "c01"), _live(6), prune=True)
    assert assess(p.actions, 6, SafetyRules()).needs_force
    assert not assess(p.actions, 100, SafetyRules()).needs_force  # 4 of 100


def test_the_config_sets_small_account_percent(tmp_path: Path) -> None:
    from adapter_sync import config

    desired = config.load([_config(tmp_path, "safety: {small_account_percent: 75}\n"
                                             "connectors:\n  a: {name: A}\n")])
    assert desired.safety == SafetyRules(30.0, 10, 75)


def test_apply_refuses_a_small_account_prune_without_force(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    six = "".join(f"  c{i}: {{name: C}}\n" for i in range(6))
    assert engine.apply([_config(tmp_path, "connectors:\n" + six)]).result.ok
    two = _config(tmp_path, "prune: true\nconnectors:\n  c0: {name: C}\n  c1: {name: C}\n")
    with pytest.raises(SafetyError, match="4 of 6 active connectors"):
        engine.apply([two])
    assert sum(c.is_active for c in engine.live().connectors.values()) == 6
    assert engine.apply([two], force=True).result.count("done") == 4
