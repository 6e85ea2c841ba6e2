"""The simulated runner's expressions (tests/ghsim.py) read the examples as GitHub does: a
wrong reading would make the end-to-end example test pass on workflows GitHub runs otherwise."""

from __future__ import annotations

import pytest

from ghsim import condition, evaluate, substitute

CONTEXT = {
    "matrix": {"environment": "staging", "key": "ADAPTER_API_KEY_STAGING"},
    "secrets": {"ADAPTER_API_KEY_STAGING": "pk_live_ro_x"},
    "needs": {"plan-staging": {"outputs": {"has_changes": "true", "blocked": "false"},
                               "result": "success"}},
    "steps": {"plan": {"outputs": {"needs_force": "true"}, "outcome": "success"}},
    "inputs": {},
    "github": {"base_ref": "main"},
}


@pytest.mark.parametrize(("expression", "value"), [
    ("matrix.environment", "staging"),
    ("secrets[matrix.key]", "pk_live_ro_x"),
    ("needs.plan-staging.outputs.has_changes == 'true'", True),
    ("needs.plan-staging.outputs.has_changes == 'TRUE'", True),  # strings ignore case
    ("needs.plan-staging.outputs.blocked == 'false'", True),
    ("inputs.force && '--force' || ''", ""),  # a push: no inputs
    ("!inputs.force", True),
    ("steps.plan.outputs.needs_force == 'true' && !inputs.force", True),
    ("steps.missing.outputs.x == ''", True),
    ("format('{0}-{1}', 'a', matrix.environment)", "a-staging"),
    ("(1 == 1) || false", True),
])
def test_expressions(expression: str, value: object) -> None:
    assert evaluate(expression, CONTEXT) == value


def test_force_by_hand() -> None:
    assert evaluate("inputs.force && '--force' || ''", {**CONTEXT, "inputs": {"force": True}}) \
        == "--force"


def test_templates_and_conditions() -> None:
    assert substitute("connectors/${{ matrix.environment }}/", CONTEXT) == "connectors/staging/"
    assert substitute("origin/${{ github.base_ref }}", CONTEXT) == "origin/main"
    assert condition("steps.plan.outcome == 'success'", CONTEXT)
    failed = {**CONTEXT, "__status__": "failure"}
    assert not condition("steps.plan.outcome == 'success'", failed)  # success() && ...
    assert condition("always()", failed)
    assert condition(None, CONTEXT) and not condition(None, failed)
