"""The config's ``policy:``: rule entries read, schema files and included rule files loaded
(paths relative to the file that names them), each rule compiled once, and the declared
connectors checked against them, every violation located.

A ``policy:`` entry is a rule::

    - schema: {required: [metadata]}            # inline, or "path/to/schema.json" (or .yaml)
      match: ["billing-*"]                      # optional source_name globs (as protect)
      message: every connector names its owner  # optional; shown with each violation
      severity: error                           # or warning (default error)

or ``- include: ../policies/org.yaml``: a YAML file whose only key is ``policy:``, a list of
rules (no further includes), so several environments' configs share one set of rules.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapter_sync.config import yamlload
from adapter_sync.config.yamlload import MAX_BYTES, DocPath, Document, Plain, dotted
from adapter_sync.errors import Location, Problem
from adapter_sync.model import PolicyFinding, PolicyRule
from adapter_sync.policy import PolicyError, compile_rule, error_text, violations

_RULE_KEYS = ("schema", "match", "message", "severity")


@dataclass
class Entry:
    """One rule as written (paths resolved); equal entries mean the same rule."""

    schema: Any  # an inline schema (dict or bool), or None when schema_file is given
    schema_file: str | None
    match: tuple[str, ...]
    message: str
    severity: str
    doc: Document = field(compare=False, repr=False)
    path: DocPath = field(compare=False)  # where the entry is in ``doc``

    def locate(self, inside: DocPath = ()) -> Location:
        """Where the rule's ``schema`` is written; ``inside`` an inline one, that place in it
        (the deepest written)."""
        return self.doc.locate((*self.path, "schema", *(inside if self.schema_file is None
                                                         else ())))


def entries(doc: Document, value: Any, problems: list[Problem], *,
            nested: bool = False) -> list[Entry]:
    """The rules of ``value`` (a ``policy:`` list of ``doc``), includes expanded."""
    out: list[Entry] = []
    if not isinstance(value, list):
        problems.append(Problem("policy: expected a list of rules", doc.locate(("policy",))))
        return out
    base = Path(doc.file).parent
    for i, raw in enumerate(value):
        here: DocPath = ("policy", i)
        if not isinstance(raw, dict):
            problems.append(Problem(f"{dotted(here)}: expected a mapping (a rule, or include)",
                                    doc.locate(here)))
            continue
        if "include" in raw:
            extra = sorted(set(raw) - {"include"})
            target = raw["include"]
            if nested:
                problems.append(Problem(f"{dotted(here)}: an included policy file cannot "
                                        "include another", doc.locate(here)))
            elif extra:
                problems.append(Problem(f"{dotted(here)}: include stands alone (found also: "
                                        f"{', '.join(extra)})", doc.locate(here)))
            elif not isinstance(target, str) or not target:
                problems.append(Problem(f"{dotted(here)}.include: expected a file path",
                                        doc.locate((*here, "include"))))
            else:
                out.extend(_include(doc, here, Path(os.path.normpath(base / target)), problems))
            continue
        unknown = sorted(set(raw) - set(_RULE_KEYS))
        if unknown:
            problems.append(Problem(f"{dotted(here)}: unknown key '{unknown[0]}' (a rule has "
                                    "schema, match, message, severity)",
                                    doc.key_location((*here, unknown[0]))))
            continue
        entry = _entry(doc, here, raw, base, problems)
        if entry is not None:
            out.append(entry)
    return out


def _entry(doc: Document, here: DocPath, raw: dict[str, Any], base: Path,
           problems: list[Problem]) -> Entry | None:
    known = len(problems)
    schema = raw.get("schema")
    match = raw.get("match") or []
    message = raw.get("message") or ""
    severity = raw.get("severity") or "error"
    if schema is None:
        problems.append(Problem(f"{dotted(here)}: missing required key 'schema'",
                                doc.locate(here)))
    elif not isinstance(schema, (dict, bool, str)) or schema == "":
        problems.append(Problem(f"{dotted(here)}.schema: expected a mapping (an inline JSON "
                                "Schema) or a file path", doc.locate((*here, "schema"))))
    if not isinstance(match, list) or not all(isinstance(g, str) and g for g in match):
        problems.append(Problem(f"{dotted(here)}.match: expected a list of source_name globs",
                                doc.locate((*here, "match"))))
    if not isinstance(message, str):
        problems.append(Problem(f"{dotted(here)}.message: expected a string",
                                doc.locate((*here, "message"))))
    if severity not in ("error", "warning"):
        problems.append(Problem(f"{dotted(here)}.severity: expected error or warning",
                                doc.locate((*here, "severity"))))
    if len(problems) > known:
        return None
    schema_file = None
    if isinstance(schema, str):
        schema_file, schema = os.path.normpath(base / schema), None
    elif isinstance(schema, dict):
        schema = _json_values(doc, (*here, "schema"), schema, problems)
    return Entry(schema, schema_file, tuple(match), message, severity, doc, here)


def _include(doc: Document, here: DocPath, path: Path,
             problems: list[Problem]) -> list[Entry]:
    where = doc.locate(here)
    included, found = yamlload.read(path, str(path)) if path.exists() else (None, [])
    if not path.exists():
        problems.append(Problem(f"{dotted(here)}.include: {path}: no such file", where))
        return []
    if included is None or found:
        problems.extend(found)
        problems.append(Problem(f"{dotted(here)}.include: {path} cannot be read (see above)",
                                where))
        return []
    data = included.data
    if not isinstance(data, dict) or set(data) != {"policy"}:
        problems.append(Problem(f"{dotted(here)}.include: {path} must be a mapping whose only "
                                "key is 'policy' (a list of rules)", where))
        return []
    return entries(included, data["policy"], problems, nested=True)


def _json_values(doc: Document, path: DocPath, value: Any, problems: list[Problem]) -> Any:
    """An inline schema from YAML as JSON values: unquoted numbers (``1.5``, ``1e3``) become
    numbers; a value YAML tools disagree on (``yes``, a date) must be quoted."""
    if isinstance(value, dict):
        return {k: _json_values(doc, (*path, k), v, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_values(doc, (*path, i), v, problems) for i, v in enumerate(value)]
    if isinstance(value, Plain):
        if value.kind == "number":
            try:
                return float(value.text.replace("_", ""))
            except ValueError:
                pass
        problems.append(Problem(f"{dotted(path)}: '{value.text}' is read differently by YAML "
                                "tools; quote it (or write a plain decimal number)",
                                doc.locate(path)))
    return value


def _read_schema(entry: Entry, problems: list[Problem]) -> Any:
    """The schema of ``entry``: inline, or read from its file (JSON; YAML for .yaml/.yml)."""
    if entry.schema_file is None:
        return entry.schema
    path = Path(entry.schema_file)
    where = f"{dotted(entry.path)}.schema: {path}"
    if path.suffix.lower() in (".yaml", ".yml"):
        doc, found = yamlload.read(path, str(path)) if path.exists() else (None, [])
        if doc is None or found:
            problems.extend(found)
            problems.append(Problem(f"{where}: " + ("cannot be read (see above)" if found
                                                    else "no such file"), entry.locate()))
            return None
        return _json_values(doc, (), doc.data, problems)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            problems.append(Problem(f"{where}: too large ({size:,} bytes; the limit is 10 MB)",
                                    entry.locate()))
            return None
        data = yamlload.read_bounded(path)  # never a device such as /dev/zero
        if len(data) > MAX_BYTES:  # grew since stat
            problems.append(Problem(f"{where}: too large (the limit is 10 MB)", entry.locate()))
            return None
        return json.loads(data.decode("utf-8-sig"))
    except FileNotFoundError:
        reason = "no such file"
    except OSError as exc:
        reason = f"cannot read: {exc.strerror or exc}"
    except UnicodeDecodeError:
        reason = "not UTF-8 text (a JSON Schema file is JSON; .yaml/.yml files are YAML)"
    except json.JSONDecodeError as exc:
        reason = (f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); a "
                  "JSON Schema file is JSON (.yaml/.yml files are read as YAML)")
    except RecursionError:
        reason = "nested too deeply"
    problems.append(Problem(f"{where}: {reason}", entry.locate()))
    return None


def compile_rules(found: list[Entry], problems: list[Problem]) -> tuple[PolicyRule, ...]:
    """Each entry's schema read and compiled once; problems at the rule's position."""
    rules: list[PolicyRule] = []
    for n, entry in enumerate(found, 1):
        known = len(problems)
        schema = _read_schema(entry, problems)
        if len(problems) > known:
            continue
        try:
            rules.append(compile_rule(schema, entry.message or f"policy rule {n}",
                                      entry.match, entry.severity))
        except PolicyError as exc:
            if entry.schema_file is None:  # the place in the inline schema
                text = f"{dotted((*entry.path, 'schema', *exc.path))}: {exc}"
            else:
                inside = "/".join(str(p) for p in exc.path)
                text = f"{dotted(entry.path)}.schema: {entry.schema_file}: {exc}" + (
                    f" (at {inside})" if inside else "")
            problems.append(Problem(text, entry.locate(exc.path)))
    return tuple(rules)


def declared_view(slug: str, body: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """A declared connector as a rule sees it: its keys as written (after ``${VAR}``), null
    ones left out, ``defaults`` merged (metadata under its own, accepted_kinds where it omits
    them), and ``source_name`` added."""
    view = {k: v for k, v in body.items() if v is not None}
    kinds = defaults.get("accepted_kinds")
    if kinds is not None and "accepted_kinds" not in view:
        view["accepted_kinds"] = list(kinds)
    meta = defaults.get("metadata")
    if meta:
        view["metadata"] = {**meta, **(view.get("metadata") or {})}
    view["source_name"] = slug
    return view


def check_connectors(rules: tuple[PolicyRule, ...],
                     docs: list[tuple[Document, dict[str, Any]]],
                     problems: list[Problem], warnings: list[Problem],
                     findings: list[PolicyFinding]) -> None:
    """Check every declared connector of ``docs`` (each with its file's defaults): a
    violation of an ``error`` rule is a problem, of a ``warning`` rule a warning and a
    finding; each at the failing field's position where the file has one."""
    for doc, defaults in docs:
        connectors = doc.data.get("connectors") or {}
        for slug, body in connectors.items():
            view = declared_view(slug, body, defaults)
            try:
                broken = violations(rules, slug, view)
            except PolicyError as exc:
                problems.append(Problem(f"connectors.{slug}: policy: {exc}",
                                        doc.key_location(("connectors", slug))))
                continue
            for rule, path, keyword, message in broken:
                where = dotted(("connectors", slug, *path))
                text = f"{where}: policy: {rule.label}: {message}"
                problem = Problem(text, _locate(doc, slug, body, path, keyword))
                if rule.severity == "error":
                    problems.append(problem)
                else:
                    warnings.append(problem)
                    findings.append(PolicyFinding(slug, rule.label, "warning",
                                                  error_text(path, message), True))


def _locate(doc: Document, slug: str, body: Any, path: tuple[str | int, ...],
            keyword: str) -> Location:
    """The failing field's position: the value at ``path`` when the file writes it (its key
    for a missing ``required`` key), else the key of the deepest part written (a value merged
    from ``defaults``, or one missing, is placed at the connector or the enclosing key)."""
    prefix: list[str | int] = []
    node = body
    for part in path:
        in_mapping = isinstance(node, dict) and isinstance(part, str) and part in node
        if not in_mapping and not (isinstance(node, list) and isinstance(part, int)
                                   and 0 <= part < len(node)):
            break
        node = node[part]
        prefix.append(part)
    full: DocPath = ("connectors", slug, *prefix)
    if len(prefix) < len(path) or keyword == "required" or not prefix:
        return doc.key_location(full)
    return doc.locate(full)

