"""Config files → :class:`~adapter_sync.model.Desired`: each file read, interpolated and checked
against the schema, then its settings and connectors merged with the other files'.

Here: a file's ``requires:`` checked first (:mod:`.requires`), ``defaults`` merged into each
connector of the same file (the merged metadata must still have at most 20 keys),
``prune``/``ignore``/``protect``/``safety``/``policy`` set in one file or identically in
several, a source_name declared once across all files, no declared connector matched by
``ignore``, and every declared connector checked against the ``policy`` rules
(:mod:`.policyload`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from adapter_sync.config import policyload, yamlload
from adapter_sync.config.discovery import find
from adapter_sync.config.interpolate import interpolate_document
from adapter_sync.config.requires import requires_problem
from adapter_sync.config.schema import schema_problems, valid_document
from adapter_sync.config.yamlload import Document, describe
from adapter_sync.errors import AdapterSyncError, ConfigError, Location, Problem
from adapter_sync.model import (
    METADATA_MAX_KEYS,
    Desired,
    DesiredConnector,
    PolicyFinding,
    PolicyRule,
    SafetyRules,
)


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
    protect: _Setting | None = None
    safety: _Setting | None = None
    kind_sets: dict[frozenset[str], frozenset[str]] = field(default_factory=dict)
    policy: _Setting | None = None
    #: Each file built, with its defaults: checked against the policy once it is known.
    built: list[tuple[Document, dict[str, Any]]] = field(default_factory=list)


def load(paths: Sequence[str] = (), *, env: Mapping[str, str] | None = None,
         api_key: str | None = None, check_policy: bool = True) -> Desired:
    """Read and validate every config file; raise :class:`ConfigError` with all problems.

    ``env`` (default ``os.environ``) gives the values of ``${VAR}`` references. ``api_key`` is
    the API key that no value, metadata key or source_name may hold (None: no such check); it
    is never read from the environment here, and no message shows it. ``check_policy=False``
    reads no ``policy:`` rule (the files they name are not opened): for the base config of a
    three-way plan, whose connectors alone matter.
    """
    files, problems = find(paths)
    if problems:
        raise ConfigError(problems)
    state = _State()
    if env is None:
        env = os.environ
    key = (api_key or "").strip() or None
    unsupported: list[Problem] = []  # files written for another adapter-sync (requires:)
    for path in files:
        doc, file_problems = yamlload.read(path, str(path))
        if doc is not None:
            refused = requires_problem(doc)
            if refused is not None:
                unsupported.append(refused)
                continue
            file_problems.extend(_check_file(doc, env, key, state, read_ok=not file_problems,
                                             check_policy=check_policy))
        problems.extend(sorted(file_problems, key=_position))
    # The only problems worth showing then (the rest may be a newer config language): one
    # line, or one per file when several refuse.
    if len(unsupported) == 1:
        raise AdapterSyncError(unsupported[0].message, unsupported[0].location)
    if unsupported:
        raise ConfigError(unsupported)
    ignore: tuple[str, ...] = tuple(state.ignore.value) if state.ignore else ()
    if ignore:
        for connector in state.connectors.values():
            pattern = next((p for p in ignore if fnmatchcase(connector.source_name, p)), None)
            if pattern is not None:
                problems.append(Problem(
                    f"connectors.{connector.source_name}: matches ignore pattern '{pattern}' "
                    "and would never be applied; remove it or narrow the pattern",
                    connector.location))
    rules: tuple[PolicyRule, ...] = ()
    warnings: list[Problem] = []
    findings: list[PolicyFinding] = []
    if state.policy is not None:  # its own problems are reported with any other
        rules = policyload.compile_rules(state.policy.value, problems)
        if not problems:
            policyload.check_connectors(rules, state.built, problems, warnings, findings)
    if problems:
        raise ConfigError(_without_key(problems, key), _without_key(warnings, key))
    safety = SafetyRules()
    if state.safety is not None:
        safety = SafetyRules(**{**{"max_deactivate_percent": safety.max_deactivate_percent,
                                   "min_active": safety.min_active}, **state.safety.value})
    return Desired(
        connectors=state.connectors,
        prune=bool(state.prune.value) if state.prune else False,
        ignore=ignore,
        files=tuple(str(f) for f in files),
        protect=tuple(state.protect.value) if state.protect else (),
        safety=safety,
        policy=rules,
        policy_warnings=tuple(_without_key(warnings, key)),
        policy_findings=tuple(findings),
    )


def load_policy(paths: Sequence[str] = ()) -> tuple[PolicyRule, ...]:
    """Only the ``policy:`` rules of the config at ``paths``, compiled (``import`` checks the
    connectors it writes against them); its connectors are not checked. ConfigError when the
    files cannot be read or the rules are wrong."""
    files, problems = find(paths)
    state = _State()
    for path in files:
        doc, file_problems = yamlload.read(path, str(path))
        if doc is not None and not file_problems and isinstance(doc.data, dict):
            value = doc.data.get("policy")
            if isinstance(value, list):
                _policy_setting(doc, value, state, file_problems)
            elif value is not None:
                file_problems.append(Problem("policy: expected a list of rules",
                                             doc.key_location(("policy",))))
        problems.extend(file_problems)
    rules: tuple[PolicyRule, ...] = ()
    if state.policy is not None and not problems:
        rules = policyload.compile_rules(state.policy.value, problems)
    if problems:
        raise ConfigError(problems)
    return rules


def _without_key(problems: list[Problem], key: str | None) -> list[Problem]:
    """The problems with the API key masked in every spelling (a duplicate metadata key holding
    it, say, is quoted by the reader, which does not know the key)."""
    if not key:
        return problems
    from adapter_sync.secrets import Redactor

    redact = Redactor([key])
    return [Problem(redact(p.message), p.location) for p in problems]


def _position(problem: Problem) -> tuple[int, int]:
    loc = problem.location
    return (loc.line, loc.col) if loc else (0, 0)


def _check_file(doc: Document, env: Mapping[str, str], key: str | None, state: _State,
                read_ok: bool = True, check_policy: bool = True) -> list[Problem]:
    data = doc.data
    if not isinstance(data, dict):
        return [Problem(
            f"the top level must be a mapping (keys: version, requires, prune, ignore, protect, "
            f"safety, policy, defaults, connectors), not {describe(data)}", doc.locate(()))]
    problems: list[Problem] = []
    interpolate_document(doc, env, key, problems)
    problems.extend(schema_problems(doc))
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
    for name in ("prune", "ignore", "protect", "safety"):
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
    policy = data.get("policy")
    if isinstance(policy, list) and check_policy and valid_document({"policy": policy}):
        _policy_setting(doc, policy, state, problems)  # (a wrong shape is reported above)
    if read_ok and not problems:
        _build(doc, connectors, state, problems)
    return problems


def _policy_setting(doc: Document, value: list[Any], state: _State,
                    problems: list[Problem]) -> None:
    """``policy:`` of one file: its rules (includes read, paths resolved), set in one file or
    identically (the same rules in the same order) in several."""
    found = policyload.entries(doc, value, problems)
    here = doc.key_location(("policy",))
    if state.policy is None:
        state.policy = _Setting(found, here)
    elif state.policy.value != found:
        problems.append(Problem(
            f"policy: differs from the policy at {state.policy.location}; set it in one file, "
            "or identically in every file (a shared file: - include: PATH)", here))


def _valid_setting(name: str, value: Any) -> bool:
    if name == "prune":
        return isinstance(value, bool)
    if name == "safety":
        return isinstance(value, dict) and set(value) <= {"max_deactivate_percent",
                                                          "min_active",
                                                          "small_account_percent"}
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _normal(name: str, value: Any) -> Any:
    if name == "safety":
        return tuple(sorted(value.items()))
    return frozenset(value) if name in ("ignore", "protect") else value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _build(doc: Document, connectors: dict[str, Any], state: _State,
           problems: list[Problem]) -> None:
    defaults = doc.data.get("defaults") or {}
    default_kinds = defaults.get("accepted_kinds") or ()
    default_meta = defaults.get("metadata") or {}
    kind_sets = state.kind_sets
    if connectors:
        state.built.append((doc, defaults))
    for slug, body in connectors.items():
        kinds = body.get("accepted_kinds")
        if kinds is None:
            kinds = default_kinds
        kinds = frozenset(kinds)
        kinds = kind_sets.setdefault(kinds, kinds)  # one object per distinct set: memory
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
            accepted_kinds=kinds,
            metadata=metadata,
            active=True if active is None else active,
            location=location,
        )
