"""A strict YAML reader that keeps the position of every value.

It reads one file into plain Python values (dicts, lists, str, int, bool, None) and keeps the
composed node tree, so any value can be located again by its path (``Document.locate``).

What it refuses, each reported as a :class:`~adapter_sync.errors.Problem` with its position:
files over 10 MB (before parsing), files that are not UTF-8 (a BOM is fine), YAML syntax errors,
duplicate keys at any depth (both lines named), anchors, aliases and merge keys (no "billion
laughs"), tags other than ``!!str``/``!!map``/``!!seq``, keys that are not strings, and nesting
deeper than any config needs.

Scalars are converted here, not by PyYAML's resolver, so nothing silently changes meaning:
quoted and block scalars are strings; a plain scalar is ``None`` (``null``, ``~``, empty),
``True``/``False`` (``true``/``false``), an ``int`` (plain decimal), or a :class:`Plain` marker
when YAML tools disagree on it or read it as something else than a string (``yes``/``no``/``on``/
``off``/``y``/``n``, ``0755``, ``1.10``, ``1e3``, dates). A ``Plain`` is neither a string nor a
number, so a schema check rejects it wherever a value is expected; the caller turns that into a
"quote it" hint. Everything else is a string.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from adapter_sync.errors import Location, Problem

MAX_BYTES = 10 * 1024 * 1024
#: Deepest nesting converted; a config needs 4 levels (root, connectors, connector, metadata).
MAX_DEPTH = 16
#: The C composer recurses on the C stack (it crashed beyond ~20,000 levels); texts whose
#: nesting could exceed this are checked event by event before composing.
_SAFE_COMPOSE_DEPTH = 1000

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_IMPLICIT = "?"  # our tag for plain scalars: classified by _plain() below

_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
#: YAML 1.1 booleans other than true/false: PyYAML reads yes/no/on/off as booleans, other
#: tools read y/n too, YAML 1.2 tools read all of them as strings. Matched case-insensitively.
_BOOL11 = frozenset(("yes", "no", "on", "off", "y", "n"))
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
# Numbers in YAML 1.1 (PyYAML: 0755 octal, 1_000, 0b1, 1:30 sexagesimal) or YAML 1.2 (1e3, 0o17).
_NUMBER = re.compile(
    r"""[-+]?(?:
          0b[01_]+ | 0o[0-7]+ | 0x[0-9a-fA-F_]+
        | [0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
        | (?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?
        | \.(?:inf|Inf|INF)
      )\Z
    | \.(?:nan|NaN|NAN)\Z""",
    re.X,
)
_DATE = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?\Z"
)
_NUMERIC_START = frozenset("0123456789+-.")
# Where an anchor (&a) or alias (*a) could start: a superset (quoted text and comments match
# too), so that files without any skip the slower event scan. Globs like legacy-* do not match.
_MAYBE_ANCHOR = re.compile(rb"(?:\A|[\s\[{,:])[&*]\S")


#: A path to a value in a document: mapping keys and list indexes, e.g. ("connectors", "acme").
DocPath = tuple[str | int, ...]


def dotted(path: Sequence[str | int]) -> str:
    """A path as messages spell it: ``connectors.acme.accepted_kinds[1]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class Plain:
    """An unquoted scalar that is not plainly a string: ``kind`` says what tools read it as."""

    __slots__ = ("kind", "text")

    def __init__(self, text: str, kind: str) -> None:
        self.text = text
        self.kind = kind  # "number", "date", "boolean" (a YAML 1.1 boolean such as yes/off)

    def __repr__(self) -> str:
        return f"Plain({self.text!r}, {self.kind!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Plain) and (other.text, other.kind) == (self.text, self.kind)

    def __hash__(self) -> int:
        return hash((self.text, self.kind))


class _Rejected:
    """The value of a node already reported (a tag, an alias, too deep): later checks skip it
    instead of reporting the same place twice."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "REJECTED"


REJECTED: Any = _Rejected()


def classify_plain(text: str) -> Any:
    """The value of an unquoted scalar (see the module docstring)."""
    if text in _NULLS:
        return None
    if len(text) <= 5:
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if text.lower() in _BOOL11:
            return Plain(text, "boolean")
    if text[0] in _NUMERIC_START:
        if _DECIMAL.match(text):
            return int(text)
        if _NUMBER.match(text):
            return Plain(text, "number")
        if _DATE.match(text):
            return Plain(text, "date")
    return text


class _PlainResolver:
    """PyYAML's resolver (Python, slow) replaced: plain scalars get the placeholder tag ``?``
    and are classified once, by :func:`classify_plain`; quoted scalars are strings."""

    def descend_resolver(self, parent: Any, index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            return _IMPLICIT if implicit[0] else _STR
        return _MAP if kind is yaml.MappingNode else _SEQ


class _PyComposer(_PlainResolver, Reader, Scanner, Parser, Composer):
    """The pure-Python composer, for a PyYAML built without libyaml (slower, same results)."""

    def __init__(self, stream: bytes) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)

    def dispose(self) -> None:
        self.state = None  # type: ignore[assignment]


_Composer: Any = _PyComposer
_EventLoader: Any = yaml.SafeLoader
try:  # libyaml's composer when PyYAML was built with it
    from yaml._yaml import CParser

    class _CComposer(_PlainResolver, CParser):  # type: ignore[misc]
        pass

    _Composer, _EventLoader = _CComposer, yaml.CSafeLoader
except ImportError:  # pragma: no cover
    pass


@dataclass
class Document:
    """One parsed file: its values, and the nodes to find any value's position again."""

    file: str
    data: Any
    root: yaml.Node | None
    _index: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = field(default_factory=dict)

    def location(self, mark: Any) -> Location:
        return Location(self.file, mark.line + 1, mark.column + 1)

    def _node(self, path: Sequence[str | int]) -> tuple[yaml.Node | None, yaml.Node | None]:
        """(key node, value node) at ``path``; the deepest found if the path runs out."""
        key: yaml.Node | None = None
        node = self.root
        for part in path:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                index = self._index.get(id(node))
                if index is None:
                    index = {}
                    for k, v in node.value:
                        if isinstance(k, yaml.ScalarNode):
                            index.setdefault(k.value, (k, v))
                    self._index[id(node)] = index
                if part not in index:
                    break
                key, node = index[part]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                    and 0 <= part < len(node.value):
                key, node = None, node.value[part]
            else:
                break
        return key, node

    def node(self, path: Sequence[str | int]) -> yaml.Node | None:
        return self._node(path)[1]

    def locate(self, path: Sequence[str | int]) -> Location:
        """Where the value at ``path`` starts."""
        node = self._node(path)[1]
        return self.location(node.start_mark) if node is not None else Location(self.file, 1, 1)

    def key_location(self, path: Sequence[str | int]) -> Location:
        """Where the key of the value at ``path`` starts (the value itself for list items)."""
        key, node = self._node(path)
        target = key if key is not None else node
        return self.location(target.start_mark) if target is not None else Location(self.file, 1, 1)


def read(path: Path, display: str) -> tuple[Document | None, list[Problem]]:
    """Read one file; ``display`` is the name used in messages. Never raises for bad input."""
    def at(line: int = 1, col: int = 1) -> Location:
        return Location(display, line, col)

    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, [Problem(f"file is too large ({size:,} bytes; the limit is 10 MB)", at())]
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(f"cannot read file: {exc.strerror or exc}", at())]
    if len(data) > MAX_BYTES:  # grew since stat
        return None, [Problem("file is too large (the limit is 10 MB)", at())]
    return parse(data, display)


def parse(data: bytes, display: str) -> tuple[Document | None, list[Problem]]:
    """Parse bytes already read (see :func:`read`)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[line_start:exc.start].decode("utf-8", "replace")) + 1
        return None, [Problem(
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8", Location(display, line, col))]
    if not data.strip():
        return None, [Problem("file is empty; expected a mapping with a 'connectors' key",
                              Location(display, 1, 1))]
    problems: list[Problem] = []
    aliased = False
    if _MAYBE_ANCHOR.search(data) or _may_nest_deeply(data):
        ok, aliased = _scan_events(data, display, problems)
        if not ok:
            return None, problems
    try:
        composer = _Composer(data)
        try:
            root = composer.get_single_node()
        finally:
            composer.dispose()
    except yaml.YAMLError as exc:
        return None, [_syntax_problem(exc, data, display)]
    if root is None:
        return None, [Problem("file is empty; expected a mapping with a 'connectors' key",
                              Location(display, 1, 1))]
    converter = _Converter(display, problems, seen=set() if aliased else None)
    value = converter.convert(root, 0)
    problems.sort(key=lambda p: (p.location.line, p.location.col) if p.location else (0, 0))
    return Document(display, value, root), problems


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _may_nest_deeply(data: bytes) -> bool:
    """Could the nesting exceed _SAFE_COMPOSE_DEPTH? Cheap and conservative: block nesting
    needs a new column per level, so it is bounded by the longest line; flow nesting by how
    many rounds of removing innermost [] and {} pairs it takes (plus unmatched openers)."""
    longest = max(map(len, data.split(b"\n")))
    if longest > _SAFE_COMPOSE_DEPTH:
        return True
    brackets = data.translate(None, _NOT_BRACKETS)
    rounds = 0
    while brackets:
        reduced = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(reduced) == len(brackets):
            break
        brackets = reduced
        rounds += 1
        if longest + rounds > _SAFE_COMPOSE_DEPTH:
            return True
    unmatched = brackets.count(b"[") + brackets.count(b"{")
    return longest + rounds + unmatched > _SAFE_COMPOSE_DEPTH


def _scan_events(data: bytes, display: str, problems: list[Problem]) -> tuple[bool, bool]:
    """Report anchors and aliases; refuse nesting beyond MAX_DEPTH. (ok to compose, aliased)."""
    depth = 0
    aliased = False
    try:
        for event in yaml.parse(data, Loader=_EventLoader):
            anchor = getattr(event, "anchor", None)
            if isinstance(event, yaml.AliasEvent):
                aliased = True
                problems.append(Problem(
                    f"aliases (*{anchor}) are not allowed; repeat the value or use 'defaults'",
                    _mark_location(event.start_mark, display)))
            elif anchor is not None:
                problems.append(Problem(
                    f"anchors (&{anchor}) are not allowed; repeat the value or use 'defaults'",
                    _mark_location(event.start_mark, display)))
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    problems.append(Problem(
                        f"nesting is too deep (more than {MAX_DEPTH} levels)",
                        _mark_location(event.start_mark, display)))
                    return False, aliased
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        problems.append(_syntax_problem(exc, data, display))
        return False, aliased
    return True, aliased


def _mark_location(mark: Any, display: str) -> Location:
    return Location(display, mark.line + 1, mark.column + 1)


def _syntax_problem(exc: yaml.YAMLError, data: bytes, display: str) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError):
        text = exc.problem or exc.context or ""
        if exc.problem and exc.context:
            text += f" ({exc.context}"
            if exc.context_mark is not None and exc.context_mark is not mark:
                text += f" started at line {exc.context_mark.line + 1}"
            text += ")"
    else:
        text = getattr(exc, "reason", None) or str(exc).splitlines()[0]
    if mark is not None:
        location = _mark_location(mark, display)
    elif isinstance(getattr(exc, "position", None), int):  # ReaderError: a byte offset
        pos = exc.position  # type: ignore[attr-defined]
        line = data.count(b"\n", 0, pos) + 1
        start = data.rfind(b"\n", 0, pos) + 1
        location = Location(display, line, len(data[start:pos].decode("utf-8", "replace")) + 1)
    else:
        location = Location(display, 1, 1)
    return Problem(f"YAML syntax error: {text or 'invalid YAML'}", location)


class _Converter:
    """Nodes → Python values in one pass, reporting what :func:`parse` refuses."""

    def __init__(self, file: str, problems: list[Problem], seen: set[int] | None) -> None:
        self.file = file
        self.problems = problems
        self.seen = seen  # node ids already converted: set only when aliases were found

    def _problem(self, message: str, node: yaml.Node) -> None:
        self.problems.append(Problem(message, _mark_location(node.start_mark, self.file)))

    def convert(self, node: yaml.Node, depth: int) -> Any:
        if self.seen is not None:
            if id(node) in self.seen:
                return REJECTED  # an alias: already reported, never expanded
            self.seen.add(id(node))
        tag = node.tag
        if type(node) is yaml.ScalarNode:
            if tag == _IMPLICIT:
                return classify_plain(node.value)
            if tag == _STR:
                return node.value
            self._problem(f"tags like {tag!r} are not allowed; quote the value instead", node)
            return REJECTED
        if depth >= MAX_DEPTH:
            self._problem(f"nesting is too deep (more than {MAX_DEPTH} levels)", node)
            return REJECTED
        if tag != (_MAP if type(node) is yaml.MappingNode else _SEQ):
            self._problem(f"tags like {tag!r} are not allowed", node)
            return REJECTED
        if type(node) is yaml.MappingNode:
            return self._mapping(node, depth + 1)
        convert = self.convert
        return [convert(item, depth + 1) for item in node.value]

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        keys: dict[str, yaml.Node] | None = None
        convert = self.convert
        for key_node, value_node in node.value:
            if type(key_node) is yaml.ScalarNode and key_node.tag == _STR:
                key = key_node.value
            else:
                key = self._key(key_node)
                if key is None:
                    continue
            if key in result:
                if keys is None:
                    keys = {}
                    for k, _ in node.value:
                        if type(k) is yaml.ScalarNode:
                            keys.setdefault(k.value, k)
                first = keys[key]
                self._problem(
                    f"duplicate key '{key}' (first defined at line {first.start_mark.line + 1});"
                    " remove one of them", key_node)
                continue
            result[key] = convert(value_node, depth)
        return result

    def _key(self, node: yaml.Node) -> str | None:
        """A key that is not a quoted string: a string, or None (reported) to skip the entry."""
        if self.seen is not None and id(node) in self.seen:
            return None
        if type(node) is not yaml.ScalarNode:
            self._problem("keys must be strings, not lists or mappings", node)
            return None
        text = node.value
        if node.tag != _IMPLICIT:
            self._problem(f"tags like {node.tag!r} are not allowed; quote the key instead", node)
            return text
        if text == "<<":
            self._problem("merge keys (<<) are not allowed; repeat the keys or use 'defaults'",
                          node)
            return None
        value = classify_plain(text)
        if isinstance(value, str):
            return value
        self._problem(f"key '{text}' is read as {describe(value)}; "
                      f"quote it if you mean the string: \"{text}\"", node)
        return text


def describe(value: Any) -> str:
    """How YAML tools read a converted value, for messages ("a number", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, Plain):
        return {"number": "a number", "date": "a date",
                "boolean": "a boolean by YAML 1.1 tools"}.get(value.kind, "not a string")
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


