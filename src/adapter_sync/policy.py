"""Organisation policy: JSON Schema rules that connectors must also satisfy (config ``policy:``).

Pure functions and values, no I/O: :class:`Checker` compiles one rule's schema once (refusing
an invalid schema, and any ``$ref`` outside the schema itself: policies are checked offline and
nothing is ever fetched), :func:`violations` checks one connector against the rules that match
its source_name, :func:`live_view` is what a live connector looks like to a rule (as ``import``
would write it) and :func:`live_findings` lists the live connectors that break a rule.

Speed: a schema made only of ``properties``/``required``/``items``/``type`` and value keywords
(``enum``, ``const``, ``pattern``...) is valid or not for an instance according to a small
*projection* of it (the values its keywords look at); the checker remembers the verdict per
projection, so 10,000 connectors that all carry an owner cost one jsonschema run, not 10,000.
Any other keyword makes the projection the whole value (always correct, remembered less often).
Errors are always explained by jsonschema on the instance itself.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from adapter_sync.model import LiveConnector, PolicyFinding, PolicyRule, glob_matcher

#: Keywords that never change validity by themselves (annotations, and definitions that only
#: a $ref, which the projections do not follow, could use).
_ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "default",
                          "deprecated", "readOnly", "writeOnly", "$schema", "$id", "$defs",
                          "definitions"})
#: Keywords that look at the value itself (not into it through another schema).
_VALUE_KEYWORDS = frozenset({"type", "enum", "const", "pattern", "minLength", "maxLength",
                             "format", "minimum", "maximum", "exclusiveMinimum",
                             "exclusiveMaximum", "multipleOf", "minProperties",
                             "maxProperties", "minItems", "maxItems", "uniqueItems"})
_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
_DRAFT3 = ("http://json-schema.org/draft-03/schema#", "http://json-schema.org/draft-03/schema")
#: Verdicts remembered per checker at most (then it just validates).
_CACHE_LIMIT = 100_000
#: A schema error is cut to this many characters (one line).
_MESSAGE_MAX = 300

#: A path into an instance: keys and list indexes.
Path = tuple[str | int, ...]


class PolicyError(ValueError):
    """A rule's schema cannot be used: not a valid JSON Schema, a reference outside itself,
    or a schema that recurses without end. ``path``: where in the schema, when known."""

    def __init__(self, message: str, path: Path = ()) -> None:
        super().__init__(message)
        self.path = path


def one_line(text: str) -> str:
    """``text`` on one line (whitespace runs made one space), at most 300 characters."""
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_MAX else text[:_MESSAGE_MAX - 3] + "..."


def _refuse_retrieval(uri: str) -> Any:
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs


def remote_refs(schema: Any) -> list[tuple[Path, str]]:
    """Every ``$ref`` (``$dynamicRef``, ``$recursiveRef``) of ``schema`` that does not point
    inside the schema itself (``#...``), with where it is. Walked without recursion: any depth
    is fine."""
    found: list[tuple[Path, str]] = []
    stack: list[tuple[Path, Any]] = [((), schema)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            for key in _REF_KEYWORDS:
                ref = node.get(key)
                if isinstance(ref, str) and not ref.startswith("#"):
                    found.append(((*path, key), ref))
            stack.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))
    return found


def dangling_refs(schema: Any) -> list[tuple[Path, str]]:
    """Every ``$ref`` (``$dynamicRef``, ``$recursiveRef``) of ``schema`` inside it (``#...``)
    that points at nothing (a JSON pointer or an anchor not there), with where it is, each
    resolved against the ``$id`` around it, as a validator would: found once, when the rule is
    compiled, not by each connector that reaches it."""
    from urllib.parse import urljoin

    from referencing import Registry
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012, specification_with

    if not isinstance(schema, dict):
        return []
    dialect = schema.get("$schema")
    spec = specification_with(dialect if isinstance(dialect, str) else "", default=DRAFT202012)
    root = spec.create_resource(schema)
    base = root.id() or ""
    resolver = Registry(retrieve=_refuse_retrieval).with_resource(  # type: ignore[call-arg]
        base, root).resolver_with_root(root)
    found: list[tuple[Path, str]] = []
    stack: list[tuple[Path, Any, str]] = [((), schema, base)]
    while stack:
        path, node, uri = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$id"), str):
                uri = urljoin(uri, node["$id"])
            for key in _REF_KEYWORDS:
                ref = node.get(key)
                if isinstance(ref, str) and ref.startswith("#"):
                    try:
                        resolver.lookup(urljoin(uri, ref))
                    except (Unresolvable, ValueError, KeyError, TypeError):
                        found.append(((*path, key), ref))
            stack.extend(((*path, k), v, uri) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v, uri) for i, v in enumerate(node))
    return sorted(found, key=lambda item: [str(p) for p in item[0]])


@contextmanager
def _reference_errors() -> Iterator[None]:
    """A validation that loops on the schema's own references, or meets one it cannot
    resolve, as a :class:`PolicyError`."""
    from referencing.exceptions import Unresolvable

    try:
        yield
    except RecursionError:
        raise PolicyError("the schema refers to itself without end") from None
    except Unresolvable as exc:
        raise PolicyError(f"cannot resolve a reference: {one_line(str(exc))}") from None


class Checker:
    """One rule's schema, compiled once and reused for every connector (see the module
    docstring). Raises :class:`PolicyError` when the schema cannot be used."""

    __slots__ = ("_project", "_validator", "_verdicts")

    def __init__(self, schema: Any) -> None:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError
        from jsonschema.validators import validator_for
        from referencing import Registry

        if not isinstance(schema, (dict, bool)):
            raise PolicyError(f"a schema is a mapping (or true/false), not {type(schema).__name__}")
        remote = remote_refs(schema)
        if remote:
            path, ref = remote[0]
            raise PolicyError(
                f"refers to {ref!r} outside the schema; policies are checked offline and "
                "nothing is fetched: copy what it refers to into the schema (under $defs) and "
                "refer to it as '#/$defs/...'", path)
        cls = validator_for(schema, default=None)
        if cls is None:
            cls = Draft202012Validator
            if isinstance(schema, dict) and "$schema" in schema:
                raise PolicyError(f"unknown $schema {str(schema['$schema'])!r}; use a JSON "
                                  "Schema draft jsonschema knows (e.g. "
                                  "https://json-schema.org/draft/2020-12/schema) or leave it out")
        try:
            cls.check_schema(schema)
        except SchemaError as exc:
            raise PolicyError(f"not a valid JSON Schema: {one_line(exc.message)}",
                              tuple(exc.absolute_path)) from None
        except RecursionError:
            raise PolicyError("not a valid JSON Schema: nested too deeply") from None
        broken = dangling_refs(schema)
        if broken:
            path, ref = broken[0]
            raise PolicyError(f"refers to {ref!r}, which is not in the schema", path)
        self._validator = cls(schema, registry=Registry(  # type: ignore[call-arg]
            retrieve=_refuse_retrieval))
        self._project: Callable[[Any], Hashable] = _freeze
        if cls.META_SCHEMA.get("$schema", "") not in _DRAFT3:  # draft 3's type takes schemas
            with suppress(RecursionError):  # a schema nested thousands deep: no projection
                self._project = _projector(schema)
        self._verdicts: dict[Hashable, bool] = {}
        with _reference_errors():  # one probe: a schema that loops on itself ({"$ref": "#"})
            next(self._validator.iter_errors({}), None)  # fails here, once

    def errors(self, instance: Any) -> list[tuple[Path, str, str]]:
        """How ``instance`` breaks the schema: (path in the instance, keyword, jsonschema's
        message on one line), each once; empty when it satisfies it."""
        try:
            key = self._project(instance)
        except (RecursionError, TypeError):
            key = None
        if key is not None and self._verdicts.get(key) is True:
            return []
        with _reference_errors():
            found = list(dict.fromkeys(
                (tuple(e.absolute_path), str(e.validator), one_line(e.message))
                for e in self._validator.iter_errors(instance)))
        if key is not None and len(self._verdicts) < _CACHE_LIMIT:
            self._verdicts[key] = not found
        return found


def compile_rule(schema: Any, label: str, match: Sequence[str] = (),
                 severity: str = "error") -> PolicyRule:
    """A :class:`PolicyRule` with its schema compiled (:class:`PolicyError` if unusable)."""
    checker = Checker(schema)
    return PolicyRule(schema=schema, label=label, match=tuple(match),
                      severity="warning" if severity == "warning" else "error",
                      checker=(checker, glob_matcher(tuple(match)) if match else None))


def applicable(rules: Iterable[PolicyRule], source_name: str) -> list[PolicyRule]:
    """The rules that apply to ``source_name``: those without ``match``, and those with a
    glob matching it (case-sensitive, the whole name). Each rule's globs are one compiled
    pattern, tried once."""
    out = []
    for rule in rules:
        matches = rule.checker[1]
        if matches is None or matches(source_name):
            out.append(rule)
    return out


def violations(rules: Iterable[PolicyRule], source_name: str,
               view: Mapping[str, Any]) -> list[tuple[PolicyRule, Path, str, str]]:
    """Every way ``view`` (the connector as a rule sees it) breaks the rules that apply to
    ``source_name``: (rule, path in the view, JSON Schema keyword, message)."""
    return [(rule, path, keyword, message)
            for rule in applicable(rules, source_name)
            for path, keyword, message in rule.checker[0].errors(view)]


def error_text(path: Path, message: str) -> str:
    """A finding's ``error``: the path in the connector (when inside it), then the message."""
    where = ""
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else part)
    return f"{where}: {message}" if where else message


def live_view(connector: LiveConnector) -> dict[str, Any]:
    """A live connector as a rule sees it: as ``import`` would declare it (``source_name``,
    ``name``; ``accepted_kinds`` sorted and ``metadata`` when not empty; ``active: false``
    when inactive)."""
    view: dict[str, Any] = {"source_name": connector.source_name, "name": connector.name}
    if connector.accepted_kinds:
        view["accepted_kinds"] = sorted(connector.accepted_kinds)
    if connector.metadata:
        view["metadata"] = dict(connector.metadata)
    if not connector.is_active:
        view["active"] = False
    return view


def live_findings(rules: Sequence[PolicyRule], connectors: Iterable[LiveConnector],
                  *, managed: bool = False) -> tuple[PolicyFinding, ...]:
    """A finding for every way each of ``connectors`` breaks a rule (of any severity)."""
    if not rules:
        return ()
    return tuple(
        PolicyFinding(c.source_name, rule.label, rule.severity, error_text(path, message),
                      managed)
        for c in connectors
        for rule, path, _keyword, message in violations(rules, c.source_name, live_view(c)))


# --- projections ---------------------------------------------------------------------------

_ABSENT = None  # a key's projection when the key is missing (a present key's is a tuple)


def _freeze(value: Any) -> Hashable:
    """``value`` as a hashable that tells apart what JSON tells apart (True is not 1)."""
    if isinstance(value, dict):
        return ("d", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("l", tuple(_freeze(v) for v in value))
    return (type(value).__name__, value)


def _whole(value: Any) -> Hashable:
    return ("v", _freeze(value))


def _trivial(_value: Any) -> Hashable:
    return ()


def _string_projector(pattern: str | None, lengths: bool) -> Callable[[Any], Hashable]:
    """For ``pattern``/``minLength``/``maxLength`` alone: a string is judged only by whether
    the pattern is found in it (``re.search``, as jsonschema does) and by its length."""
    import re

    try:
        search = re.compile(pattern).search if pattern is not None else None
    except re.error:
        return _whole

    def project_string(value: Any) -> Hashable:
        if not isinstance(value, str):
            return _whole(value)
        return ("s", search is None or search(value) is not None, len(value) if lengths else 0)

    return project_string


def _projector(schema: Any) -> Callable[[Any], Hashable]:
    """A function whose result is equal for two instances only if ``schema`` judges them
    alike (both valid or both not): the parts of the instance the schema looks at."""
    if isinstance(schema, bool) or not isinstance(schema, dict):
        return _trivial
    keys = set(schema) - _ANNOTATIONS
    if not keys:
        return _trivial
    if keys <= {"pattern", "minLength", "maxLength"} and isinstance(schema.get("pattern", ""), str):
        return _string_projector(schema.get("pattern"), bool(keys - {"pattern"}))
    if keys <= _VALUE_KEYWORDS:
        return _whole
    props, required = schema.get("properties", {}), schema.get("required", [])
    if (keys <= {"type", "properties", "required", "minProperties", "maxProperties"}
            and isinstance(props, dict) and isinstance(required, list)
            and all(isinstance(r, str) for r in required)):
        subs = tuple((k, _projector(props.get(k, True))) for k in sorted({*props, *required}))
        counts = bool(keys & {"minProperties", "maxProperties"})

        def project_object(value: Any) -> Hashable:
            if not isinstance(value, dict):
                return _whole(value)
            parts = tuple(_ABSENT if k not in value else sub(value[k]) for k, sub in subs)
            return ("o", len(value) if counts else 0, parts)

        return project_object
    items = schema.get("items", True)
    if keys <= {"type", "items", "minItems", "maxItems"} and isinstance(items, (dict, bool)):
        sub = _projector(items)

        def project_list(value: Any) -> Hashable:
            if not isinstance(value, list):
                return _whole(value)
            return ("a", tuple(sub(v) for v in value))

        return project_list
    return _whole
