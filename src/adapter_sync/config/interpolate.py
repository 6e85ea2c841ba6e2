"""``${VAR}`` in config values, and keeping the API key out of them.

``${VAR}`` and ``${VAR:-default}`` in connector names and metadata values (``defaults.metadata``
too) are replaced from an environment mapping; ``:-`` also covers a set but empty variable, and
a default may hold references itself (``${A:-${B}}``); ``$${`` is a literal ``${``. An unset
variable without a default is a problem. ``${ADAPTER_API_KEY}`` may not be used, and a value
(after substitution), a metadata key or a source_name holding the API key is refused without
ever being shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapter_sync.config.yamlload import DocPath, Document, dotted
from adapter_sync.errors import Problem
from adapter_sync.secrets import API_KEY_ENV

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INVALID = ("invalid ${...} reference: write ${NAME} or ${NAME:-default} (NAME: letters, digits, "
            "_; a default may hold references, and ends at the first } outside them), or $${ "
            "for a literal ${")


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """``text`` with ``${VAR}``/``${VAR:-default}`` replaced and ``$${`` unescaped, and the
    problems found (messages without location). Never puts the API key's value in a message.

    A default may itself hold references (``${A:-${B:-x}}``); it is expanded only when used,
    and ends at the first ``}`` that closes no reference of its own. A reference that does not
    parse (``${A``, ``${A:-${B}``, ``${1}``) is a problem, left in the text as written.
    """
    problems: list[str] = []
    value, _ = _expand(text, 0, env, problems, inside=False, used=True)
    return value, problems


def _expand(text: str, pos: int, env: Mapping[str, str], problems: list[str], *,
            inside: bool, used: bool) -> tuple[str, int]:
    """Expand ``text`` from ``pos``: to its end, or (``inside`` a default) to the ``}`` that
    closes it, whose position is returned (-1: never closed). ``used``: the result is kept, so
    unset variables are problems."""
    out: list[str] = []
    while True:
        dollar = text.find("$", pos)
        close = text.find("}", pos) if inside else -1
        if close != -1 and (dollar == -1 or close < dollar):
            out.append(text[pos:close])
            return "".join(out), close
        if dollar == -1:
            out.append(text[pos:])
            return "".join(out), -1 if inside else len(text)
        out.append(text[pos:dollar])
        if text.startswith("$${", dollar):
            out.append("${")
            pos = dollar + 3
        elif text.startswith("${", dollar):
            value, pos = _reference(text, dollar, env, problems, used)
            out.append(value)
        else:
            out.append("$")
            pos = dollar + 1


def _reference(text: str, start: int, env: Mapping[str, str], problems: list[str],
               used: bool) -> tuple[str, int]:
    """The value of the reference at ``text[start:]`` (which starts with ``${``) and where
    the text goes on after it. One that does not parse yields ``${`` and goes on after it."""
    known = len(problems)
    name = _NAME.match(text, start + 2)
    end = -1
    default: str | None = None
    if name is not None:
        after = name.end()
        if text.startswith("}", after):
            end = after + 1
        elif text.startswith(":-", after):
            wanted = used and not env.get(name.group())
            default, close = _expand(text, after + 2, env, problems, inside=True, used=wanted)
            end = close + 1 if close != -1 else -1
    if end == -1:
        del problems[known:]  # what the broken default said: one problem for the reference
        problems.append(_INVALID)
        return "${", start + 2
    whole = text[start:end]
    var = name.group()  # type: ignore[union-attr]
    if var == API_KEY_ENV:
        problems.append(f"${{{API_KEY_ENV}}} must not be used in config: the API key "
                        "would be sent as connector data")
        return whole, end
    value = env.get(var)
    if default is not None and not value:
        return default, end
    if value is None:
        if used:
            problems.append(f"environment variable {var} is not set (write "
                            f"${{{var}:-default}} to give a default)")
        return whole, end
    return value, end


def interpolate_document(doc: Document, env: Mapping[str, str], key: str | None,
                         problems: list[Problem]) -> None:
    """Interpolate names and metadata values of ``doc.data`` in place; refuse values, metadata
    keys and source_names holding ``key`` (the API key, or None for no check). A value holding
    it is replaced by ``***``; the messages never show it (nor a key holding it)."""
    data = doc.data
    places: list[tuple[DocPath, dict[str, Any]]] = []
    defaults = data.get("defaults")
    if isinstance(defaults, dict) and isinstance(defaults.get("metadata"), dict):
        places.append((("defaults", "metadata"), defaults["metadata"]))
    connectors = data.get("connectors")
    if isinstance(connectors, dict):
        for slug, body in connectors.items():
            if not isinstance(body, dict):
                continue
            name = body.get("name")
            if isinstance(name, str) and ("$" in name or holds_key(name, key)):
                _interpolate_value(doc, ("connectors", slug), body, "name", env, key, problems)
            metadata = body.get("metadata")
            if isinstance(metadata, dict) and metadata:
                places.append((("connectors", slug, "metadata"), metadata))
    for path, mapping in places:
        for k, v in mapping.items():
            if isinstance(v, str) and ("$" in v or holds_key(v, key)):
                _interpolate_value(doc, path, mapping, k, env, key, problems)
    if key:
        _refuse_keys_holding(doc, key, places, connectors, problems)


def _refuse_keys_holding(doc: Document, key: str, places: list[tuple[DocPath, dict[str, Any]]],
                         connectors: Any, problems: list[Problem]) -> None:
    """Metadata keys and source_names are sent to the API too: none may hold the key. The
    message names the mapping, not the key."""
    refusal = f"holds the API key ({API_KEY_ENV}); never put the key in config"
    if isinstance(connectors, dict):
        for slug in connectors:
            if holds_key(slug, key):
                problems.append(Problem(f"connectors: a source_name {refusal}",
                                        doc.key_location(("connectors", slug))))
    for path, mapping in places:
        for k in mapping:
            if holds_key(k, key):
                problems.append(Problem(f"{dotted(path)}: a key {refusal}",
                                        doc.key_location((*path, k))))


def holds_key(value: str, key: str | None) -> bool:
    """The value is the key, or contains it (a key too short to search for must match whole)."""
    if not key:
        return False
    return key in value if len(key) >= 8 else value == key


def _interpolate_value(doc: Document, path: DocPath, mapping: dict[str, Any], name: str,
                       env: Mapping[str, str], key: str | None, problems: list[Problem]) -> None:
    source = mapping[name]
    value, messages = interpolate(source, env) if "$" in source else (source, [])
    if holds_key(value, key):
        messages.append(f"this value holds the API key ({API_KEY_ENV}); never put the key in "
                        "config")
        value = "***"
    if messages:  # located only then: locating composes the file's node tree
        where = dotted((*path, name))
        location = doc.locate((*path, name))
        problems.extend(Problem(f"{where}: {message}", location) for message in messages)
    mapping[name] = value
