"""The JSON view: the plan document itself (:mod:`adapter_sync.document`), as the plan file
holds it, byte for byte."""

from __future__ import annotations

from adapter_sync.document import dumps, to_document
from adapter_sync.model import Plan


def render_json(plan: Plan, api_url: str | None = None) -> str:
    """The plan document (``schemas/plan.schema.json``): compact ASCII JSON and a newline."""
    return dumps(to_document(plan, api_url))
