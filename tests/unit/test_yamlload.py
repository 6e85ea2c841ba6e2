"""The strict YAML reader: values, positions, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from adapter_sync.config.yamlload import MAX_BYTES, REJECTED, Plain, classify_plain, parse, read


def ok(text: str):
    doc, problems = parse(text.encode(), "f.yaml")
    assert problems == [], [str(p) for p in problems]
    assert doc is not None
    return doc


def messages(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [str(p) for p in parse(data, "f.yaml")[1]]


@pytest.mark.parametrize("text", ['"0755"', "'1.10'", '"null"', '"yes"', "'on'", '"2024-01-01"',
                                  '"3"', "|\n  yes\n", '!!str 0755'])
def test_quoted_and_tagged_str_scalars_stay_strings(text):
    assert isinstance(ok(f"k: {text}\n").data["k"], str)


@pytest.mark.parametrize(("text", "value"), [
    ("Acme CRM", "Acme CRM"), ("acme-crm@v2", "acme-crm@v2"), ("", None), ("~", None),
    ("null", None), ("NULL", None), ("true", True), ("False", False), ("1", 1), ("-12", -12),
    ("tRUE", "tRUE"), ("yesterday", "yesterday"), ("1.2.3", "1.2.3"), ("v1", "v1"),
])
def test_plain_scalars(text, value):
    assert classify_plain(text) == value


@pytest.mark.parametrize(("text", "kind"), [
    ("yes", "boolean"), ("No", "boolean"), ("ON", "boolean"), ("off", "boolean"),
    ("y", "boolean"), ("N", "boolean"), ("0755", "number"), ("1.10", "number"),
    ("1e3", "number"), ("0x1F", "number"), ("1_000", "number"), (".inf", "number"),
    ("1:30", "number"), ("2024-01-31", "date"), ("2024-01-31 10:00:00", "date"),
])
def test_plain_scalars_that_tools_do_not_read_as_strings(text, kind):
    assert classify_plain(text) == Plain(text, kind)


@pytest.mark.parametrize("text", ["Acme", "acme-crm", "a b", "yes please", "1.2.3", "v2",
                                  "tRUE", "null-ish", "2024-13", "x"])
def test_what_we_read_as_a_string_pyyaml_reads_as_a_string_too(text):
    assert isinstance(classify_plain(text), str)
    assert isinstance(yaml.safe_load(f"k: {text}\n")["k"], str)


def test_positions_of_keys_and_values():
    doc = ok("connectors:\n  acme:\n    name: Acme\n    accepted_kinds: [email, page]\n")
    assert (doc.key_location(("connectors", "acme")).line,
            doc.key_location(("connectors", "acme")).col) == (2, 3)
    value = doc.locate(("connectors", "acme", "name"))
    assert (value.file, value.line, value.col) == ("f.yaml", 3, 11)
    item = doc.locate(("connectors", "acme", "accepted_kinds", 1))
    assert (item.line, item.col) == (4, 29)


def test_duplicate_keys_at_any_depth_name_both_lines():
    got = messages("a:\n  b:\n    c: 1\n    d: 2\n    c: 3\n")
    assert got == ["f.yaml:5:5: duplicate key 'c' (first defined at line 3); remove one of them"]


def test_bom_is_fine_and_positions_ignore_it():
    doc, problems = parse(b"\xef\xbb\xbfconnectors:\n  acme: {name: A}\n", "f.yaml")
    assert problems == [] and doc is not None
    assert doc.key_location(("connectors",)).col == 1


def test_not_utf8_points_at_the_bad_byte():
    got = messages(b"a: ok\nb: caf\xe9\n")
    assert len(got) == 1 and got[0].startswith("f.yaml:2:7: file is not valid UTF-8")


def test_empty_and_comment_only_files():
    assert messages("") == messages("# nothing\n\n") != []
    assert "file is empty" in messages("")[0]


def test_file_over_10_mb_is_refused_before_parsing(tmp_path: Path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"[" * (MAX_BYTES + 1))  # would be a syntax error if it were parsed
    doc, problems = read(path, "big.yaml")
    assert doc is None and len(problems) == 1
    assert "too large" in problems[0].message and "10 MB" in problems[0].message


def test_missing_file_is_one_problem(tmp_path: Path):
    doc, problems = read(tmp_path / "nope.yaml", "nope.yaml")
    assert doc is None and "cannot read file" in problems[0].message


def test_billion_laughs_is_reported_and_never_expanded():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        lines.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{','.join(['*' + prev] * 9)}]")
    doc, problems = parse("\n".join(lines).encode(), "f.yaml")
    assert doc is not None
    assert doc.data["i"] == [REJECTED] * 9  # not 9**9 strings
    assert sum("aliases" in p.message for p in problems) == 8 * 9
    assert sum("anchors" in p.message for p in problems) == 9


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "- " * 100_000 + "x",
                                  "[" * 100_000, "{a: " * 50_000])
def test_very_deep_nesting_is_refused_without_crashing(text):
    # libyaml's composer recurses on the C stack: 50,000 levels crashed the interpreter.
    got = messages(text)
    assert len(got) == 1
    assert "nesting is too deep" in got[0] or "YAML syntax error" in got[0]


def test_merge_keys_tags_and_complex_keys_are_refused():
    got = messages("base: {a: b}\nx:\n  <<: {a: c}\np: !env HOME\nq: !!binary aGk=\n? [k]\n: v\n")
    assert [g.split(": ", 1)[0] for g in got] == ["f.yaml:3:3", "f.yaml:4:4", "f.yaml:5:4",
                                                  "f.yaml:6:3"]
    assert "merge keys" in got[0] and "'!env'" in got[1] and "binary" in got[2]
    assert "keys must be strings" in got[3]


def test_syntax_error_has_a_position():
    got = messages("a: [1, 2\nb: 3\n")
    assert len(got) == 1 and got[0].startswith("f.yaml:2:") and "YAML syntax error" in got[0]


def test_ampersands_and_stars_in_text_are_not_anchors():
    doc = ok('name: R&D *team*\nglob: legacy-*\nq: "&x *y"\n')
    assert doc.data == {"name": "R&D *team*", "glob": "legacy-*", "q": "&x *y"}


def test_a_valid_file_is_read_without_composing_a_node_tree(monkeypatch):
    """Valid files keep only the positions they need; the tree is composed to locate problems."""
    from adapter_sync.config import yamlload

    composed = []
    real = yamlload._Composer

    def counting(data):
        composed.append(data)
        return real(data)

    monkeypatch.setattr(yamlload, "_Composer", counting)
    doc = ok("version: 1\nconnectors:\n  acme:\n    name: Acme\n  wiki: {name: Wiki}\n")
    assert doc.key_location(("connectors", "wiki")) == doc.key_location(("connectors", "wiki"))
    assert str(doc.key_location(("connectors", "wiki"))) == "f.yaml:5:3"
    assert str(doc.key_location(("version",))) == "f.yaml:1:1"
    assert composed == []
    assert str(doc.locate(("connectors", "acme", "name"))) == "f.yaml:4:11"  # needs the tree
    assert str(doc.key_location(("connectors", "wiki", "name"))) == "f.yaml:5:10"
    assert len(composed) == 1  # once per document


def test_an_alias_is_never_expanded_even_to_a_key():
    doc, problems = parse(b"&k key: v\nx: *k\n*k : w\n", "f.yaml")
    assert doc is not None and doc.data == {"key": "v", "x": REJECTED}
    assert [str(p) for p in problems] == [
        "f.yaml:1:1: anchors (&k) are not allowed; repeat the value or use 'defaults'",
        "f.yaml:2:4: aliases (*k) are not allowed; repeat the value or use 'defaults'",
        "f.yaml:3:1: aliases (*k) are not allowed; repeat the value or use 'defaults'"]


@pytest.mark.parametrize(("text", "message"), [
    ("a: *nope\n", "f.yaml:1:4: YAML syntax error: found undefined alias; a value starting "
                  "with '*' is read as a YAML alias: quote it, as \"*nope\""),
    ("a: &x 1\nb: &x 2\n", "f.yaml:2:4: YAML syntax error: second occurrence (found duplicate "
                          "anchor; first occurrence started at line 1)"),
    ("a: 1\n---\nb: 2\n", "f.yaml:2:1: YAML syntax error: but found another document (expected "
                          "a single document in the stream started at line 1)"),
])
def test_what_the_composer_refuses_is_still_a_syntax_error(text, message):
    doc, problems = parse(text.encode(), "f.yaml")
    assert doc is None and [str(p) for p in problems] == [message]


def test_nesting_too_deep_is_rejected_where_it_starts_and_reading_goes_on():
    deep = "[" * 17 + "]" * 17
    doc, problems = parse(f"a: {deep}\nb: {{c: [1, 1]}}\nb: 2\n".encode(), "f.yaml")
    expected = REJECTED  # the 16th list: with the top-level mapping, 17 levels
    for _ in range(15):
        expected = [expected]
    assert doc is not None and doc.data == {"a": expected, "b": {"c": [1, 1]}}
    assert [str(p) for p in problems] == [
        "f.yaml:1:19: nesting is too deep (more than 16 levels)",
        "f.yaml:3:1: duplicate key 'b' (first defined at line 2); remove one of them"]


def test_repeated_keys_are_stored_once():
    doc = ok("c:\n  a: {name: A, metadata: {team: x}}\n  b: {name: B, metadata: {team: y}}\n")
    a, b = doc.data["c"]["a"], doc.data["c"]["b"]
    assert [k for k in a if k == "name"][0] is [k for k in b if k == "name"][0]
    assert list(a["metadata"])[0] is list(b["metadata"])[0]


def test_a_path_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    link = tmp_path / "connectors.yaml"
    link.symlink_to("/dev/zero")  # read to the end, it never ends
    doc, problems = read(link, "connectors.yaml")
    assert doc is None
    assert [str(p) for p in problems] == [
        "connectors.yaml:1:1: cannot read file: not a regular file"]


def test_an_endless_pipe_is_refused_unread(tmp_path: Path) -> None:
    """``validate`` of a FIFO (stat says 0 bytes; read to the end, it may never end) is refused
    before it is opened: no writer is needed for the refusal."""
    import os

    fifo = tmp_path / "endless.yaml"
    os.mkfifo(fifo)
    doc, problems = read(fifo, "endless.yaml")
    assert doc is None and "not a regular file" in problems[0].message
