"""Property: for any desired and live state, plan -> apply (against the sandbox) -> plan is empty.

Runs the real client against the in-process sandbox, so the planner, the applier, the client and
the emulator's PATCH/POST semantics are all checked together.
"""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter_sync.applier import apply_plan
from adapter_sync.engine import Engine, Settings
from adapter_sync.model import KINDS, Desired, DesiredConnector, Live
from adapter_sync.planner import plan

SLUGS = ["a", "b", "c", "d", "e", "legacy-x", "legacy-y"]
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
kinds = st.frozensets(st.sampled_from(KINDS), max_size=3)
metadata = st.dictionaries(st.sampled_from(["env", "team", "pipeline", "tier"]),
                           st.text(max_size=6), max_size=3)
connector = st.fixed_dictionaries(
    {"name": names, "accepted_kinds": kinds, "metadata": metadata, "active": st.booleans()}
)
state = st.dictionaries(st.sampled_from(SLUGS), connector, max_size=len(SLUGS))
_dbs = itertools.count()


async def _seed(client, live_spec: dict) -> None:
    for slug, spec in live_spec.items():
        created = await client.create({
            "source_name": slug, "name": spec["name"],
            "accepted_kinds": sorted(spec["accepted_kinds"]), "metadata": spec["metadata"],
        })
        if not spec["active"]:
            await client.update(created.connector_id, {"is_active": False}, source_name=slug)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(desired_spec=state, live_spec=state, prune=st.booleans(),
       ignore=st.sampled_from([(), ("legacy-*",)]))
def test_plan_apply_plan_is_empty(tmp_path, desired_spec, live_spec, prune, ignore):
    desired = Desired(
        connectors={
            slug: DesiredConnector(slug, s["name"], s["accepted_kinds"], s["metadata"], s["active"])
            for slug, s in desired_spec.items()
        },
        ignore=ignore,
    )
    db = tmp_path / f"sandbox-{next(_dbs)}.db"

    async def scenario() -> None:
        async with Engine(Settings(api_url=f"sandbox:{db}")).connect() as client:
            await _seed(client, live_spec)
            before = Live.from_list(await client.list_connectors())
            first = plan(desired, before, prune=prune)
            result = await apply_plan(first, client)
            assert result.ok, [o.message for o in result.outcomes if o.status != "done"]
            after = Live.from_list(await client.list_connectors())
            assert plan(desired, after, prune=prune).actions == ()
            # ignored connectors are never touched
            for slug, c in before.connectors.items():
                if ignore and slug.startswith("legacy-"):
                    assert after.connectors[slug] == c

    asyncio.run(scenario())
