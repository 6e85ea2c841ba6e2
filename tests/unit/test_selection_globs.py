"""Selections and globs pin what they claim (issue #16's mutation review): each test fails if
the line it names is changed.

- ``--include``/``--exclude`` limit deletions too: a live connector outside the selection and
  not declared is never pruned (nor listed), the classic "exclude does not exclude deletions";
- ``import`` writes only the connectors its selection matches;
- globs (``protect``, ``ignore``, selections) are case-sensitive and match the whole name,
  never a substring.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapter_sync.engine import Engine, Settings, select
from adapter_sync.model import Desired, DesiredConnector, Live, LiveConnector, glob_matcher
from adapter_sync.planner import plan


def want(slug: str) -> DesiredConnector:
    return DesiredConnector(source_name=slug, name=slug.title(), accepted_kinds=frozenset())


def have(slug: str) -> LiveConnector:
    return LiveConnector(connector_id=f"id-{slug}", source_name=slug, name=slug.title(),
                         accepted_kinds=frozenset())


def live(*slugs: str) -> Live:
    return Live.from_list([have(s) for s in slugs])


def desired(*slugs: str, **kw: object) -> Desired:
    return Desired(connectors={s: want(s) for s in slugs}, **kw)  # type: ignore[arg-type]


def deactivated(p: object) -> list[str]:
    return [a.source_name for a in p.actions if a.kind == "deactivate"]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- exclude excludes deletions


@pytest.mark.parametrize("selection", [select(include=["team-a-*"]),
                                       select(exclude=["team-b-*"]),
                                       select(include=["team-*"], exclude=["team-b-*"])],
                         ids=["include", "exclude", "both"])
def test_a_connector_outside_the_selection_is_never_pruned(selection: object) -> None:
    # planner.plan: `if is_ignored(...) or not selected(source_name): continue` must hold for
    # undeclared names too, or pruning deactivates what the selection left out.
    p = plan(desired("team-a-one"), live("team-a-one", "team-a-stray", "team-b-other"),
             prune=True, selection=selection)  # type: ignore[arg-type]
    assert deactivated(p) == ["team-a-stray"]
    assert "team-b-other" not in p.unmanaged and "team-b-other" not in p.protected


def test_import_writes_only_what_its_selection_matches(tmp_path: Path) -> None:
    engine = Engine(Settings(api_url=f"sandbox:{tmp_path / 'sandbox.db'}"))

    async def seed() -> None:
        async with engine.connect() as client:
            for slug in ("team-a-one", "team-a-two", "team-b-one"):
                await client.create({"source_name": slug, "name": slug})

    asyncio.run(seed())
    text = engine.import_(selection=select(include=["team-a-*"], exclude=["*-two"])).text
    assert text is not None and "team-a-one:" in text
    assert "team-a-two" not in text and "team-b-one" not in text
    split = engine.import_(split_dir=str(tmp_path / "split"),
                           selection=select(include=["team-b-*"]))
    assert [Path(p).name for p in split.written] == ["team-b-one.yaml"]


# --------------------------------------------------------------------------- globs


def test_a_glob_is_case_sensitive_and_matches_the_whole_name() -> None:
    matches = glob_matcher(("billing-*", "exact"))
    assert matches("billing-eu") and matches("exact")
    assert not matches("Billing-eu") and not matches("BILLING-EU")  # case-sensitive
    assert not matches("old-billing-eu")  # not a substring: from the start...
    assert not matches("exactly") and not matches("inexact")  # ...to the end
    assert not glob_matcher(())("anything")


def test_protect_is_case_sensitive_and_whole_name() -> None:
    p = plan(desired("keep", protect=("billing-*",)),
             live("keep", "billing-eu", "Billing-US", "old-billing-x"), prune=True)
    assert p.protected == ("billing-eu",)
    assert deactivated(p) == ["Billing-US", "old-billing-x"]


def test_ignore_is_case_sensitive_and_whole_name() -> None:
    p = plan(desired("keep", ignore=("legacy-*",)),
             live("keep", "legacy-1", "Legacy-2", "my-legacy-3"))
    assert p.unmanaged == ("Legacy-2", "my-legacy-3")


def test_a_selection_is_case_sensitive_and_whole_name() -> None:
    names = ("team-a-x", "TEAM-A-y", "x-team-a-z", "a-tmp", "a-TMP", "a-tmp-2")
    included = plan(desired(), live(*names), selection=select(include=["team-a-*"]))
    assert included.unmanaged == ("team-a-x",)
    excluded = plan(desired(), live(*names), selection=select(exclude=["*-tmp"]))
    assert excluded.unmanaged == tuple(sorted(n for n in names if n != "a-tmp"))
