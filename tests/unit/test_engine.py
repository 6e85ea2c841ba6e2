"""The engine: the workflow every command runs, called directly as a library would.

The safety gate lives in the engine, so a caller that is not the CLI gets it too; a
``sandbox:`` URL is wired to the in-process emulator here and nowhere else.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from adapter_sync.engine import Engine, Hooks, Settings
from adapter_sync.errors import AdapterSyncError, SafetyError, StalePlanError
from adapter_sync.secrets import ApiKey

KEY = "pk_live_engine_test_key"


def config(tmp_path: Path, connectors: dict, prune: bool = False) -> str:
    path = tmp_path / "connectors.yaml"
    lines = [f"prune: {'true' if prune else 'false'}", "connectors:"]
    lines += [f"  {slug}:\n    name: {name}" for slug, name in connectors.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def sandbox_engine(tmp_path: Path, **settings) -> Engine:
    return Engine(Settings(api_url=f"sandbox:{tmp_path / 'sandbox.db'}", **settings))


def test_an_unsafe_plan_is_refused_without_force_and_nothing_is_written(tmp_path: Path) -> None:
    engine = sandbox_engine(tmp_path)
    everything = config(tmp_path, {f"c-{i:02d}": f"C {i}" for i in range(12)})
    assert engine.apply([everything]).result.ok
    only_two = config(tmp_path, {"c-00": "C 0", "c-01": "C 1"}, prune=True)
    shown = []
    with pytest.raises(SafetyError, match="refusing to deactivate 10 of 12"):
        engine.apply([only_two], hooks=Hooks(show_plan=shown.append,
                                             approve=lambda plan: True))
    assert len(shown) == 1 and shown[0].summary["deactivate"] == 10  # shown, then refused
    assert sum(c.is_active for c in engine.live().connectors.values()) == 12
    applied = engine.apply([only_two], force=True)
    assert applied.result.ok and applied.result.count("done") == 10
    assert sum(c.is_active for c in engine.live().connectors.values()) == 2


def test_not_approved_applies_nothing(tmp_path: Path) -> None:
    engine = sandbox_engine(tmp_path)
    applied = engine.apply([config(tmp_path, {"a": "A"})], hooks=Hooks(approve=lambda p: False))
    assert applied.approved is False and applied.result is None
    assert engine.live().connectors == {}


def test_plan_never_writes_and_apply_then_plan_is_empty(tmp_path: Path) -> None:
    engine = sandbox_engine(tmp_path)
    path = config(tmp_path, {"a": "A", "b": "B"})
    assert engine.plan([path]).plan.summary["create"] == 2
    assert engine.live().connectors == {}
    progress = []
    assert engine.apply([path], hooks=Hooks(progress=progress.append)).result.ok
    assert sorted(o.action.source_name for o in progress) == ["a", "b"]
    assert not engine.plan([path]).plan.has_changes


def test_a_saved_plan_is_applied_or_refused_as_stale(tmp_path: Path) -> None:
    engine = sandbox_engine(tmp_path)
    path = config(tmp_path, {"a": "A"})
    saved = str(tmp_path / "plan.json")
    engine.save_plan(saved, engine.plan([path]).plan)
    assert json.loads(Path(saved).read_text())["actions"][0]["desired"]["name"] == "A"
    assert engine.apply(plan_file=saved).result.ok
    with pytest.raises(StalePlanError, match="a now exists live"):
        engine.apply(plan_file=saved)


def test_sandbox_url_needs_no_key_and_uses_the_builtin_one(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    engine = Engine(Settings(api_url="sandbox:/nonexistent/unused.db"),
                    transport=httpx.MockTransport(answer))
    assert engine.live().connectors == {}
    assert seen[0].headers["authorization"] == "Bearer pk_live_sandbox"
    assert str(seen[0].url).startswith("http://sandbox/v1/custom-connectors")
    Engine(Settings(api_url="sandbox:", api_key=ApiKey(KEY)),
           transport=httpx.MockTransport(answer)).live()
    assert seen[1].headers["authorization"] == f"Bearer {KEY}"


def test_live_data_holding_the_key_never_reaches_any_output(tmp_path: Path) -> None:
    import asyncio

    engine = sandbox_engine(tmp_path, api_key=ApiKey(f"  {KEY}\n"))  # pasted with whitespace

    async def seed() -> None:
        async with engine.connect() as client:
            await client.create({"source_name": "leaky", "name": f"key {KEY} here",
                                 "metadata": {"note": KEY}})

    asyncio.run(seed())
    plan = engine.plan([config(tmp_path, {"leaky": "Clean"})]).plan
    assert plan.summary["update"] == 1
    for fmt in ("text", "markdown", "json"):
        rendered = engine.render(plan, fmt)
        assert KEY not in rendered and "***" in rendered
        assert KEY.replace("_", "&#95;") not in rendered
    saved = tmp_path / "plan.json"
    engine.save_plan(str(saved), plan)
    assert KEY not in saved.read_text()
    assert KEY not in engine.import_().text


def test_sandbox_serve_without_uvicorn_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from adapter_sync.engine import serve_sandbox
    from adapter_sync.errors import AdapterSyncError

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the extra were not installed
    with pytest.raises(AdapterSyncError, match=r"pip install '\.\[sandbox\]'"):
        serve_sandbox(port=0)


def test_without_an_announced_limit_the_estimate_counts_calls_only(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[])  # no X-RateLimit-* headers

    engine = Engine(Settings(api_url="https://api.example.test/v1", api_key=ApiKey(KEY)),
                    transport=httpx.MockTransport(answer))
    planned = engine.plan([config(tmp_path, {"a": "A", "b": "B"})])
    assert (planned.plan.estimate.api_calls, planned.plan.estimate.seconds) == (2, None)
    assert "Estimate: 2 API calls." in engine.render(planned.plan)


@pytest.mark.parametrize(("url", "suggested"), [
    ("sandbox", "'sandbox:'"), ("sanbox:", "'sandbox:'"), ("Sandbox", "'sandbox:'"),
    ("sandbx:/tmp/s.db", "'sandbox:/tmp/s.db'")])
def test_a_misspelt_sandbox_url_suggests_sandbox(url: str, suggested: str) -> None:
    engine = Engine(Settings(api_url=url, api_key=ApiKey(KEY)))
    with pytest.raises(AdapterSyncError) as caught:
        engine.live()
    assert f"did you mean {suggested}?" in str(caught.value)
    assert "expected https://HOST/..." in str(caught.value)


def test_a_real_url_gets_no_sandbox_suggestion() -> None:
    engine = Engine(Settings(api_url="ftp://api.test/v1", api_key=ApiKey(KEY)))
    with pytest.raises(AdapterSyncError) as caught:
        engine.live()
    assert "did you mean" not in str(caught.value)


def test_the_config_digest_covers_the_policy_and_the_saved_plan_its_ignore(
        tmp_path: Path) -> None:
    engine = sandbox_engine(tmp_path)
    path = Path(config(tmp_path, {"svc-a": "A"}))
    plain = engine.plan([str(path)]).plan.provenance
    path.write_text("ignore: [legacy-*]\npolicy:\n  - severity: warning\n    schema: "
                    "{required: [metadata]}\n" + path.read_text(), encoding="utf-8")
    ruled = engine.plan([str(path)]).plan.provenance
    assert plain is not None and ruled is not None
    assert plain.config_digest != ruled.config_digest  # a policy rule is part of the config
    assert ruled.ignore == ("legacy-*",) and plain.ignore == ()
