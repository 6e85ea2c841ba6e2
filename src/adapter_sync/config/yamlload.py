"""A strict YAML reader: plain values, their positions kept compactly, any other found on demand.

It reads one file into plain Python values (dicts, lists, str, int, bool, None) straight from
the parser's events, without PyYAML's node tree (a node and two marks per value: most of the
memory of a large plan). It keeps only the positions a valid config needs: those of the keys of
the top level and of the mappings right below it (each connector's source_name). Any other
position is wanted only to report a problem: :class:`Document` then composes the file's node
tree once, from the bytes it kept, and finds the value there by its path.

What it refuses, each reported as a :class:`~adapter_sync.errors.Problem` with its position:
files over 10 MB (before parsing), files that are not UTF-8 (a BOM is fine), YAML syntax errors,
duplicate keys at any depth (both lines named), anchors, aliases and merge keys (no "billion
laughs"; an alias is never expanded), tags other than ``!!str``/``!!map``/``!!seq``, keys that
are not strings, and nesting deeper than any config needs.

Scalars are converted here, not by PyYAML's resolver, so nothing silently changes meaning:
quoted and block scalars are strings; a plain scalar is ``None`` (``null``, ``~``, empty),
``True``/``False`` (``true``/``false``), an ``int`` (plain decimal), or a :class:`Plain` marker
when YAML tools disagree on it or read it as something else than a string (``yes``/``no``/``on``/
``off``/``y``/``n``, ``0755``, ``1.10``, ``1e3``, dates). A ``Plain`` is neither a string nor a
number, so a schema check rejects it wherever a value is expected; the caller turns that into a
"quote it" hint. Everything else is a string.
"""

from __future__ import annotations

import errno
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import yaml
from yaml.composer import Composer, ComposerError
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from adapter_sync.errors import Location, Problem

MAX_BYTES = 10 * 1024 * 1024
#: Deepest nesting converted; a config needs 4 levels (root, connectors, connector, metadata).
MAX_DEPTH = 16
#: The C composer recurses on the C stack (it crashed beyond ~20,000 levels): a text whose
#: nesting could exceed this is read strictly (it stops at the first value nested too deep), so
#: that a document returned can always be composed to locate a problem.
_SAFE_COMPOSE_DEPTH = 1000

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_IMPLICIT = "?"  # our tag for plain scalars: classified by classify_plain() below

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
# too). A text with none is read leniently (see _Reader). Globs like legacy-* do not match.
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


class _PyParser(Reader, Scanner, Parser):
    """PyYAML's pure-Python parser, for a PyYAML built without libyaml (slower, same events)."""

    def __init__(self, stream: bytes) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)

    def dispose(self) -> None:
        self.state = None


class _PyComposer(_PlainResolver, _PyParser, Composer):
    """The pure-Python composer (to locate problems), for a PyYAML built without libyaml."""

    def __init__(self, stream: bytes) -> None:
        _PyParser.__init__(self, stream)
        Composer.__init__(self)


_Parser: Any = _PyParser
_Composer: Any = _PyComposer
try:  # libyaml's parser and composer when PyYAML was built with it
    from yaml._yaml import CParser

    class _CComposer(_PlainResolver, CParser):
        pass

    _Parser, _Composer = CParser, _CComposer
except ImportError:  # pragma: no cover
    pass

_UNREAD: Any = object()


class Document:
    """One parsed file: its values, the positions of its first two levels of keys, and (only
    when another position is asked for) the node tree, composed again from the kept bytes."""

    __slots__ = ("_index", "_keys", "_root", "_source", "data", "file")

    def __init__(self, file: str, data: Any, source: bytes,
                 keys: dict[tuple[str, ...], dict[str, Location]]) -> None:
        self.file = file
        self.data = data
        self._source = source
        self._keys = keys  # (), ("connectors",)... → key → where the key starts
        self._root: Any = _UNREAD
        self._index: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def _tree(self) -> yaml.Node | None:
        """The node tree, composed on first use (error paths only)."""
        if self._root is _UNREAD:
            self._root = None
            try:
                composer = _Composer(self._source)
                try:
                    self._root = composer.get_single_node()
                finally:
                    composer.dispose()
            except yaml.YAMLError:  # pragma: no cover - the same bytes were read already
                pass
        root: yaml.Node | None = self._root
        return root

    def location(self, mark: Any) -> Location:
        return Location(self.file, mark.line + 1, mark.column + 1)

    def _node(self, path: Sequence[str | int]) -> tuple[yaml.Node | None, yaml.Node | None]:
        """(key node, value node) at ``path``; the deepest found if the path runs out."""
        key: yaml.Node | None = None
        node = self._tree()
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
        last = path[-1] if path else None
        if len(path) <= 2 and isinstance(last, str):
            known = self._keys.get(cast("tuple[str, ...]", tuple(path[:-1])))
            if known is not None:
                found = known.get(last)
                if found is not None:
                    return found
        key, node = self._node(path)
        target = key if key is not None else node
        return self.location(target.start_mark) if target is not None else Location(self.file, 1, 1)


def read_bounded(path: Path) -> bytes:
    """The bytes of ``path`` (symlinks followed), at most ``MAX_BYTES + 1`` of them. A path
    that is not a regular file (a device such as /dev/zero, a FIFO, a folder) raises
    :class:`OSError` ("not a regular file") without being opened: it may never end."""
    if not stat.S_ISREG(path.stat().st_mode):
        raise OSError(errno.EINVAL, "not a regular file")
    with path.open("rb") as f:
        return f.read(MAX_BYTES + 1)


def read(path: Path, display: str) -> tuple[Document | None, list[Problem]]:
    """Read one file; ``display`` is the name used in messages. Never raises for bad input."""
    def at(line: int = 1, col: int = 1) -> Location:
        return Location(display, line, col)

    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, [Problem(f"file is too large ({size:,} bytes; the limit is 10 MB)", at())]
        data = read_bounded(path)
    except OSError as exc:
        return None, [Problem(f"cannot read file: {exc.strerror or exc}", at())]
    if len(data) > MAX_BYTES:  # grew since stat, or had no size to stat
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
    strict = bool(_MAYBE_ANCHOR.search(data)) or _may_nest_deeply(data)
    reader: _Reader | None = None
    try:
        parser = _Parser(data)  # the pure-Python reader checks the characters here
        reader = _Reader(parser, display, strict)
        try:
            value = reader.read()
        finally:
            parser.dispose()
    except _TooDeep as stop:
        assert reader is not None
        return None, [*reader.scanned, stop.problem]
    except yaml.YAMLError as exc:
        problem = _syntax_problem(exc, data, display)
        return None, [*reader.scanned, problem] if strict and reader else [problem]
    if reader.composer_error is not None:
        return None, [_syntax_problem(reader.composer_error, data, display)]
    if value is _UNREAD:
        return None, [Problem("file is empty; expected a mapping with a 'connectors' key",
                              Location(display, 1, 1))]
    problems = reader.scanned + reader.problems
    problems.sort(key=lambda p: (p.location.line, p.location.col) if p.location else (0, 0))
    return Document(display, value, data, reader.keys), problems


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
    return Problem(f"YAML syntax error: {text or 'invalid YAML'}{_hint(text, mark, data, exc)}",
                   location)


def _hint(text: str, mark: Any, data: bytes, exc: yaml.YAMLError) -> str:
    """A way out for the syntax error people meet most: a glob such as ``*-legacy`` (any value
    starting with ``*``) is read as a YAML alias: an undefined one, or, for a bare ``*`` (as
    in ``[billing-*, *]``), an alias with no name, which the scanner refuses where it began."""
    if "while scanning an alias" in text:
        mark = getattr(exc, "context_mark", None)
    elif "undefined alias" not in text:
        return ""
    if mark is None:
        return ""
    lines = data.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else b""
    word = line[mark.column:].decode("utf-8", "replace").split(",")[0].split("]")[0].strip()
    if not word.startswith("*"):
        return ""
    return f"; a value starting with '*' is read as a YAML alias: quote it, as \"{word}\""


class _TooDeep(Exception):
    """Nesting beyond MAX_DEPTH in a strictly read text: reading stops there."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Reader:
    """Parser events → Python values in one pass, reporting what :func:`parse` refuses.

    Anchors and aliases are reported (an alias is never expanded: its value is REJECTED, and
    an alias used as a key drops its entry); the composer's own errors (an undefined alias, an
    anchor defined twice, a second document) make the file unreadable. A value nested deeper
    than MAX_DEPTH is REJECTED; in a *strict* text (one that may hold anchors, or nest deeper
    than the composer can take) it stops the reading instead, and only the anchors and
    aliases found until then are reported with it.
    """

    def __init__(self, parser: Any, display: str, strict: bool) -> None:
        self.get = parser.get_event
        self.display = display
        self.strict = strict
        self.python_messages = isinstance(parser, _PyParser)
        self.problems: list[Problem] = []  # about values
        self.scanned: list[Problem] = []  # anchors and aliases
        self.anchors: dict[str, Any] = {}  # name → start mark, as the composer registers them
        self.composer_error: ComposerError | None = None
        self.keys: dict[tuple[str, ...], dict[str, Location]] = {}
        self.shared: dict[str, str] = {}

    def _at(self, event: Any) -> Location:
        mark = event.start_mark
        return Location(self.display, mark.line + 1, mark.column + 1)

    def _problem(self, message: str, event: Any) -> None:
        self.problems.append(Problem(message, self._at(event)))

    def read(self) -> Any:
        """The document's value, or _UNREAD when the stream holds no document."""
        get = self.get
        get()  # StreamStartEvent
        if type(get()) is StreamEndEvent:  # else a DocumentStartEvent
            return _UNREAD
        root = get()
        value = self.node(root, 0, ())
        get()  # DocumentEndEvent
        event = get()
        if type(event) is not StreamEndEvent:
            self._composer_failed(ComposerError(
                "expected a single document in the stream", root.start_mark,
                "but found another document", event.start_mark))
            self._scan_rest()
        return value

    def node(self, event: Any, parents: int, path: tuple[str, ...] | None = None) -> Any:
        """The value that starts with ``event``, read through its end; ``parents`` is how many
        collections enclose it. The keys of mappings at ``path`` (not None) are located."""
        cls = type(event)
        if event.anchor is not None:
            if cls is AliasEvent:
                self._alias(event)
                return REJECTED
            self._anchor(event)
        if cls is ScalarEvent:
            tag = event.tag
            if tag is None or tag == "!":
                return classify_plain(event.value) if event.implicit[0] else event.value
            if tag == _STR:
                return event.value
            self._problem(f"tags like {tag!r} are not allowed; quote the value instead", event)
            return REJECTED
        if parents >= MAX_DEPTH:
            self._too_deep(event)
            self._skip(parents + 1)
            return REJECTED
        is_mapping = cls is MappingStartEvent
        tag = event.tag
        if tag is not None and tag != "!" and tag != (_MAP if is_mapping else _SEQ):
            self._problem(f"tags like {tag!r} are not allowed", event)
            self._skip(parents + 1)
            return REJECTED
        if is_mapping:
            return self._mapping(parents + 1, path)
        items: list[Any] = []
        get, node = self.get, self.node
        while True:
            event = get()
            if type(event) is SequenceEndEvent:
                return items
            items.append(node(event, parents + 1))

    def _mapping(self, parents: int, path: tuple[str, ...] | None) -> dict[str, Any]:
        get, node, display = self.get, self.node, self.display
        result: dict[str, Any] = {}
        # Where each key text first occurs, for duplicates: the located keys say it already.
        first_line: dict[str, int] = {}
        located = None if path is None else self.keys.setdefault(path, {})
        # Keys that repeat (name, metadata, team...) are kept once: memory for large files.
        shared = self.shared if located is None else None
        while True:
            event = get()
            cls = type(event)
            if cls is MappingEndEvent:
                return result
            if cls is not ScalarEvent:  # an alias or a collection: reported, entry dropped
                self._odd_key(event, parents)
                self._skip_node(get(), parents)
                continue
            if event.anchor is not None:
                self._anchor(event)
            text = event.value
            tag = event.tag
            if tag is None or tag == "!":
                tag = _IMPLICIT if event.implicit[0] else _STR
            key = text if tag == _STR else self._key(text, tag, event)
            mark = event.start_mark
            if located is None:
                first_line.setdefault(text, mark.line + 1)
            if key is None:
                self._skip_node(get(), parents)
                continue
            if key in result:
                first = located[key].line if located is not None else first_line[key]
                self._problem(f"duplicate key '{key}' (first defined at line {first}); "
                              "remove one of them", event)
                self._skip_node(get(), parents)
                continue
            if shared is not None:
                key = shared.setdefault(key, key)
            else:
                located[key] = Location(display, mark.line + 1, mark.column + 1)  # type: ignore[index]
            result[key] = node(get(), parents, (key,) if path == () else None)

    def _key(self, text: str, tag: str, event: Any) -> str | None:
        """A key that is not a quoted string: a string, or None (reported) to drop the entry."""
        if tag != _IMPLICIT:
            self._problem(f"tags like {tag!r} are not allowed; quote the key instead", event)
            return text
        if text == "<<":
            self._problem("merge keys (<<) are not allowed; repeat the keys or use 'defaults'",
                          event)
            return None
        value = classify_plain(text)
        if isinstance(value, str):
            return value
        self._problem(f"key '{text}' is read as {describe(value)}; "
                      f"quote it if you mean the string: \"{text}\"", event)
        return text

    def _odd_key(self, event: Any, parents: int) -> None:
        """A key that is an alias (reported as such) or a list or mapping, skipped."""
        if type(event) is not AliasEvent:
            self._problem("keys must be strings, not lists or mappings", event)
        self._skip_node(event, parents)

    def _skip_node(self, event: Any, parents: int) -> None:
        """Read past the value that starts with ``event``, building nothing."""
        cls = type(event)
        if event.anchor is not None:
            if cls is AliasEvent:
                self._alias(event)
                return
            self._anchor(event)
        if cls is ScalarEvent:
            return
        if self.strict and parents >= MAX_DEPTH:
            self._too_deep(event)
        self._skip(parents + 1)

    def _skip(self, depth: int) -> None:
        """Read past the rest of the collection just opened at ``depth``, building nothing;
        anchors, aliases and (when strict) nesting are still checked."""
        get = self.get
        level = 0
        while True:
            event = get()
            cls = type(event)
            if cls is MappingEndEvent or cls is SequenceEndEvent:
                if not level:
                    return
                level -= 1
                continue
            if event.anchor is not None:
                if cls is AliasEvent:
                    self._alias(event)
                    continue
                self._anchor(event)
            if cls is not ScalarEvent:
                level += 1
                if self.strict and depth + level > MAX_DEPTH:
                    self._too_deep(event)

    def _scan_rest(self) -> None:
        """After a second document (strict only): its anchors, aliases and nesting."""
        get = self.get
        depth = 0
        while True:
            event = get()
            cls = type(event)
            if cls is StreamEndEvent:
                return
            if cls is MappingEndEvent or cls is SequenceEndEvent:
                depth -= 1
                continue
            if getattr(event, "anchor", None) is not None:
                if cls is AliasEvent:
                    self._alias(event)
                    continue
                self._anchor(event)
            if cls is MappingStartEvent or cls is SequenceStartEvent:
                depth += 1
                if depth > MAX_DEPTH:
                    self._too_deep(event)

    def _too_deep(self, event: Any) -> None:
        problem = Problem(f"nesting is too deep (more than {MAX_DEPTH} levels)", self._at(event))
        if self.strict:
            raise _TooDeep(problem)
        self.problems.append(problem)

    def _anchor(self, event: Any) -> None:
        name = event.anchor
        self.scanned.append(Problem(
            f"anchors (&{name}) are not allowed; repeat the value or use 'defaults'",
            self._at(event)))
        first = self.anchors.get(name)
        if first is None:
            self.anchors[name] = event.start_mark
        else:
            quoted = f" {name!r}" if self.python_messages else ""
            self._composer_failed(ComposerError(
                f"found duplicate anchor{quoted}; first occurrence", first,
                "second occurrence", event.start_mark))

    def _alias(self, event: Any) -> None:
        name = event.anchor
        self.scanned.append(Problem(
            f"aliases (*{name}) are not allowed; repeat the value or use 'defaults'",
            self._at(event)))
        if name not in self.anchors:
            quoted = f" {name!r}" if self.python_messages else ""
            self._composer_failed(ComposerError(
                None, None, f"found undefined alias{quoted}", event.start_mark))

    def _composer_failed(self, error: ComposerError) -> None:
        """What PyYAML's composer would raise here. A strict text is read on to its end (a
        syntax error or nesting found later is reported instead); otherwise it stops now."""
        if not self.strict:
            raise error
        if self.composer_error is None:
            self.composer_error = error


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


