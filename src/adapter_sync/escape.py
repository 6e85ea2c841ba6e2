"""Text that is safe to show: control and invisible characters made visible.

Shared by the renderers, the CLI's error lines and the stale-plan reasons, so that nothing a
hostile connector name or server message contains can move the terminal cursor, hide text or
start a CI workflow command.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Characters a terminal may act on, or that hide/reorder text (C0/C1 controls, zero-width and
# bidi controls, BOM), and lone surrogates (a server's JSON may hold them; no output encoding
# can write them). json.dumps already escapes C0; this also covers bare names.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def clean(text: str) -> str:
    """``text`` with control and invisible characters shown as ``\\uXXXX`` escapes."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def quote(value: Any) -> str:
    """A JSON-quoted, terminal-safe rendering of ``value`` (``"a b"``, ``""``, ``true``)."""
    return clean(json.dumps(value, ensure_ascii=False, sort_keys=True))
