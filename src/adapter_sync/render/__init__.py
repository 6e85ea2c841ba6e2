"""Views of a plan and of an apply's result: they only render, never compute.

One module a view: :mod:`~adapter_sync.render.text` (terminal), :mod:`~.markdown` (pull
request, step summary), :mod:`~.json` (the plan document of :mod:`adapter_sync.document`) and
:mod:`~.result` (what an apply did, as text and as Markdown for a job summary). ``show``
renders a saved plan with the same views.
Every view is deterministic: the same plan gives the same bytes (metadata keys sorted, fields
in :data:`~adapter_sync.model.FIELDS` order). Values are quoted with ``json.dumps`` so spaces,
empty strings and control characters are visible, and nothing a hostile name contains can
move the terminal cursor or break a Markdown table. The package imports only the standard
library, the model, the document codec and :mod:`adapter_sync.escape`, so importing it stays
cheap.
"""

from __future__ import annotations

from adapter_sync.render.common import SYMBOLS, finding_sentence
from adapter_sync.render.json import render_json
from adapter_sync.render.markdown import MARKDOWN_LIMIT, md_escape, render_markdown
from adapter_sync.render.result import (
    RESULT_MARKDOWN_LIMIT,
    outcome_lines,
    render_result,
    render_result_markdown,
    result_heading,
    result_lines,
)
from adapter_sync.render.text import render_text

__all__ = [
    "MARKDOWN_LIMIT", "RESULT_MARKDOWN_LIMIT", "SYMBOLS", "finding_sentence", "md_escape",
    "outcome_lines", "render_json", "render_markdown", "render_result", "render_result_markdown",
    "render_text", "result_heading", "result_lines",
]
