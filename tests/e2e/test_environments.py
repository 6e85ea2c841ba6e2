"""examples/environments: each folder validates as a user would run it, variables set or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import run_process

# subprocesses and servers: end to end, over a second each (pytest -m 'not slow' skips)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ROOT / "examples" / "environments"
VARIABLES = ("ADAPTER_REGION", "ONCALL_ESCALATION_POLICY", "PAGERDUTY_SERVICE_ID")
MODELINE = "# yaml-language-server: $schema=../../../schemas/connectors.schema.json\n"


@pytest.fixture(autouse=True)
def no_inherited_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_each_environment_has_one_file_with_the_schema_modeline(name: str) -> None:
    files = sorted(p.name for p in (ENVIRONMENTS / name).iterdir())
    assert files == ["connectors.yaml"]
    text = (ENVIRONMENTS / name / "connectors.yaml").read_text()
    assert text.startswith(MODELINE)
    assert (ENVIRONMENTS / name / "connectors.yaml").parent.joinpath(
        "../../../schemas/connectors.schema.json").resolve() == ROOT / "schemas/connectors.schema.json"


def test_staging_validates_with_defaults_only() -> None:
    result = run_process(["validate", "examples/environments/staging"], cwd=ROOT)
    assert result.code == 0, result.err
    assert result.out.strip() == "OK: 3 connectors in 1 file valid."


def test_prod_needs_its_required_variable() -> None:
    missing = run_process(["validate", "examples/environments/prod"], cwd=ROOT)
    assert missing.code == 1
    assert "PAGERDUTY_SERVICE_ID" in missing.err
    assert "connectors.yaml:" in missing.err  # with the place it is used

    ok = run_process(["validate", "examples/environments/prod"], cwd=ROOT,
                     env={"PAGERDUTY_SERVICE_ID": "P1A2B3C"})
    assert ok.code == 0, ok.err
    assert ok.out.strip() == ("OK: 4 connectors in 1 file valid. 1 declared active: false "
                              "(legacy-helpdesk): plan deactivates them where live and active, "
                              "never creates them.")


def planned_metadata(tmp_path: Path, folder: str, env: dict[str, str]) -> dict[str, dict]:
    """The metadata a plan would send for each connector created from ``folder``."""
    result = run_process(
        ["--api-url", f"sandbox:{tmp_path / 's.db'}", "plan", "--format", "json", folder],
        cwd=ROOT, env=env,
    )
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    return {
        action["source_name"]: action["changes"]["metadata"]["after"]
        for action in plan["actions"]
        if action["action"] == "create"
    }


def test_defaults_and_overrides_reach_the_plan(tmp_path: Path) -> None:
    defaults = planned_metadata(tmp_path, "examples/environments/staging", {})
    assert defaults["crm-events"]["region"] == "eu-west-1"
    assert defaults["oncall-pages"]["escalation_policy"] == "staging-low-urgency"

    overridden = planned_metadata(tmp_path, "examples/environments/staging",
                                  {"ADAPTER_REGION": "us-east-1"})
    assert overridden["crm-events"]["region"] == "us-east-1"

    prod = planned_metadata(tmp_path, "examples/environments/prod",
                            {"PAGERDUTY_SERVICE_ID": "P1A2B3C", "ONCALL_ESCALATION_POLICY": ""})
    assert prod["oncall-pages"]["pagerduty_service"] == "P1A2B3C"
    assert prod["oncall-pages"]["escalation_policy"] == "prod-high-urgency"  # empty → default
    assert "legacy-helpdesk" not in prod  # declared inactive: nothing to create

