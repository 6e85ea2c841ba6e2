"""Config files → :class:`~adapter_sync.model.Desired`, fully validated offline.

The language (version 1)::

    version: 1                 # optional; only 1 is accepted
    prune: false               # optional; may be set in one file, or identically in several
    ignore: ["legacy-*"]       # optional; source_name globs adapter-sync never touches
    defaults:                  # optional; for the connectors of THIS file only
      accepted_kinds: [email]
      metadata: {env: staging}
    connectors:                # optional (a file may hold only settings)
      acme-crm:                # the key is the source_name (immutable slug)
        name: Acme CRM         # required, 1-255 characters
        accepted_kinds: [email, page]   # optional; omitted, null or [] = all kinds
        metadata: {pipeline: acme-crm@v2}   # optional; string → string, at most 20 keys
        active: true           # optional, default true

Rules beyond the JSON Schema (``schemas/connectors.schema.json``):

* An unquoted ``null``/``~``/empty value on an optional key means the key is absent.
* ``defaults.metadata`` is merged under each connector's metadata (the connector's keys win);
  the merged map must still have at most 20 keys. ``defaults.accepted_kinds`` applies where a
  connector omits ``accepted_kinds`` (or gives null); a connector's explicit ``[]`` means all
  kinds and is *not* replaced by the defaults.
* ``${VAR}`` and ``${VAR:-default}`` in names and metadata values are replaced from the
  environment (``:-`` also covers a set but empty variable); ``$${`` is a literal ``${``. An
  unset variable without default is an error. ``ADAPTER_API_KEY`` may not be used, and a value
  equal to the API key is refused without ever being shown.
* A source_name declared twice (in one file or across files), conflicting ``prune``/``ignore``
  settings, and a declared connector that an ``ignore`` glob matches are errors.

Every problem is collected and raised together as one :class:`~adapter_sync.errors.ConfigError`.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from adapter_sync import yamlload
from adapter_sync.errors import ConfigError, Location, Problem
from adapter_sync.model import (
    KINDS,
    METADATA_MAX_KEYS,
    NAME_MAX,
    SLUG_RE,
    Desired,
    DesiredConnector,
)
from adapter_sync.yamlload import REJECTED, Document, Plain, describe

API_KEY_ENV = "ADAPTER_API_KEY"
DEFAULT_FILE = "connectors.yaml"
DEFAULT_DIR = "connectors"
SCHEMA_FILE = "connectors.schema.json"
_SLUG_HELP = "use lowercase letters, digits and inner hyphens, 1-64 characters"

Path_ = tuple[str | int, ...]


# --- the schema ------------------------------------------------------------------------------

def schema_path() -> Path:
    """The JSON Schema file: packaged in the wheel, else the repository's ``schemas/``."""
    try:
        packaged = resources.files("adapter_sync").joinpath(SCHEMA_FILE)
        if packaged.is_file():
            return Path(str(packaged))
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):  # pragma: no cover
        pass
    return Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_FILE


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(schema_path().read_text(encoding="utf-8"))


def _inline_refs(node: Any, definitions: Mapping[str, Any]) -> Any:
    """The schema with local ``#/definitions/...`` references replaced by their targets:
    jsonschema resolves a ``$ref`` on every use, which was most of the validation time."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/") and len(node) == 1:
            return _inline_refs(definitions[ref.rsplit("/", 1)[1]], definitions)
        return {k: _inline_refs(v, definitions) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v, definitions) for v in node]
    return node


@functools.cache
def _validators() -> tuple[Any, Any]:
    """(whole file, one connector) Draft-07 validators, built once."""
    from jsonschema import Draft7Validator

    inlined = _inline_refs(schema(), schema().get("definitions", {}))
    root = Draft7Validator(inlined)
    return root, root.evolve(schema=inlined["definitions"]["connector"])


# --- discovery -------------------------------------------------------------------------------

def discover(paths: Sequence[str]) -> list[Path]:
    """The config files named by ``paths`` (files, or folders searched for *.yaml/*.yml)."""
    files, problems = _discover(paths)
    if problems:
        raise ConfigError(problems)
    return files


def _discover(paths: Sequence[str]) -> tuple[list[Path], list[Problem]]:
    problems: list[Problem] = []
    if not paths:
        if Path(DEFAULT_FILE).is_file():
            paths = [DEFAULT_FILE]
        elif Path(DEFAULT_DIR).is_dir():
            paths = [DEFAULT_DIR]
        else:
            return [], [Problem(f"no config given, and neither ./{DEFAULT_FILE} nor "
                                f"./{DEFAULT_DIR}/ exists; pass a file or a folder")]
    files: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                f for pattern in ("*.yaml", "*.yml") for f in path.rglob(pattern)
                if f.is_file() and not any(p.startswith(".") for p in f.relative_to(path).parts)
            )
            if not found:
                problems.append(Problem(f"{raw}: no *.yaml or *.yml files in this folder"))
        elif path.exists():
            found = [path]
        else:
            problems.append(Problem(f"{raw}: no such file or folder"))
            continue
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files, problems


# --- loading ---------------------------------------------------------------------------------

@dataclass
class _Setting:
    value: Any
    location: Location


@dataclass
class _State:
    """What the files declared so far, for the checks across files."""

    connectors: dict[str, DesiredConnector] = field(default_factory=dict)
    declared: dict[str, Location] = field(default_factory=dict)
    prune: _Setting | None = None
    ignore: _Setting | None = None


def load(paths: Sequence[str] = (), *, env: Mapping[str, str] | None = None,
         api_key: str | None = None) -> Desired:
    """Read and validate every config file; raise :class:`ConfigError` with all problems."""
    files, problems = _discover(paths)
    if problems:
        raise ConfigError(problems)
    state = _State()
    env = dict(os.environ if env is None else env)
    if api_key is not None:
        env[API_KEY_ENV] = api_key
    with yamlload.gc_paused():
        for path in files:
            doc, file_problems = yamlload.read(path, str(path))
            if doc is not None:
                file_problems.extend(_check_file(doc, env, state, read_ok=not file_problems))
            problems.extend(sorted(file_problems, key=_position))
    ignore: tuple[str, ...] = tuple(state.ignore.value) if state.ignore else ()
    if ignore:
        for connector in state.connectors.values():
            pattern = next((p for p in ignore if fnmatchcase(connector.source_name, p)), None)
            if pattern is not None:
                problems.append(Problem(
                    f"connectors.{connector.source_name}: matches ignore pattern '{pattern}' "
                    "and would never be applied; remove it or narrow the pattern",
                    connector.location))
    if problems:
        raise ConfigError(problems)
    return Desired(
        connectors=state.connectors,
        prune=bool(state.prune.value) if state.prune else False,
        ignore=ignore,
        files=tuple(str(f) for f in files),
    )


def _position(problem: Problem) -> tuple[int, int]:
    loc = problem.location
    return (loc.line, loc.col) if loc else (0, 0)


def _check_file(doc: Document, env: Mapping[str, str], state: _State,
                read_ok: bool = True) -> list[Problem]:
    data = doc.data
    if not isinstance(data, dict):
        return [Problem(
            f"the top level must be a mapping (keys: version, prune, ignore, defaults, "
            f"connectors), not {describe(data)}", doc.locate(()))]
    problems: list[Problem] = []
    _interpolate_file(doc, env, problems)
    problems.extend(_schema_problems(doc))
    connectors = data.get("connectors")
    if not isinstance(connectors, dict):
        connectors = {}
    for slug in connectors:
        here = doc.key_location(("connectors", slug))
        first = state.declared.get(slug)
        if first is not None:
            problems.append(Problem(
                f"connectors.{slug}: source_name '{slug}' is already declared at {first}", here))
        else:
            state.declared[slug] = here
    for name in ("prune", "ignore"):
        value = data.get(name)
        if value is None or not _valid_setting(name, value):
            continue
        here = doc.key_location((name,))
        current: _Setting | None = getattr(state, name)
        if current is None:
            setattr(state, name, _Setting(value, here))
        elif _normal(name, current.value) != _normal(name, value):
            problems.append(Problem(
                f"{name}: {_show(value)} conflicts with {name}: {_show(current.value)} at "
                f"{current.location}; set it in one file, or identically in every file", here))
    if read_ok and not problems:
        _build(doc, connectors, state, problems)
    return problems


def _valid_setting(name: str, value: Any) -> bool:
    if name == "prune":
        return isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _normal(name: str, value: Any) -> Any:
    return frozenset(value) if name == "ignore" else value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _build(doc: Document, connectors: dict[str, Any], state: _State,
           problems: list[Problem]) -> None:
    defaults = doc.data.get("defaults") or {}
    default_kinds = defaults.get("accepted_kinds") or ()
    default_meta = defaults.get("metadata") or {}
    for slug, body in connectors.items():
        kinds = body.get("accepted_kinds")
        if kinds is None:
            kinds = default_kinds
        metadata = body.get("metadata") or {}
        if default_meta:
            metadata = {**default_meta, **metadata}
        location = doc.key_location(("connectors", slug))
        if len(metadata) > METADATA_MAX_KEYS:
            problems.append(Problem(
                f"connectors.{slug}: metadata has {len(metadata)} keys once defaults.metadata is "
                f"merged; at most {METADATA_MAX_KEYS} are allowed", location))
            continue
        active = body.get("active")
        state.connectors[slug] = DesiredConnector(
            source_name=slug,
            name=body["name"],
            accepted_kinds=frozenset(kinds),
            metadata=metadata,
            active=True if active is None else active,
            location=location,
        )


# --- environment variables -------------------------------------------------------------------

_REFERENCE = re.compile(
    r"\$\$\{|\$\{(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\})?")


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """``text`` with ``${VAR}``/``${VAR:-default}`` replaced and ``$${`` unescaped, and the
    problems found (messages without location). Never puts the API key's value in a message."""
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$${":
            return "${"
        name = match.group("name")
        if name is None:
            problems.append("invalid ${...} reference: write ${NAME} or ${NAME:-default} "
                            "(NAME: letters, digits, _), or $${ for a literal ${")
            return whole
        if name == API_KEY_ENV:
            problems.append(f"${{{API_KEY_ENV}}} must not be used in config: the API key "
                            "would be sent as connector data")
            return whole
        value = env.get(name)
        default = match.group("default")
        if default is not None and not value:
            return default
        if value is None:
            problems.append(f"environment variable {name} is not set (write "
                            f"${{{name}:-default}} to give a default)")
            return whole
        return value

    return _REFERENCE.sub(replace, text), problems


def _interpolate_file(doc: Document, env: Mapping[str, str], problems: list[Problem]) -> None:
    """Interpolate names and metadata values in place; refuse values holding the API key."""
    data = doc.data
    key = (env.get(API_KEY_ENV) or "").strip() or None
    places: list[tuple[Path_, dict[str, Any]]] = []
    defaults = data.get("defaults")
    if isinstance(defaults, dict) and isinstance(defaults.get("metadata"), dict):
        places.append((("defaults", "metadata"), defaults["metadata"]))
    connectors = data.get("connectors")
    if isinstance(connectors, dict):
        for slug, body in connectors.items():
            if not isinstance(body, dict):
                continue
            name = body.get("name")
            if isinstance(name, str) and ("$" in name or _holds_key(name, key)):
                _interpolate_value(doc, ("connectors", slug), body, "name", env, key, problems)
            metadata = body.get("metadata")
            if isinstance(metadata, dict) and metadata:
                places.append((("connectors", slug, "metadata"), metadata))
    for path, mapping in places:
        for k, v in mapping.items():
            if isinstance(v, str) and ("$" in v or _holds_key(v, key)):
                _interpolate_value(doc, path, mapping, k, env, key, problems)


def _holds_key(value: str, key: str | None) -> bool:
    """The value is the key, or contains it (a key too short to search for must match whole)."""
    if not key:
        return False
    return key in value if len(key) >= 8 else value == key


def _interpolate_value(doc: Document, path: Path_, mapping: dict[str, Any], name: str,
                       env: Mapping[str, str], key: str | None, problems: list[Problem]) -> None:
    source = mapping[name]
    value, messages = interpolate(source, env) if "$" in source else (source, [])
    where = _dotted((*path, name))
    location = doc.locate((*path, name))
    for message in messages:
        problems.append(Problem(f"{where}: {message}", location))
    if _holds_key(value, key):
        problems.append(Problem(
            f"{where}: this value holds the API key ({API_KEY_ENV}); never put the key in config",
            location))
        value = "***"
    mapping[name] = value


# --- schema errors → located problems --------------------------------------------------------

def _schema_problems(doc: Document) -> list[Problem]:
    """jsonschema only runs (and is only imported) where the fast checks say no: a valid
    config never pays for it."""
    data = doc.data
    problems: list[Problem] = []
    connectors = data.get("connectors")
    if isinstance(connectors, dict):
        shallow = {**data, "connectors": {}}
        if not plainly_valid_root(shallow):
            root_validator = _validators()[0]
            problems.extend(_explain_all(doc, root_validator.iter_errors(shallow), ()))
        for slug, body in connectors.items():
            if not SLUG_RE.fullmatch(slug):
                problems.append(Problem(
                    f"connectors: invalid source_name '{slug}': {_SLUG_HELP}",
                    doc.key_location(("connectors", slug))))
            if not plainly_valid(body):
                connector_validator = _validators()[1]
                problems.extend(_explain_all(doc, connector_validator.iter_errors(body),
                                             ("connectors", slug)))
    else:
        problems.extend(_explain_all(doc, _validators()[0].iter_errors(data), ()))
    return list(dict.fromkeys(problems))  # frozen dataclasses: drops exact repeats


def _explain_all(doc: Document, errors: Any, prefix: Path_) -> list[Problem]:
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


_CONNECTOR_KEYS = frozenset(("name", "accepted_kinds", "metadata", "active"))
_KIND_SET = frozenset(KINDS)


def plainly_valid(body: Any) -> bool:
    """The connector schema, hand-written for speed (jsonschema took ~0.1 ms per connector,
    more than parsing). Must agree exactly with the schema; a test checks that on random
    connectors. When it says no, jsonschema runs to say why."""
    if type(body) is not dict or not body.keys() <= _CONNECTOR_KEYS:
        return False
    name = body.get("name")
    if type(name) is not str or not 0 < len(name) <= NAME_MAX:
        return False
    kinds = body.get("accepted_kinds")
    if kinds is not None and (
        type(kinds) is not list
        or not all(type(k) is str and k in _KIND_SET for k in kinds)
        or len(set(kinds)) != len(kinds)
    ):
        return False
    metadata = body.get("metadata")
    if metadata is not None and (
        type(metadata) is not dict
        or len(metadata) > METADATA_MAX_KEYS
        or not all(type(v) is str for v in metadata.values())
    ):
        return False
    active = body.get("active")
    return active is None or type(active) is bool


_ROOT_KEYS = frozenset(("version", "prune", "ignore", "defaults", "connectors"))
_DEFAULTS_KEYS = frozenset(("accepted_kinds", "metadata"))


def plainly_valid_root(data: Any) -> bool:
    """The top level of the schema, hand-written and conservative: True only where the schema
    surely accepts the document (connectors are checked one by one with plainly_valid)."""
    if type(data) is not dict or not data.keys() <= _ROOT_KEYS:
        return False
    version, prune, ignore = data.get("version"), data.get("prune"), data.get("ignore")
    if not (version is None or (type(version) is int and version == 1)):
        return False
    if not (prune is None or type(prune) is bool):
        return False
    if ignore is not None and (
        type(ignore) is not list or not all(type(g) is str and g for g in ignore)
    ):
        return False
    defaults = data.get("defaults")
    if defaults is not None and (
        type(defaults) is not dict
        or not defaults.keys() <= _DEFAULTS_KEYS
        or not plainly_valid({"name": "defaults", **defaults})  # same kinds/metadata rules
    ):
        return False
    connectors = data.get("connectors")
    return connectors is None or type(connectors) is dict


_TYPE_NAMES = {
    "string": "a string", "integer": "an integer", "number": "a number",
    "boolean": "true or false", "array": "a list", "object": "a mapping", "null": "null",
}


def _dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _explain(doc: Document, error: Any, prefix: Path_) -> list[Problem]:
    path: Path_ = (*prefix, *error.absolute_path)
    where = _dotted(path)
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
        ]  # jsonschema reports each missing key once per key: _schema_problems dedupes
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
        allowed = f"{low}-{high} allowed" if high else f"at least {low} needed"
        return [Problem(f"{where}: is {len(instance)} characters long; {allowed}", location)]
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


def _source_text(doc: Document, path: Path_) -> str:
    node = doc.node(path)
    return node.value if isinstance(node, yaml.ScalarNode) else describe(None)


def _type_message(doc: Document, error: Any, path: Path_) -> str:
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
    hint = _quote_hint(instance, text) if "string" in expected else ""
    return f"expected {wanted}, got {got}{hint}"


def _quote_hint(instance: Any, text: str) -> str:
    if isinstance(instance, (bool, int, float, Plain)):
        return f"; quote it if you mean the string: \"{text}\""
    return ""
