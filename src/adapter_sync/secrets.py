"""The API key: read once at the command edge, carried opaquely, and one redactor for output.

- :func:`read_key` reads ``ADAPTER_API_KEY`` from an environment mapping, once, normalised as the
  client sends it (surrounding whitespace stripped: a key pasted with a trailing newline works).
- :class:`ApiKey` holds it; its ``repr``/``str`` never show it, so it cannot leak through a log
  record, an exception or a debugger print by accident. :meth:`ApiKey.reveal` is for the one
  place that needs the value: the ``Authorization`` header.
- :class:`Redactor` replaces the key in any text about to leave the process: terminal text,
  Markdown (also in its escaped spellings), JSON, plan files, import output, log records and
  error lines all go through one instance. Text is redacted *before* it is cut short (a cut
  key is no longer the key); as a second line of defence, a key cut short where a text ends or
  an ellipsis (``…``, ``...``) begins is masked too when :data:`SHOWN_PREFIX` or more of its
  characters are left, and anywhere else (a live value holding a key a field limit cut, shown
  quoted in a plan) when :data:`SHOWN_ANYWHERE` or more are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

API_KEY_ENV = "ADAPTER_API_KEY"
#: Shorter secrets are not searched for: replacing them would mangle ordinary text.
MIN_REDACTABLE = 4
MASK = "***"
#: A cut key showing this many of its first characters or more is masked (fewer say nothing
#: usable: ``pk_live`` is every key's).
SHOWN_PREFIX = 8
#: A run of the key's first characters this long is masked wherever it is: 8 beyond the
#: ``pk_live_`` every key shares, which no ordinary text repeats by chance.
SHOWN_ANYWHERE = 16
#: Where a text may have been cut short.
_CUT_MARKS = ("…", "...")


class ApiKey:
    """An API key. Never shown by ``repr``/``str``; :meth:`reveal` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value.strip()

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "ApiKey(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def read_key(environ: Mapping[str, str] | None = None) -> ApiKey | None:
    """The key from ``ADAPTER_API_KEY`` (stripped), or None when unset or blank."""
    value = (os.environ if environ is None else environ).get(API_KEY_ENV, "")
    key = ApiKey(value)
    return key if key else None


def _spellings(secret: str) -> dict[str, int]:
    """Every way an output path may spell ``secret``: as is, JSON- and YAML-escaped, and as the
    Markdown renderer escapes it (``_`` becomes ``&#95;``); each with the length of its
    spelling of the first :data:`SHOWN_ANYWHERE` characters (each escapes character by
    character, so that is a prefix of the whole spelling)."""
    from adapter_sync.render import md_escape

    spell = (lambda t: t, lambda t: json.dumps(t)[1:-1],
             lambda t: json.dumps(t, ensure_ascii=False)[1:-1], md_escape)
    forms = {f(secret): len(f(secret[:SHOWN_ANYWHERE])) for f in spell}
    return {f: n for f, n in forms.items() if len(f) >= MIN_REDACTABLE}


class Redactor:
    """Replaces every registered secret, in every spelling, with ``***``."""

    def __init__(self, secrets: Iterable[str | ApiKey | None] = ()) -> None:
        self._forms: tuple[str, ...] = ()
        self._anywhere: dict[str, int] = {}  # form -> its spelling of SHOWN_ANYWHERE characters
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | ApiKey | None) -> None:
        value = secret.reveal() if isinstance(secret, ApiKey) else (secret or "").strip()
        if len(value) < MIN_REDACTABLE:
            return
        spellings = _spellings(value)
        self._anywhere.update(spellings)
        forms = set(self._forms) | set(spellings)
        # Longest first, so a spelling that contains another is replaced whole.
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return self._mask_cut(text) if self._forms else text

    def _mask_cut(self, text: str) -> str:
        """``text`` with a key cut short masked: :data:`SHOWN_PREFIX` characters or more of
        one of its spellings, then the end of the text or an ellipsis; or
        :data:`SHOWN_ANYWHERE` characters or more, whatever follows."""
        for form in self._forms:
            if len(form) <= SHOWN_PREFIX:
                continue
            head = form[:SHOWN_PREFIX]
            at = text.find(head)
            while at != -1:
                size = SHOWN_PREFIX
                while size < len(form) and at + size < len(text) \
                        and text[at + size] == form[size]:
                    size += 1
                end = at + size
                if (end == len(text) or text.startswith(_CUT_MARKS, end)
                        or size >= self._anywhere[form]):
                    text = text[:at] + MASK + text[end:]
                    end = at + len(MASK)
                at = text.find(head, end)
        return text

    def logging_filter(self) -> Any:
        """A ``logging.Filter`` that redacts each record's final message (for handlers)."""
        import logging

        redactor = self

        class RedactingFilter(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                if redactor:
                    text = record.getMessage()
                    clean = redactor(text)
                    if clean != text:
                        record.msg, record.args = clean, None
                return True

        return RedactingFilter()
