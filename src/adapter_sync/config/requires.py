"""A config file's ``requires:``: the adapter-sync versions it is written for (a PEP 440
specifier such as ``">=0.3"`` or ``">=0.3,<2"``), checked before anything else is, as
Terraform's ``required_version`` is: an adapter-sync outside it refuses the file in one line.
"""

from __future__ import annotations

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from adapter_sync import __version__
from adapter_sync.config.yamlload import Document, describe
from adapter_sync.errors import Problem


def requires_problem(doc: Document, version: str = __version__) -> Problem | None:
    """Why this adapter-sync (``version``) may not read ``doc``, or None when it may (no
    ``requires:``, or one that ``version`` satisfies, pre-releases included)."""
    data = doc.data
    if not isinstance(data, dict) or data.get("requires") is None:
        return None
    spec = data["requires"]
    where = doc.locate(("requires",))
    if not isinstance(spec, str) or not spec.strip():
        return Problem(f"requires: expected a version specifier such as \">=0.3\", got "
                       f"{'an empty string' if isinstance(spec, str) else describe(spec)}",
                       where)
    try:
        allowed = SpecifierSet(spec)
    except InvalidSpecifier:
        return Problem(f"requires: {spec!r} is not a version specifier (PEP 440, e.g. "
                       "\">=0.3\" or \">=0.3,<2\")", where)
    if allowed.contains(Version(version), prereleases=True):
        return None
    return Problem(f"requires: this file needs adapter-sync {spec}, and this is adapter-sync "
                   f"{version}: install a version that satisfies it", where)
