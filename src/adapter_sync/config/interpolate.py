"""``${VAR}`` in config values, and keeping the API key out of them.

``${VAR}`` and ``${VAR:-default}`` in connector names and metadata values (``defaults.metadata``
too) are replaced from an environment mapping; ``:-`` also covers a set but empty variable;
``$${`` is a literal ``${``. An unset variable without a default is a problem. ``${ADAPTER_API_KEY}``
may not be used, and a value holding the API key (after substitution) is refused without ever
being shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapter_sync.config.yamlload import DocPath, Document, dotted
from adapter_sync.errors import Problem
from adapter_sync.secrets import API_KEY_ENV

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


def interpolate_document(doc: Document, env: Mapping[str, str], key: str | None,
                         problems: list[Problem]) -> None:
    """Interpolate names and metadata values of ``doc.data`` in place; refuse values holding
    ``key`` (the API key, or None for no check)."""
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
