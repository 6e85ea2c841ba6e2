"""The JSON Schema (``schemas/connectors.schema.json``): a fast validity check, and jsonschema's
errors turned into located problems where that check says no.

The fast check is code fastjsonschema generated from the schema ahead of time
(:mod:`.schema_check`; a test regenerates it, so it cannot drift). jsonschema is imported only
where that check says no, to explain why: a valid config never pays for it.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from adapter_sync import schemafiles
from adapter_sync.config import schema_check
from adapter_sync.config.yamlload import REJECTED, DocPath, Document, Plain, describe, dotted
from adapter_sync.errors import Problem
from adapter_sync.model import SLUG_RE

SCHEMA_FILE = "connectors.schema.json"
_SLUG_HELP = "use lowercase letters, digits and inner hyphens, 1-64 characters"
#: A plain scalar every YAML reader (1.1 and 1.2) reads as the same decimal fraction: digits
#: with a point, an optional signed exponent (12.5, .5, 1.5e+3). Not 1e3 (a string to YAML 1.1
#: readers), 1_000.5 (a number only to 1.1 readers), .inf or .nan.
_FRACTION = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+][0-9]+)?\Z")


def schema_path() -> Path:
    """The JSON Schema file: packaged in the wheel, else the repository's ``schemas/``."""
    return schemafiles.path(SCHEMA_FILE)


def schema() -> dict[str, Any]:
    """The parsed config schema (read once per process)."""
    return schemafiles.load(SCHEMA_FILE)


def inline_refs(node: Any, definitions: Mapping[str, Any]) -> Any:
    """The schema with local ``#/definitions/...`` references replaced by their targets:
    jsonschema resolves a ``$ref`` on every use, which was most of the validation time."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/") and len(node) == 1:
            return inline_refs(definitions[ref.rsplit("/", 1)[1]], definitions)
        return {k: inline_refs(v, definitions) for k, v in node.items()}
    if isinstance(node, list):
        return [inline_refs(v, definitions) for v in node]
    return node


@functools.cache
def validators() -> tuple[Any, Any]:
    """(whole file, one connector) Draft-07 jsonschema validators, built once."""
    from jsonschema import Draft7Validator

    inlined = inline_refs(schema(), schema().get("definitions", {}))
    root = Draft7Validator(inlined)
    return root, root.evolve(schema=inlined["definitions"]["connector"])


def read_numbers(data: Any, node: Mapping[str, Any] | None = None) -> None:
    """Where the schema expects a number (``"type": "number"``, such as
    ``safety.max_deactivate_percent``), turn a plain fraction such as ``12.5`` into a float,
    in place.

    The reader keeps such a scalar as a :class:`Plain` "number" (a string is wanted almost
    everywhere, and there ``1.10`` must be quoted, not silently read as 1.1); where a number is
    wanted, a fraction every YAML reader reads the same way is that number. Other numeric
    spellings stay Plain, and the type check explains them (see :func:`_type_message`).
    """
    node = schema() if node is None else node
    if not isinstance(data, dict):
        return
    definitions = schema().get("definitions", {})
    for name, sub in node.get("properties", {}).items():
        ref = sub.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            sub = definitions[ref.rsplit("/", 1)[1]]
        value = data.get(name)
        types = sub.get("type")
        if (isinstance(value, Plain) and value.kind == "number" and _FRACTION.match(value.text)
                and "number" in ([types] if isinstance(types, str) else types or ())):
            data[name] = float(value.text)
        elif isinstance(value, dict) and "properties" in sub:
            read_numbers(value, sub)


def schema_problems(doc: Document) -> list[Problem]:
    """Every place where ``doc.data`` breaks the schema (or has a source_name that is not a
    slug), located. jsonschema only runs where the fast check says no. Fractions where the
    schema wants a number are read first (:func:`read_numbers`)."""
    data = doc.data
    read_numbers(data)
    problems: list[Problem] = []
    connectors = data.get("connectors")
    if isinstance(connectors, dict):
        shallow = {**data, "connectors": {}}  # the connectors one by one, below
        if not valid_document(shallow):
            root_validator = validators()[0]
            problems.extend(_explain_all(doc, root_validator.iter_errors(shallow), ()))
        for slug, body in connectors.items():
            if not SLUG_RE.fullmatch(slug):
                problems.append(Problem(
                    f"connectors: invalid source_name '{slug}': {_SLUG_HELP}",
                    doc.key_location(("connectors", slug))))
            if not valid_connector(body):
                connector_validator = validators()[1]
                problems.extend(_explain_all(doc, connector_validator.iter_errors(body),
                                             ("connectors", slug)))
    else:
        problems.extend(_explain_all(doc, validators()[0].iter_errors(data), ()))
    return list(dict.fromkeys(problems))  # frozen dataclasses: drops exact repeats


def _explain_all(doc: Document, errors: Any, prefix: DocPath) -> list[Problem]:
    """One problem per place: a wrong type hides the other complaints about the same value,
    and values already reported by the reader (REJECTED) are not reported again."""
    errors = [e for e in errors if e.instance is not REJECTED]
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    problems: list[Problem] = []
    for error in errors:
        if error.validator != "type" and tuple(error.absolute_path) in mistyped:
            continue
        problems.extend(_explain(doc, error, prefix))
    return problems


#: The generated checks (schema_check has no annotations: it is fastjsonschema's code).
_check_connector: Callable[[Any], object] = schema_check.validate___definitions_connector
_check_document: Callable[[Any], object] = schema_check.validate


def valid_connector(body: Any) -> bool:
    """Whether one connector satisfies the schema: the check generated from it (schema_check),
    a few microseconds where jsonschema took ~0.1 ms."""
    try:
        _check_connector(body)
    except schema_check.JsonSchemaValueException:
        return False
    return True


def valid_document(data: Any) -> bool:
    """Whether a whole file satisfies the schema (the generated check)."""
    try:
        _check_document(data)
    except schema_check.JsonSchemaValueException:
        return False
    return True


_TYPE_NAMES = {
    "string": "a string", "integer": "an integer", "number": "a number",
    "boolean": "true or false", "array": "a list", "object": "a mapping", "null": "null",
}


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _explain(doc: Document, error: Any, prefix: DocPath) -> list[Problem]:
    path: DocPath = (*prefix, *error.absolute_path)
    where = dotted(path)
    kw = error.validator
    instance = error.instance
    if kw == "additionalProperties" and isinstance(instance, dict):
        allowed = list(error.schema.get("properties", {}))
        return [
            Problem(f"{where or 'top level'}: unknown key '{k}'{_suggest(k, allowed)}",
                    doc.key_location((*path, k)))
            for k in instance if k not in allowed
        ]
    if kw == "required" and isinstance(instance, dict):
        return [
            Problem(f"{where or 'top level'}: missing required key '{k}'", doc.key_location(path))
            for k in error.validator_value if k not in instance
        ]  # jsonschema reports each missing key once per key: schema_problems dedupes
    location = doc.locate(path)
    if kw == "type":
        return [Problem(f"{where}: {_type_message(doc, error, path)}", location)]
    if kw == "enum":
        options = [o for o in error.validator_value if o is not None]
        text = _source_text(doc, path)
        if path == ("version",):
            return [Problem(f"version: unsupported version {text}; only 1 is accepted", location)]
        noun = str(error.schema.get("title", "value")).lower()
        listed = ", ".join(str(o) for o in options)
        if isinstance(instance, str):
            suggestion = _suggest(instance, [str(o) for o in options])
            return [Problem(f"{where}: unknown {noun} '{instance}'{suggestion}; "
                            f"expected one of: {listed}", location)]
        return [Problem(f"{where}: expected one of: {listed}, got {describe(instance)}",
                        location)]
    if kw in ("minLength", "maxLength") and isinstance(instance, str):
        if not instance:
            return [Problem(f"{where}: must not be empty", location)]
        low, high = error.schema.get("minLength", 0), error.schema.get("maxLength")
        bounds = f"{low}-{high} allowed" if high else f"at least {low} needed"
        return [Problem(f"{where}: is {len(instance)} characters long; {bounds}", location)]
    if kw == "maxProperties" and isinstance(instance, dict):
        return [Problem(f"{where}: has {len(instance)} keys; at most {error.validator_value} "
                        "are allowed", location)]
    if kw == "uniqueItems" and isinstance(instance, list):
        seen: list[Any] = []
        for i, item in enumerate(instance):
            if item in seen:
                return [Problem(f"{where}: '{_source_text(doc, (*path, i))}' is listed twice",
                                doc.locate((*path, i)))]
            seen.append(item)
    if kw == "pattern" and isinstance(instance, str):
        return [Problem(f"{where}: does not match {error.validator_value}", location)]
    return [Problem(f"{where or 'top level'}: {error.message}", location)]  # pragma: no cover


def _source_text(doc: Document, path: DocPath) -> str:
    node = doc.node(path)
    return node.value if isinstance(node, yaml.ScalarNode) else describe(None)


def _type_message(doc: Document, error: Any, path: DocPath) -> str:
    expected = error.validator_value
    expected = [expected] if isinstance(expected, str) else list(expected)
    wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in expected if t != "null")
    instance = error.instance
    text = _source_text(doc, path)
    if instance is None:
        got = "null (an empty value)"
        hint = '; write "" for an empty string' if "string" in expected else ""
        return f"expected {wanted}, got {got}{hint}"
    got = describe(instance)
    if isinstance(instance, Plain) and instance.kind == "boolean" and "boolean" in expected:
        return (f"expected true or false, got '{text}' (tools disagree on yes/no/on/off/y/n); "
                "write true or false")
    numeric = "number" in expected or "integer" in expected
    if numeric and "string" not in expected:
        return f"expected {wanted}, {_number_problem(instance, text, expected)}"
    hint = _quote_hint(instance, text) if "string" in expected else ""
    return f"expected {wanted}, got {got}{hint}"


def _number_problem(instance: Any, text: str, expected: list[str]) -> str:
    """What is wrong with a value where a number is wanted, never "got a number": the
    value's own text says which spelling or which kind of number it was."""
    whole = "number" not in expected  # an integer is wanted
    if isinstance(instance, float) or (isinstance(instance, Plain) and instance.kind == "number"
                                       and _FRACTION.match(text)):
        if float(text).is_integer():
            return f"got {text}; write it without the decimal point: {int(float(text))}"
        return f"got {text}, which is not a whole number"
    if isinstance(instance, Plain) and text.lstrip("+-").lower() in (".inf", ".nan"):
        return f"got '{text}', which is not a finite number"  # .inf, .nan
    if isinstance(instance, Plain) and instance.kind == "number":
        example = "10" if whole else "10 or 12.5"
        return (f"got '{text}', which YAML tools read differently (a number to some, a string "
                f"to others); write plain decimal digits, such as {example}")
    if isinstance(instance, str) and (_FRACTION.match(instance.strip())
                                      or instance.strip().lstrip("+-").isdigit()):
        return f"got the string \"{instance}\"; remove the quotes"
    return f"got {describe(instance)}"


def _quote_hint(instance: Any, text: str) -> str:
    if isinstance(instance, (bool, int, float, Plain)):
        return f"; quote it if you mean the string: \"{text}\""
    return ""
