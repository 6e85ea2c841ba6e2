"""config.load: discovery, defaults, settings across files, env vars, schema consistency."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapter_sync import model
from adapter_sync.config import discover, interpolate, load, schema, schema_path
from adapter_sync.config.schema import valid_connector, valid_document, validators
from adapter_sync.config.yamlload import REJECTED, Plain
from adapter_sync.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "connectors.yaml"
KEY = "pk_live_s3cr3t_for_config_tests"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.setenv("ADAPTER_API_KEY", KEY)
    for name in ("SUPPORT_REGION", "TEAM", "EMPTY", "UNSET_VAR"):
        monkeypatch.delenv(name, raising=False)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(paths, **options) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load([str(p) for p in paths], **options)
    return [str(p) for p in caught.value.problems]


def test_the_example_validates_with_defaults_applied():
    desired = load([str(EXAMPLE)])
    c = desired.connectors
    assert list(c) == ["acme-crm", "support-inbox", "wiki", "everything-bus", "old-tracker"]
    assert c["acme-crm"].accepted_kinds == {"email", "page"}
    assert c["support-inbox"].accepted_kinds == {"email", "message"}  # from defaults
    assert c["everything-bus"].accepted_kinds == frozenset()  # explicit []: all kinds, no default
    assert c["support-inbox"].metadata == {"env": "production", "owner": "support-team"}
    assert c["support-inbox"].name == "Support inbox (eu)"  # ${SUPPORT_REGION:-eu}
    assert c["wiki"].metadata["enabled"] == "yes"
    assert c["old-tracker"].active is False and c["wiki"].active is True
    assert desired.ignore == ("legacy-*", "manual-import") and desired.prune is False
    assert desired.files == (str(EXAMPLE),)
    loc = c["acme-crm"].location
    assert loc is not None and (loc.file, loc.col) == (str(EXAMPLE), 3)
    assert EXAMPLE.read_text().splitlines()[loc.line - 1].strip() == "acme-crm:"


def test_example_modeline_points_at_the_schema():
    first = EXAMPLE.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/connectors.schema.json"
    assert (EXAMPLE.parent / first.split("=", 1)[1]).resolve() == schema_path().resolve()


def test_schema_path_from_the_source_tree():
    assert schema_path() == REPO / "schemas" / "connectors.schema.json"


def test_schema_path_when_installed(tmp_path: Path):
    """As the wheel lays it out: the schema force-included next to the package's modules."""
    import shutil
    import subprocess
    import sys

    site = tmp_path / "site"
    shutil.copytree(REPO / "src" / "adapter_sync", site / "adapter_sync",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "schemas" / "connectors.schema.json",
                site / "adapter_sync" / "connectors.schema.json")
    code = ("from adapter_sync.config import schema, schema_path; "
            "print(schema_path()); print(schema()['definitions']['kind']['enum'][0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)})
    assert out.stdout.splitlines() == [str(site / "adapter_sync" / "connectors.schema.json"),
                                       "email"]


def test_schema_agrees_with_the_model_constants():
    definitions = schema()["definitions"]
    assert definitions["source_name"]["pattern"] == model.SLUG_PATTERN
    assert definitions["kind"]["enum"] == list(model.KINDS)
    assert definitions["connector"]["properties"]["name"]["maxLength"] == model.NAME_MAX
    assert definitions["metadata"]["maxProperties"] == model.METADATA_MAX_KEYS


def test_schema_forbids_unknown_keys_everywhere():
    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object" or "object" in (node.get("type") or []):
                assert "additionalProperties" in node, node.get("title")
            for value in node.values():
                walk(value)
    walk(schema())
    assert json.loads(schema_path().read_text())["$schema"].startswith("http://json-schema.org/draft-07")


connector_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=3),
    st.sampled_from(["email", "page", "issue", "x" * 256, ""]),
    st.lists(st.sampled_from([*model.KINDS, "emial", 3]), max_size=4),
    st.dictionaries(st.text(max_size=3), st.one_of(st.text(max_size=3), st.integers()),
                    max_size=22),
    st.sampled_from([Plain("yes", "boolean"), Plain("1.10", "number"), REJECTED]),
)
connector_bodies = st.one_of(
    st.dictionaries(st.sampled_from(["name", "accepted_kinds", "metadata", "active", "nme"]),
                    connector_values, max_size=5),
    st.none(), st.text(max_size=3), st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(connector_bodies)
@example({"name": "x" * 255, "accepted_kinds": ["email", "page"], "active": False})
@example({"name": "x" * 256})
@example({"name": "A", "accepted_kinds": ["email", "email"]})
@example({"name": "A", "metadata": {str(i): "v" for i in range(21)}})
@example({"name": "A", "active": Plain("yes", "boolean")})
def test_fast_connector_check_agrees_with_the_schema(body):
    _, connector_validator = validators()
    assert valid_connector(body) == connector_validator.is_valid(body)


root_documents = st.fixed_dictionaries({}, optional={
    "version": st.sampled_from([1, 2, None, "1", True, 1.0]),
    "prune": st.sampled_from([True, False, None, "yes", 0]),
    "ignore": st.one_of(st.none(), st.text(max_size=2),
                        st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=3)),
    "defaults": st.one_of(st.none(), st.integers(), st.dictionaries(
        st.sampled_from(["accepted_kinds", "metadata", "name", "active"]), connector_values,
        max_size=3)),
    "connectors": st.sampled_from([{}, None, [], "x"]),
    "extra": st.integers(),
})


@settings(max_examples=300, deadline=None)
@given(root_documents)
def test_fast_root_check_agrees_with_the_schema(doc):
    """As the loader uses it: on the file with its connectors left out (checked one by one)."""
    root_validator, _ = validators()
    assert valid_document(doc) == root_validator.is_valid(doc)


def test_a_valid_config_imports_neither_jsonschema_nor_fastjsonschema(tmp_path: Path):
    import subprocess
    import sys

    f = write(tmp_path, "c.yaml", "version: 1\nprune: false\nignore: [old-*]\n"
              "defaults: {accepted_kinds: [email], metadata: {env: prod}}\n"
              "connectors:\n  a: {name: A, metadata: {team: x}}\n")
    code = ("import sys; from adapter_sync.config import load; load([sys.argv[1]]); "
            "print('jsonschema' in sys.modules, 'fastjsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True, text=True,
                         check=True, env={**__import__("os").environ,
                                          "PYTHONPATH": str(Path(__file__).parents[2] / "src")})
    assert out.stdout.strip() == "False False"


def test_discover_folders_recursively_sorted_skipping_hidden(tmp_path: Path):
    for name in ("b.yaml", "a/z.yml", "a/b.yaml", ".hidden/x.yaml", "notes.txt", "c.YAML.bak"):
        write(tmp_path, name, "connectors: {}\n")
    found = discover([str(tmp_path)])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a/b.yaml", "a/z.yml",
                                                                    "b.yaml"]


def test_discover_dedupes_a_file_named_twice(tmp_path: Path):
    f = write(tmp_path, "c.yaml", "connectors: {}\n")
    assert discover([str(f), str(tmp_path)]) == [f]


def test_missing_path_and_empty_folder_are_clear_errors(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    got = problems_of([tmp_path / "nope.yaml", tmp_path / "empty"])
    assert got == [f"{tmp_path / 'nope.yaml'}: no such file or folder",
                   f"{tmp_path / 'empty'}: no *.yaml or *.yml files in this folder"]


def test_default_paths(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="neither ./connectors.yaml nor ./connectors/"):
        load([])
    write(tmp_path, "connectors/one.yaml", "connectors:\n  one: {name: One}\n")
    assert load([]).files == (os.path.join("connectors", "one.yaml"),)
    write(tmp_path, "connectors.yaml", "connectors:\n  top: {name: Top}\n")
    desired = load([])
    assert list(desired.connectors) == ["top"] and desired.files == ("connectors.yaml",)
    assert desired.connectors["top"].location.file == "connectors.yaml"


def test_settings_only_file_and_empty_connectors_are_fine(tmp_path: Path):
    a = write(tmp_path, "a.yaml", "version: 1\nprune: true\nignore: [legacy-*]\n")
    b = write(tmp_path, "b.yaml", "connectors:\n")
    c = write(tmp_path, "c.yaml", "connectors:\n  acme: {name: Acme}\n")
    desired = load([str(a), str(b), str(c)])
    assert desired.prune is True and desired.ignore == ("legacy-*",)
    assert list(desired.connectors) == ["acme"]


def test_same_source_name_in_two_files_names_both_places(tmp_path: Path):
    a = write(tmp_path, "a.yaml", "connectors:\n  acme: {name: A}\n")
    b = write(tmp_path, "b.yaml", "# other team\nconnectors:\n  acme: {name: B}\n")
    assert problems_of([a, b]) == [
        f"{b}:3:3: connectors.acme: source_name 'acme' is already declared at {a}:2:3"]


def test_conflicting_settings_name_both_files(tmp_path: Path):
    a = write(tmp_path, "a.yaml", "prune: true\nignore: [x-*, y-*]\n")
    b = write(tmp_path, "b.yaml", "ignore: [y-*, x-*]\nprune: true\n")  # same: fine
    c = write(tmp_path, "c.yaml", "\nprune: false\nignore: [x-*]\n")
    assert problems_of([a, b, c]) == [
        f"{c}:2:1: prune: false conflicts with prune: true at {a}:1:1; set it in one file, "
        "or identically in every file",
        f'{c}:3:1: ignore: ["x-*"] conflicts with ignore: ["x-*", "y-*"] at {a}:2:1; set it '
        "in one file, or identically in every file",
    ]


def test_all_problems_of_all_files_are_reported(tmp_path: Path):
    a = write(tmp_path, "a.yaml", "connectors:\n  Bad: {name: x}\n  ok: {nme: y}\n")
    b = write(tmp_path, "b.yaml", "connectors: [\n")
    got = problems_of([a, b])
    assert [g.split(": ")[0] for g in got] == [f"{a}:2:3", f"{a}:3:3", f"{a}:3:8", f"{b}:2:1"]


def test_metadata_limit_counts_merged_defaults_at_the_connector(tmp_path: Path):
    meta = "".join(f"    d{i}: v\n" for i in range(19))
    f = write(tmp_path, "c.yaml", f"defaults:\n  metadata:\n{meta}connectors:\n"
              "  fits: {name: A, metadata: {d0: own, extra: x}}\n"
              "  over: {name: B, metadata: {e1: x, e2: z}}\n")
    got = problems_of([f])
    assert got == [f"{f}:24:3: connectors.over: metadata has 21 keys once defaults.metadata is "
                   "merged; at most 20 are allowed"]


def test_null_means_absent_for_optional_keys(tmp_path: Path):
    f = write(tmp_path, "c.yaml", "version:\nprune: ~\nignore:\ndefaults:\n"
              "connectors:\n  a:\n    name: A\n    accepted_kinds:\n    metadata: null\n"
              "    active:\n")
    c = load([str(f)]).connectors["a"]
    assert (c.accepted_kinds, dict(c.metadata), c.active) == (frozenset(), {}, True)


def test_interpolation_rules():
    env = {"TEAM": "core", "EMPTY": ""}
    assert interpolate("${TEAM}-x", env) == ("core-x", [])
    assert interpolate("${UNSET_VAR:-fallback}", env) == ("fallback", [])
    assert interpolate("${EMPTY:-fallback}", env) == ("fallback", [])
    assert interpolate("${EMPTY}", env) == ("", [])
    assert interpolate("cost $5, $${TEAM}", env) == ("cost $5, ${TEAM}", [])
    text, problems = interpolate("${UNSET_VAR}", env)
    assert text == "${UNSET_VAR}" and problems and "UNSET_VAR is not set" in problems[0]
    assert "invalid ${...} reference" in interpolate("${TEAM", env)[1][0]


def test_a_default_may_hold_references():
    env = {"B": "b", "A": "a", "EMPTY": ""}
    assert interpolate("${UNSET_VAR:-${B}}", env) == ("b", [])
    assert interpolate("${UNSET_VAR:-${UNSET_VAR:-x}}", env) == ("x", [])
    assert interpolate("${EMPTY:-pre-${B}-post}!", env) == ("pre-b-post!", [])
    assert interpolate("${A:-${UNSET_VAR}}", env) == ("a", [])  # the default is not used
    assert interpolate("${UNSET_VAR:-x}}", env) == ("x}", [])  # the first } closes it
    assert interpolate("${UNSET_VAR:-$${B}}", env) == ("${B}", [])
    text, problems = interpolate("${EMPTY:-${UNSET_VAR}}", env)
    assert text == "${UNSET_VAR}" and len(problems) == 1 and "UNSET_VAR is not set" in problems[0]
    text, problems = interpolate("${A:-${ADAPTER_API_KEY}}", env)  # refused even if unused
    assert len(problems) == 1 and "${ADAPTER_API_KEY} must not be used" in problems[0]


@pytest.mark.parametrize("text", ["${A:-${B}", "${A:-${B:-x}", "${A:-", "${A:-${}}", "${A:x}"])
def test_an_unbalanced_or_malformed_reference_is_one_clear_problem(text):
    _, problems = interpolate(text, {"A": "a", "B": "b"})
    assert len(problems) == 1 and problems[0].startswith("invalid ${...} reference: write ${NAME}")


def test_a_nested_default_in_a_config_file(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TEAM", "core")
    f = write(tmp_path, "c.yaml", "connectors:\n  a:\n    name: ${UNSET_VAR:-${TEAM}} app\n"
              "  b:\n    name: x\n    metadata: {k: '${UNSET_VAR:-${TEAM}'}\n")
    got = problems_of([f])
    assert got == [f"{f}:6:19: connectors.b.metadata.k: invalid ${{...}} reference: write "
                   "${NAME} or ${NAME:-default} (NAME: letters, digits, _; a default may hold "
                   "references, and ends at the first } outside them), or $${ for a literal ${"]
    f.write_text("connectors:\n  a:\n    name: ${UNSET_VAR:-${TEAM}} app\n")
    assert load([str(f)]).connectors["a"].name == "core app"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab$${}:-_")), max_size=30))
def test_text_escaped_as_import_writes_it_comes_back_as_written(text):
    assert interpolate(text.replace("${", "$${"), {"a": "x", "b": ""}) == (text, [])


def test_interpolation_in_names_and_metadata_but_not_keys(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TEAM", "core")
    f = write(tmp_path, "c.yaml", "defaults:\n  metadata: {team: '${TEAM}'}\nconnectors:\n"
              "  a:\n    name: ${TEAM} app\n    metadata: {'${TEAM}': '$${literal}'}\n")
    c = load([str(f)]).connectors["a"]
    assert c.name == "core app"
    assert dict(c.metadata) == {"team": "core", "${TEAM}": "${literal}"}


def test_interpolated_value_is_checked_after_substitution(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TEAM", "x" * 300)
    f = write(tmp_path, "c.yaml", "connectors:\n  a:\n    name: ${TEAM}\n")
    got = problems_of([f])
    assert got == [f"{f}:3:11: connectors.a.name: is 300 characters long; 1-255 allowed"]


def test_the_api_key_never_enters_config_nor_messages(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TEAM", KEY)
    f = write(tmp_path, "c.yaml", "connectors:\n  a:\n    name: ${ADAPTER_API_KEY}\n"
              "    metadata:\n      token: ${TEAM}\n      pasted: " + KEY + "\n"
              "      fallback: ${UNSET_VAR:-" + KEY + "}\n")
    got = problems_of([f], api_key=KEY)
    assert len(got) == 4
    assert "${ADAPTER_API_KEY} must not be used in config" in got[0]
    assert all("holds the API key" in g for g in got[1:])
    assert not any(KEY in g or KEY[8:] in g for g in got)


def test_a_value_that_merely_contains_the_key_is_refused_too(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TOKEN", KEY)
    f = write(tmp_path, "c.yaml", "connectors:\n  a:\n    name: A\n    metadata:\n"
              "      auth: Bearer ${TOKEN}\n      pasted: 'x" + KEY + "x'\n")
    got = problems_of([f], api_key=KEY)
    assert len(got) == 2 and all("holds the API key" in g for g in got)
    assert not any(KEY in g for g in got)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=200),
    st.text(alphabet=st.sampled_from(list("ab-: \n\t[]{},'\"&*!<>#|%@`?~$1y0.\\é")), max_size=120),
    st.lists(st.sampled_from(["connectors:", "  acme:", "    name: A", "    name: yes",
                              "  - x", "metadata: {a: 1}", "version: 1", "&a x", "*a", "<<: {}",
                              "prune: on", "ignore: [x]", "defaults:", "    accepted_kinds: [a]",
                              "---", "!foo", "? x", "${X}", "\t"]), max_size=8)
    .map("\n".join),
))
def test_fuzz_load_returns_or_raises_config_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "f.yaml"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    try:
        load([str(path)])
    except ConfigError as exc:
        assert exc.problems
        assert all(p.location is None or p.location.line >= 1 for p in exc.problems)


def test_a_metadata_key_holding_the_api_key_is_refused_as_a_value_is(tmp_path: Path):
    f = write(tmp_path, "c.yaml", "defaults:\n  metadata:\n    " + KEY + ": x\nconnectors:\n"
              "  a:\n    name: A\n    metadata:\n      ok: fine\n      'Bearer " + KEY + "': z\n")
    got = problems_of([f], api_key=KEY)
    assert got == [
        f"{f}:3:5: defaults.metadata: a key holds the API key (ADAPTER_API_KEY); never put the "
        "key in config",
        f"{f}:9:7: connectors.a.metadata: a key holds the API key (ADAPTER_API_KEY); never put "
        "the key in config",
    ]
    assert load([str(f)]).connectors["a"].metadata["ok"] == "fine"  # no key given: no check


def test_no_message_shows_a_key_holding_the_api_key(tmp_path: Path):
    """The reader quotes duplicate keys, and the schema names the path of a bad value: the key
    is masked in every message."""
    f = write(tmp_path, "c.yaml", "connectors:\n  a:\n    name: A\n    metadata:\n"
              "      " + KEY + ": 1\n      " + KEY + ": z\n")
    got = problems_of([f], api_key=KEY)
    assert len(got) == 3 and not any(KEY in g for g in got)
    assert got[0].startswith(f"{f}:5:7: connectors.a.metadata: a key holds the API key")
    assert got[1] == f"{f}:5:{7 + len(KEY) + 2}: connectors.a.metadata.***: expected a string, got a number; " \
                     'quote it if you mean the string: "1"'
    assert got[2] == (f"{f}:6:7: duplicate key '***' (first defined at line 5); remove one of "
                      "them")


def test_a_source_name_holding_the_api_key_is_refused(tmp_path: Path):
    key = "abcdefgh12345678"  # a key that happens to be a valid slug
    f = write(tmp_path, "c.yaml", f"connectors:\n  {key}: {{name: A}}\n  x-{key}: {{name: B}}\n"
              "  fine: {name: C}\n")
    got = problems_of([f], api_key=key)
    assert got == [f"{f}:{line}:3: connectors: a source_name holds the API key (ADAPTER_API_KEY); "
                   "never put the key in config" for line in (2, 3)]


def test_the_key_comes_from_the_caller_never_from_the_environment(tmp_path: Path, monkeypatch):
    f = write(tmp_path, "c.yaml", "connectors:\n  a:\n    name: A\n    metadata:\n"
              "      pasted: " + KEY + "\n")
    assert load([str(f)]).connectors["a"].metadata["pasted"] == KEY  # ADAPTER_API_KEY is set
    got = problems_of([f], api_key=f"  {KEY}\n")  # normalised as the client sends it
    assert got == [f"{f}:5:15: connectors.a.metadata.pasted: this value holds the API key "
                   "(ADAPTER_API_KEY); never put the key in config"]
    monkeypatch.delenv("ADAPTER_API_KEY")
    f2 = write(tmp_path, "d.yaml", "connectors:\n  a:\n    name: ${ADAPTER_API_KEY:-x}\n")
    assert "${ADAPTER_API_KEY} must not be used in config" in problems_of([f2])[0]


def test_variables_come_from_the_env_given(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TEAM", "from-process")
    f = write(tmp_path, "c.yaml", "connectors:\n  a:\n    name: ${TEAM}\n")
    assert load([str(f)]).connectors["a"].name == "from-process"  # default: os.environ
    assert load([str(f)], env={"TEAM": "given"}).connectors["a"].name == "given"
    assert "TEAM is not set" in problems_of([f], env={})[0]


def test_connectors_with_the_same_kinds_share_one_set(tmp_path: Path):
    f = write(tmp_path, "c.yaml", "defaults: {accepted_kinds: [page, email]}\nconnectors:\n"
              "  a: {name: A, accepted_kinds: [email, page]}\n  b: {name: B}\n")
    c = load([str(f)]).connectors
    assert c["a"].accepted_kinds == {"email", "page"}
    assert c["a"].accepted_kinds is c["b"].accepted_kinds  # memory at 50,000 connectors


def test_a_valid_config_is_never_composed_into_a_node_tree(tmp_path: Path, monkeypatch):
    """Positions of values are recovered (by composing the file) only to report a problem."""
    from adapter_sync.config import yamlload

    def refuse(data):
        raise AssertionError("composed a valid file")

    monkeypatch.setattr(yamlload, "_Composer", refuse)
    monkeypatch.setenv("TEAM", "core")
    f = write(tmp_path, "c.yaml", "prune: true\nignore: [x-*]\ndefaults: {metadata: {t: '${TEAM}'}}\n"
              "connectors:\n  a:\n    name: ${TEAM} A\n    metadata: {k: '$${lit}'}\n")
    assert load([str(f)]).connectors["a"].name == "core A"


def test_a_source_name_with_a_trailing_newline_is_not_a_slug(tmp_path: Path):
    f = write(tmp_path, "c.yaml", 'connectors:\n  "acme\\n": {name: Acme}\n')
    got = problems_of([f])
    assert len(got) == 1 and "invalid source_name" in got[0] and got[0].startswith(f"{f}:2:3:")
