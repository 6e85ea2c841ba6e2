"""Organisation policy (config ``policy:``, issue #18): rules written as JSON Schema, checked
offline by validate (so by plan and apply before any request) with each violation located,
findings for live connectors in the plan, warnings from import, one policy shared by several
environments, and hostile input refused without a network request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter_sync import policy
from adapter_sync.config import load, load_policy
from adapter_sync.engine import Engine, Settings
from adapter_sync.errors import ConfigError
from adapter_sync.model import LiveConnector, PolicyFinding
from clirun import run
from fake_api import serve_body

REPO = Path(__file__).resolve().parents[2]
OWNER = "{required: [metadata], properties: {metadata: {required: [owner]}}}"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(*paths: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load([str(p) for p in paths])
    return [str(p) for p in caught.value.problems]


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# --- severity, match, inline and file rules --------------------------------------------------


def test_an_error_rule_fails_validate_with_every_violation_located(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", f"""\
policy:
  - message: every connector names its owning team
    schema: {OWNER}
connectors:
  crm:
    name: CRM
  wiki:
    name: Wiki
    metadata:
      team: docs
  ok:
    name: OK
    metadata: {{owner: team-x}}
""")
    got = problems_of(path)
    assert got == [
        f"{path}:5:3: connectors.crm: policy: every connector names its owning team: "
        "'metadata' is a required property",
        f"{path}:9:5: connectors.wiki.metadata: policy: every connector names its owning "
        "team: 'owner' is a required property",
    ]


def test_a_violation_is_placed_at_the_failing_field(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", """\
policy:
  - schema: {properties: {accepted_kinds: {items: {enum: [email, message]}}}}
  - schema: {properties: {metadata: {properties: {env: {const: prod}}}}}
connectors:
  billing-a:
    name: Billing
    accepted_kinds: [email, issue]
    metadata:
      env: staging
""")
    got = problems_of(path)
    # the second kind, then the env value: each at its own column
    assert got == [
        f"{path}:7:29: connectors.billing-a.accepted_kinds[1]: policy: policy rule 1: "
        "'issue' is not one of ['email', 'message']",
        f"{path}:9:12: connectors.billing-a.metadata.env: policy: policy rule 2: "
        "'prod' was expected",
    ]


def test_a_value_merged_from_defaults_is_placed_at_the_connector(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", """\
policy:
  - schema: {properties: {metadata: {properties: {env: {const: prod}}}}}
defaults:
  metadata: {env: staging}
connectors:
  crm:
    name: CRM
  wiki:
    name: Wiki
    metadata: {team: docs}
""")
    got = problems_of(path)
    assert got[0].startswith(f"{path}:6:3: connectors.crm.metadata.env: policy:")
    assert got[1].startswith(f"{path}:10:5: connectors.wiki.metadata.env: policy:")  # metadata
    assert len(got) == 2


def test_a_warning_rule_is_reported_and_counted_but_does_not_fail(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", """\
policy:
  - severity: warning
    message: names stay short
    schema: {properties: {name: {maxLength: 5}}}
connectors:
  crm:
    name: CRM
  wiki:
    name: The company wiki
""")
    desired = load([str(path)])
    assert [str(w) for w in desired.policy_warnings] == [
        f"{path}:9:11: connectors.wiki.name: policy: names stay short: 'The company wiki' is "
        "too long"]
    assert desired.policy_findings == (PolicyFinding(
        "wiki", "names stay short", "warning", "name: 'The company wiki' is too long", True),)
    result = run(["validate", str(path)])
    assert result.code == 0
    assert result.out == "OK: 2 connectors in 1 file valid. 1 policy warning.\n"
    assert result.err == (f"Warning: {path}:9:11: connectors.wiki.name: policy: names stay "
                          "short: 'The company wiki' is too long\n")


def test_warnings_are_shown_too_when_an_error_fails_validate(tmp_path: Path) -> None:
    # every violation listed: a warning is not hidden until the errors are fixed
    path = write(tmp_path, "connectors.yaml", f"""\
policy:
  - severity: warning
    message: names stay short
    schema: {{properties: {{name: {{maxLength: 5}}}}}}
  - message: every connector names its owning team
    schema: {OWNER}
connectors:
  wiki:
    name: The company wiki
""")
    warning = (f"{path}:9:11: connectors.wiki.name: policy: names stay short: 'The company "
               "wiki' is too long")
    error = (f"{path}:8:3: connectors.wiki: policy: every connector names its owning team: "
             "'metadata' is a required property")
    with pytest.raises(ConfigError) as caught:
        load([str(path)])
    assert [str(w) for w in caught.value.warnings] == [warning]
    result = run(["validate", str(path)])
    assert result.code == 1
    assert result.err == f"Warning: {warning}\n{error}\n1 error found.\n"
    result = run(["validate", str(path)], env={"GITHUB_ACTIONS": "true"})
    assert result.out.splitlines()[0].startswith("::error file=")
    assert result.out.splitlines()[1].startswith("::warning file=")


def test_match_selects_connectors_by_glob_case_sensitively(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", """\
policy:
  - match: ["billing-*", "pay?"]
    message: billing accepts email only
    schema: {required: [accepted_kinds], properties: {accepted_kinds: {items: {const: email}}}}
connectors:
  billing-a: {name: A}
  pays: {name: P}
  payments: {name: Payments}
  xbilling-b: {name: B}
  billing-ok: {name: OK, accepted_kinds: [email]}
""")
    got = problems_of(path)
    assert [p.split(": ")[1] for p in got] == ["connectors.billing-a", "connectors.pays"]


def test_rules_from_files_relative_to_the_config_json_and_yaml(tmp_path: Path) -> None:
    write(tmp_path, "policies/kinds.schema.json", json.dumps(
        {"required": ["accepted_kinds"],
         "properties": {"accepted_kinds": {"minItems": 1, "items": {"enum": ["email"]}}}}))
    write(tmp_path, "policies/prefix.schema.yaml",
          "properties:\n  source_name: {pattern: '^team-'}\n")
    path = write(tmp_path, "env/connectors.yaml", """\
policy:
  - schema: ../policies/kinds.schema.json
    message: email only
  - schema: ../policies/prefix.schema.yaml
    message: team prefix
connectors:
  team-a: {name: A, accepted_kinds: [email]}
  b: {name: B, accepted_kinds: []}
""")
    got = problems_of(path)
    assert got == [
        f"{path}:8:32: connectors.b.accepted_kinds: policy: email only: [] should be non-empty",
        f"{path}:8:3: connectors.b.source_name: policy: team prefix: 'b' does not match "
        "'^team-'",
    ]


def test_numbers_in_an_inline_yaml_schema_are_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", """\
policy:
  - schema: {properties: {metadata: {maxProperties: 1.0e0}}}
connectors:
  a: {name: A, metadata: {k1: "1", k2: "2"}}
""")
    assert "has too many properties" in problems_of(path)[0]


# --- a policy that cannot be used --------------------------------------------------------------


def test_a_policy_file_that_is_not_a_json_schema_is_an_error_at_the_rule(tmp_path: Path) -> None:
    write(tmp_path, "bad.schema.json", json.dumps({"type": 12}))
    path = write(tmp_path, "connectors.yaml", """\
connectors:
  a: {name: A}
policy:
  - message: fine
    schema: {required: [name]}
  - schema: bad.schema.json
""")
    got = problems_of(path)
    assert len(got) == 1
    assert got[0].startswith(f"{path}:6:13: policy[1].schema: {tmp_path / 'bad.schema.json'}: "
                             "not a valid JSON Schema: 12 is not valid under any of the given "
                             "schemas")


def test_an_inline_schema_that_is_not_a_json_schema_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", """\
policy:
  - schema: {required: name}
""")
    got = problems_of(path)
    assert got == [f"{path}:2:24: policy[0].schema.required: not a valid JSON Schema: 'name' is "
                   "not of type 'array'"]


@pytest.mark.parametrize("content, reason", [
    (b"\x00\x01\x02 binary \xff", "not UTF-8 text"),
    (b"{not json", "not valid JSON (Expecting property name enclosed in double quotes at "
                   "line 1 column 2)"),
    (b"", "not valid JSON"),
])
def test_a_policy_file_that_is_not_json_is_an_error(tmp_path: Path, content: bytes,
                                                    reason: str) -> None:
    (tmp_path / "rule.json").write_bytes(content)
    path = write(tmp_path, "connectors.yaml", "policy:\n  - schema: rule.json\n")
    got = problems_of(path)
    assert len(got) == 1 and reason in got[0] and got[0].startswith(f"{path}:2:13: ")


def test_a_yaml_policy_file_that_is_not_yaml_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "rule.yaml", "properties: [unclosed\n")
    path = write(tmp_path, "connectors.yaml", "policy:\n  - schema: rule.yaml\n")
    got = problems_of(path)
    assert got[0].startswith(f"{tmp_path / 'rule.yaml'}:2:1: YAML syntax error")
    assert got[1] == f"{path}:2:13: policy[0].schema: {tmp_path / 'rule.yaml'}: cannot be read " \
                     "(see above)"


def test_a_missing_policy_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", "policy:\n  - schema: nowhere.json\n")
    assert problems_of(path) == [
        f"{path}:2:13: policy[0].schema: {tmp_path / 'nowhere.json'}: no such file"]


def test_a_rule_with_an_unknown_key_or_no_schema_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", """\
policy:
  - schema: {}
    sevrity: warning
  - {schema: {}, severity: fatal}
""")
    assert problems_of(path) == [
        f"{path}:3:5: policy[0]: unknown key 'sevrity' (did you mean 'severity'?)",
        f"{path}:4:28: policy[1].severity: unknown severity 'fatal'; expected one of: error, "
        "warning"]  # each once
    path.write_text("policy:\n  - message: no schema\n  - {include: x.yaml, match: [a]}\n")
    assert problems_of(path) == [
        f"{path}:2:5: policy[0]: missing required key 'schema'",
        f"{path}:3:5: policy[1]: include stands alone (found also: match)"]


def test_the_rules_of_an_included_file_are_checked_too(tmp_path: Path) -> None:
    write(tmp_path, "org.yaml", "policy:\n  - {schema: {}, severity: fatal}\n  - schema: 3\n"
          "  - {schema: {}, colour: red}\n")
    path = write(tmp_path, "connectors.yaml", "policy:\n  - include: org.yaml\n")
    org = tmp_path / "org.yaml"
    assert problems_of(path) == [
        f"{org}:2:28: policy[0].severity: expected error or warning",
        f"{org}:3:13: policy[1].schema: expected a mapping (an inline JSON Schema) or a file "
        "path",
        f"{org}:4:18: policy[2]: unknown key 'colour' (a rule has schema, match, message, "
        "severity)"]


# --- hostile input --------------------------------------------------------------------------


@pytest.fixture
def listening() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server that records every request it receives."""
    seen: list[str] = []
    with serve_body(json.dumps({"type": "object"}).encode(), seen) as port:
        yield port, seen


def test_a_remote_ref_is_refused_and_nothing_is_fetched(tmp_path: Path, listening) -> None:
    port, seen = listening
    url = f"http://127.0.0.1:{port}/owner.schema.json"
    write(tmp_path, "remote.schema.json", json.dumps(
        {"properties": {"metadata": {"$ref": url}}}))
    path = write(tmp_path, "connectors.yaml", f"""\
policy:
  - schema: remote.schema.json
  - schema: {{$ref: "{url}#/definitions/x"}}
connectors:
  a: {{name: A, metadata: {{owner: x}}}}
""")
    got = problems_of(path)
    assert len(got) == 2
    assert got[0].startswith(f"{path}:2:13: policy[0].schema: {tmp_path / 'remote.schema.json'}:"
                             f" refers to '{url}' outside the schema; policies are checked "
                             "offline and nothing is fetched")
    assert got[0].endswith("(at properties/metadata/$ref)")
    assert got[1].startswith(f"{path}:3:20: policy[1].schema.$ref: refers to '{url}#/definitions/x'")
    result = run(["validate", str(path)])
    assert result.code == 1 and "nothing is fetched" in result.err
    assert seen == []  # no request reached the server


def test_a_relative_ref_is_refused_too(tmp_path: Path) -> None:
    write(tmp_path, "other.json", "{}")
    path = write(tmp_path, "connectors.yaml", "policy:\n  - schema: {$ref: other.json}\n")
    assert "refers to 'other.json' outside the schema" in problems_of(path)[0]


@pytest.mark.parametrize(("schema", "at", "ref"), [
    ("{properties: {metadata: {$ref: '#/$defs/owner'}}}", "properties.metadata.$ref",
     "#/$defs/owner"),
    ("{$id: 'https://example.com/p/', properties: {name: {$ref: '#/definitions/x'}},"
     " definitions: {z: {type: string}}}", "properties.name.$ref", "#/definitions/x"),
    ("{$defs: {x: {$anchor: owner}}, items: {$ref: '#ownr'}}", "items.$ref", "#ownr"),
])
def test_a_local_ref_to_nowhere_is_an_error_at_the_rule_not_at_each_connector(
        tmp_path: Path, schema: str, at: str, ref: str) -> None:
    path = write(tmp_path, "connectors.yaml", f"""policy:
  - schema: {schema}
connectors:
  a: {{name: A}}
  b: {{name: B}}
""")
    got = problems_of(path)
    assert len(got) == 1, got
    assert got[0].startswith(f"{path}:2:")
    assert f"policy[0].schema.{at}: refers to {ref!r}, which is not in the schema" in got[0]


def test_the_validator_itself_refuses_to_retrieve(listening) -> None:
    """Belt and braces: a reference the static check does not see (an $id base making '#...'
    remote is not one, but the registry is the last guard) is never retrieved."""
    port, seen = listening
    checker = policy.Checker({"$defs": {"a": {"type": "string"}},
                              "properties": {"x": {"$ref": "#/$defs/a"}}})
    assert checker.errors({"x": 1})[0][2] == "1 is not of type 'string'"
    from referencing import Registry
    from referencing.exceptions import Unresolvable

    registry = Registry(retrieve=policy._refuse_retrieval)  # type: ignore[call-arg]
    with pytest.raises(Unresolvable):
        registry.resolver().lookup(f"http://127.0.0.1:{port}/x.json")
    assert seen == []


def test_a_schema_that_refers_to_itself_without_end_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", """\
policy:
  - schema: {$ref: "#"}
  - schema: {properties: {metadata: {$ref: "#"}}}
connectors:
  a: {name: A, metadata: {owner: x}}
""")
    got = problems_of(path)
    assert got == [f"{path}:2:13: policy[0].schema: the schema refers to itself without end"]


def test_a_deeply_nested_policy_file_is_refused_without_a_crash(tmp_path: Path) -> None:
    depth = 100_000
    (tmp_path / "deep.json").write_text('{"not":' * depth + "{}" + "}" * depth)
    path = write(tmp_path, "connectors.yaml", "policy:\n  - schema: deep.json\n")
    got = problems_of(path)
    assert len(got) == 1 and got[0].startswith(f"{path}:2:13: policy[0].schema: ")
    assert "nested too deeply" in got[0]


def test_a_huge_policy_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "huge.json"
    with big.open("w") as f:
        f.write('{"enum": [')
        f.write(",".join(['"' + "x" * 100 + '"'] * 110_000))
        f.write("]}")
    path = write(tmp_path, "connectors.yaml", "policy:\n  - schema: huge.json\n")
    got = problems_of(path)
    assert len(got) == 1 and "too large" in got[0] and "the limit is 10 MB" in got[0]


@pytest.mark.parametrize("name", ["zero.json", "zero.yaml"])
def test_a_policy_file_that_is_a_device_is_refused_without_reading_it(tmp_path: Path,
                                                                      name: str) -> None:
    # a symlink committed in a pull request can point anywhere: /dev/zero never ends
    (tmp_path / name).symlink_to("/dev/zero")
    path = write(tmp_path, "connectors.yaml", f"policy:\n  - schema: {name}\n")
    got = problems_of(path)
    assert got and all("not a regular file" in g for g in got[:-1] or got)
    assert got[-1].startswith(f"{path}:2:13: policy[0].schema: ")


def test_an_included_policy_file_that_is_a_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").symlink_to("/dev/zero")
    path = write(tmp_path, "connectors.yaml", "policy:\n  - include: org.yaml\n")
    got = problems_of(path)
    assert got and any("not a regular file" in g for g in got), got


def test_an_unknown_schema_dialect_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml",
                 "policy:\n  - schema: {$schema: 'http://example.com/my-dialect'}\n")
    assert "unknown $schema 'http://example.com/my-dialect'" in problems_of(path)[0]


# --- shared across files and environments ---------------------------------------------------


def shared_policy(root: Path) -> None:
    write(root, "policies/owner.schema.json", json.dumps(
        {"properties": {"metadata": {"required": ["owner"]}}, "required": ["metadata"]}))
    write(root, "policies/org.yaml", """\
policy:
  - message: every connector names its owner
    schema: owner.schema.json
  - match: ["billing-*"]
    severity: warning
    message: billing takes email
    schema: {required: [accepted_kinds]}
""")


def test_one_policy_file_shared_by_two_environments(tmp_path: Path) -> None:
    shared_policy(tmp_path)
    staging = write(tmp_path, "envs/staging/connectors.yaml", """\
policy:
  - include: ../../policies/org.yaml
connectors:
  crm: {name: CRM, metadata: {owner: a}}
  billing-x: {name: Billing, metadata: {owner: b}}
""")
    prod = write(tmp_path, "envs/prod/connectors.yaml", """\
policy:
  - include: ../../policies/org.yaml
  - message: prod carries env prod
    schema: {properties: {metadata: {required: [env]}}}
connectors:
  crm: {name: CRM, metadata: {team: x}}
""")
    desired = load([str(staging)])
    assert [r.label for r in desired.policy] == ["every connector names its owner",
                                                 "billing takes email"]
    assert [f.source_name for f in desired.policy_findings] == ["billing-x"]
    got = problems_of(prod)
    assert got == [
        f"{prod}:6:20: connectors.crm.metadata: policy: every connector names its owner: "
        "'owner' is a required property",
        f"{prod}:6:20: connectors.crm.metadata: policy: prod carries env prod: 'env' is a "
        "required property"]


def test_policy_set_identically_in_several_files_of_one_config(tmp_path: Path) -> None:
    shared_policy(tmp_path)
    write(tmp_path, "config/a.yaml", "policy:\n  - include: ../policies/org.yaml\n"
          "connectors:\n  a: {name: A}\n")
    write(tmp_path, "config/sub/b.yaml", "policy:\n  - include: ../../policies/org.yaml\n"
          "connectors:\n  b: {name: B, metadata: {owner: x}}\n")
    got = problems_of(tmp_path / "config")
    assert len(got) == 1 and "connectors.a: policy: every connector names its owner" in got[0]
    write(tmp_path, "config/sub/b.yaml", "policy:\n  - schema: {}\n")
    got = problems_of(tmp_path / "config")
    assert got == [f"{tmp_path / 'config/sub/b.yaml'}:1:1: policy: differs from the policy at "
                   f"{tmp_path / 'config/a.yaml'}:1:1; set it in one file, or identically in "
                   "every file (a shared file: - include: PATH)"]


def test_an_included_file_cannot_include_another_or_hold_other_keys(tmp_path: Path) -> None:
    write(tmp_path, "inner.yaml", "policy:\n  - include: other.yaml\n")
    write(tmp_path, "odd.yaml", "policy: []\nconnectors: {}\n")
    path = write(tmp_path, "connectors.yaml",
                 "policy:\n  - include: inner.yaml\n  - include: odd.yaml\n"
                 "  - include: gone.yaml\n")
    got = problems_of(path)
    assert got == [
        f"{tmp_path / 'inner.yaml'}:2:5: policy[0]: an included policy file cannot include "
        "another",
        f"{path}:3:5: policy[1].include: {tmp_path / 'odd.yaml'} must be a mapping whose only "
        "key is 'policy' (a list of rules)",
        f"{path}:4:5: policy[2].include: {tmp_path / 'gone.yaml'}: no such file"]


def test_the_example_policies_validate_and_catch_what_they_promise(tmp_path: Path) -> None:
    for env in ("staging", "prod"):
        desired = load([str(REPO / "examples" / "with-policy" / env)])
        assert len(desired.policy) == 4 and not desired.policy_warnings
    import shutil

    for folder in ("policies", "with-policy"):  # a copy, laid out alike
        shutil.copytree(REPO / "examples" / folder, tmp_path / folder)
    path = tmp_path / "with-policy/prod/connectors.yaml"
    bad = path.read_text()
    bad = bad.replace("metadata: {owner: team-sre}", "metadata: {owner: sre, env: staging}")
    bad = bad.replace("accepted_kinds: [email]\n", "accepted_kinds: [email, issue]\n")
    bad = bad.replace("  support-inbox:", "  helpdesk:")
    path.write_text(bad)
    got = problems_of(path)
    text = "\n".join(got)
    assert "billing connectors accept only email and message events: 'issue'" in text
    assert "connectors.helpdesk.source_name: policy: source_names start with a team prefix" \
        in text
    assert "connectors.sre-pages.metadata.owner: policy: every connector names its owning team" \
        in text
    assert "connectors.sre-pages.metadata.env: policy: production connectors carry env prod" \
        in text


# --- GitHub annotations ------------------------------------------------------------------------


def test_github_annotations_for_errors_and_warnings(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", """\
policy:
  - severity: warning
    message: 'names: short'
    schema: {properties: {name: {maxLength: 3}}}
connectors:
  crm: {name: CRM}
  wiki: {name: Wiki}
""")
    result = run(["validate", str(path)], env={"GITHUB_ACTIONS": "true"})
    assert result.code == 0
    assert result.out.splitlines()[0] == (
        f"::warning file={path},line=7,col=16::connectors.wiki.name: policy: names: short: "
        "'Wiki' is too long")
    path.write_text(path.read_text().replace("severity: warning", "severity: error"))
    result = run(["validate", str(path)], env={"GITHUB_ACTIONS": "true"})
    assert result.code == 1
    assert result.out == (f"::error file={path},line=7,col=16::connectors.wiki.name: policy: "
                          "names: short: 'Wiki' is too long\n")
    assert result.err.endswith("1 error found.\n")


# --- live connectors: plan and import --------------------------------------------------------


def sandbox_engine(tmp_path: Path) -> Engine:
    return Engine(Settings(api_url=f"sandbox:{tmp_path / 'sandbox.db'}"))


def seed(engine: Engine, tmp_path: Path) -> None:
    everything = write(tmp_path, "seed.yaml", """\
connectors:
  crm: {name: CRM, metadata: {owner: a}}
  billing-x: {name: Billing, accepted_kinds: [issue]}
  billing-y: {name: Billing Y, accepted_kinds: [email], metadata: {owner: b}}
  wiki: {name: Wiki, metadata: {owner: c}}
""")
    assert engine.apply([str(everything)]).result.ok


def test_plan_lists_unmanaged_live_connectors_breaking_a_rule(tmp_path: Path) -> None:
    engine = sandbox_engine(tmp_path)
    seed(engine, tmp_path)
    config = write(tmp_path, "config/connectors.yaml", f"""\
policy:
  - message: every connector names its owner
    schema: {OWNER}
  - match: ["billing-*"]
    message: billing takes email
    severity: warning
    schema: {{properties: {{accepted_kinds: {{items: {{const: email}}}}}}}}
  - message: names stay short
    severity: warning
    schema: {{properties: {{name: {{maxLength: 3}}}}}}
connectors:
  crm: {{name: CRM, metadata: {{owner: a}}}}
  wiki: {{name: Wiki, metadata: {{owner: c}}}}
""")
    planned = engine.plan([str(config)])
    assert planned.plan.unmanaged == ("billing-x", "billing-y")
    assert not planned.plan.has_changes  # never acted on
    assert planned.plan.policy == (
        PolicyFinding("billing-x", "every connector names its owner", "error",
                      "'metadata' is a required property", False),
        PolicyFinding("billing-x", "billing takes email", "warning",
                      "accepted_kinds[0]: 'email' was expected", False),
        PolicyFinding("billing-x", "names stay short", "warning",
                      "name: 'Billing' is too long", False),
        PolicyFinding("billing-y", "names stay short", "warning",
                      "name: 'Billing Y' is too long", False),
        PolicyFinding("wiki", "names stay short", "warning", "name: 'Wiki' is too long", True),
    )
    only_wiki = engine.plan([str(config)], selection=__import__(
        "adapter_sync.engine", fromlist=["select"]).select(include=["wiki"]))
    assert [f.source_name for f in only_wiki.plan.policy] == ["wiki"]


def test_plan_without_policy_has_no_findings(tmp_path: Path) -> None:
    engine = sandbox_engine(tmp_path)
    seed(engine, tmp_path)
    config = write(tmp_path, "c.yaml", "connectors:\n  crm: {name: CRM}\n")
    assert engine.plan([str(config)]).plan.policy == ()


def test_an_error_rule_stops_plan_before_any_request(tmp_path: Path) -> None:
    config = write(tmp_path, "c.yaml", f"policy:\n  - schema: {OWNER}\nconnectors:\n"
                   "  crm: {name: CRM}\n")
    result = run(["--api-url", "http://127.0.0.1:9/v1", "plan", str(config)],
                 env={"ADAPTER_API_KEY": "pk_test_x"})
    assert result.code == 1
    assert "connectors.crm: policy: policy rule 1: 'metadata' is a required property" \
        in result.err
    assert "Error:" not in result.err  # a config error, not a failed connection


def test_import_warns_about_each_connector_it_writes_breaking_a_rule(tmp_path: Path,
                                                                     monkeypatch) -> None:
    engine = sandbox_engine(tmp_path)
    seed(engine, tmp_path)
    config = write(tmp_path, "policy-config/connectors.yaml",
                   f"policy:\n  - message: owner\n    schema: {OWNER}\n")
    imported = engine.import_(policy_from=[str(config)])
    assert imported.policy_warnings == (
        "connectors.billing-x: policy (error): owner: 'metadata' is a required property",)
    assert "billing-x:" in (imported.text or "")  # written all the same
    monkeypatch.chdir(tmp_path / "policy-config")  # ./connectors.yaml: used by default
    result = run(["--api-url", f"sandbox:{tmp_path / 'sandbox.db'}", "import",
                  "-o", str(tmp_path / "out.yaml")])
    assert result.code == 0, result.err
    assert ("Warning: connectors.billing-x: policy (error): owner: 'metadata' is a required "
            "property\n") in result.err
    monkeypatch.chdir(tmp_path)  # no config here: no policy, no warning
    result = run(["--api-url", f"sandbox:{tmp_path / 'sandbox.db'}", "import"])
    assert result.code == 0 and "policy" not in result.err


def test_load_policy_reads_only_the_rules(tmp_path: Path) -> None:
    config = write(tmp_path, "c.yaml", f"policy:\n  - schema: {OWNER}\n"
                   "connectors:\n  crm: {name: CRM}\n")  # crm breaks it: not checked here
    rules = load_policy([str(config)])
    assert [r.label for r in rules] == ["policy rule 1"]
    with pytest.raises(ConfigError, match="policy: expected a list of rules"):
        load_policy([str(write(tmp_path, "d.yaml", "policy: {schema: {}}\n"))])


# --- compiled once, and the remembered verdicts are exact ------------------------------------


def test_each_rule_is_compiled_once(tmp_path: Path, monkeypatch) -> None:
    made: list[object] = []
    real = policy.Checker

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, schema: object) -> None:
            made.append(schema)
            super().__init__(schema)

    monkeypatch.setattr(policy, "Checker", Counting)
    body = "\n".join(f"  c-{i}: {{name: C{i}, metadata: {{owner: x}}}}" for i in range(200))
    path = write(tmp_path, "c.yaml", f"policy:\n  - schema: {OWNER}\n  - schema: {{}}\n"
                 f"connectors:\n{body}\n")
    assert len(load([str(path)]).connectors) == 200
    assert len(made) == 2


def test_live_view_is_what_import_writes() -> None:
    live = LiveConnector("id-1", "crm", "CRM", frozenset({"page", "email"}), {"a": "b"}, False)
    assert policy.live_view(live) == {"source_name": "crm", "name": "CRM",
                                      "accepted_kinds": ["email", "page"],
                                      "metadata": {"a": "b"}, "active": False}
    assert policy.live_view(LiveConnector("id-2", "x", "X")) == {"source_name": "x", "name": "X"}


SCHEMAS = [
    {"required": ["metadata"], "properties": {"metadata": {"required": ["owner"],
                                                           "properties": {"owner": {
                                                               "pattern": "^team-"}}}}},
    {"properties": {"accepted_kinds": {"minItems": 1, "items": {"enum": ["email", 1]}}}},
    {"type": "object", "properties": {"n": {"type": "integer"}, "b": {"const": True}},
     "maxProperties": 2},
    {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
    {"additionalProperties": False, "properties": {"a": {}}},
    {"properties": {"owner": {"pattern": "^te", "maxLength": 5}, "a": {"pattern": "x"}},
     "required": ["a"]},
    {"items": {"minLength": 1}, "maxItems": 2},
    {"$defs": {"x": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/x"}},
     "required": ["owner"]},
]
values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(
        ["email", "team-a", "x", ""])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(
        st.sampled_from(["metadata", "owner", "accepted_kinds", "n", "b", "a"]), inner,
        max_size=3)),
    max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, min_size=1, max_size=12))
def test_remembered_verdicts_agree_with_jsonschema(instances: list[object]) -> None:
    from jsonschema import Draft202012Validator

    for schema in SCHEMAS:
        checker = policy.Checker(schema)  # one checker for all: verdicts are remembered
        reference = Draft202012Validator(schema)
        for instance in instances:
            assert (not checker.errors(instance)) == reference.is_valid(instance), (
                schema, instance)


def test_the_base_of_a_three_way_plan_is_read_without_its_policy(tmp_path: Path) -> None:
    """The base's rules change no action, and at a git revision the files they name may not
    be among the paths read: they are not opened."""
    engine = sandbox_engine(tmp_path)
    seed(engine, tmp_path)
    base = write(tmp_path, "base/connectors.yaml", "policy:\n  - include: ../gone.yaml\n"
                 "connectors:\n  crm: {name: CRM, metadata: {owner: a}}\n")
    config = write(tmp_path, "new/connectors.yaml", "connectors:\n"
                   "  crm: {name: CRM, metadata: {owner: a}}\n  wiki: {name: Wiki 2}\n")
    planned = engine.plan([str(config)], base=str(base.parent))
    assert [(a.source_name, a.origin) for a in planned.plan.actions] == [("wiki", "change")]
    with pytest.raises(ConfigError, match="gone.yaml: no such file"):
        load([str(base)])


def test_plan_shows_the_declared_warnings_on_stderr(tmp_path: Path) -> None:
    config = write(tmp_path, "c.yaml", "policy:\n  - severity: warning\n"
                   "    schema: {properties: {name: {maxLength: 2}}}\n"
                   "connectors:\n  crm: {name: CRM}\n")
    result = run(["--api-url", f"sandbox:{tmp_path / 'sandbox.db'}", "plan", "--format",
                  "json", str(config)])
    assert result.code == 0, result.err
    assert (f"Warning: {config}:5:15: connectors.crm.name: policy: policy rule 1: 'CRM' is "
            "too long\n") in result.err
    json.loads(result.out)  # stdout: the document alone


def test_an_unusable_rule_is_reported_with_the_other_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors.yaml", "policy:\n  - schema: {type: 12}\n"
                 "connectors:\n  crm: {name: CRM, active: maybe}\n")
    got = problems_of(path)
    assert len(got) == 2
    assert got[0].startswith(f"{path}:4:28: connectors.crm.active: expected true or false")
    assert got[1].startswith(f"{path}:2:20: policy[0].schema.type: not a valid JSON Schema")
