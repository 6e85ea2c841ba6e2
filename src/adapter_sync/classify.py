"""Classify one attempt of an API call: its answer or its exception becomes a :data:`Verdict`.

Pure: no I/O, no clock (the caller passes the server's time for ``Retry-After`` dates and
``X-RateLimit-Reset``), no secrets: the caller gives its redactor (``Call.redact``), which every
piece of server text goes through *before* it is cut to an excerpt (a key cut short is no
longer recognised). The retry loop in
:mod:`adapter_sync.client` acts on the verdict:

- :class:`Success`: a 2xx answer; parse it.
- :class:`Retry`: a failure worth another attempt (429, 500/502/503/504 for a call that is safe
  to repeat, a connection that never reached the server, a lost answer of a safe call).
- :class:`Lost`: a write was (maybe) sent and its answer lost: it may or may not have happened
  (:class:`~adapter_sync.errors.OutcomeUnknown`); never repeated blindly.
- :class:`Refused`: final, not retried (4xx, a redirect, a 501, a response too large, a local
  error, a host name that does not resolve, a TLS handshake that cannot succeed: retrying
  those would only make the user wait for the same error).

``safe``: the call may be repeated after its answer was lost (GET, and PATCH, which carries
full desired values). A POST (create) is retried only when it provably did not reach the
server: a failed connect, or a 429.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapter_sync.retry import RETRYABLE_5XX, server_wait_hint
from adapter_sync.secrets import API_KEY_ENV

EXCERPT_CHARS = 100
#: A response body larger than this is refused, never read whole (a list of ~100,000
#: connectors stays well under it; a hostile or broken server must not exhaust memory).
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: Attempts at most for a failure that is rarely transient (a temporary DNS failure): retried
#: briefly, and the message says so.
BRIEF_ATTEMPTS = 3
#: OpenSSL reasons of a handshake with something that does not speak TLS (a plain-http port).
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST",
                      "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG", "UNEXPECTED_EOF_WHILE_READING"})


@dataclass(frozen=True)
class Call:
    """What is being attempted, as the classifier needs to know it."""

    method: str
    url: str  # the request URL without its query, for messages (never carries credentials)
    what: str  # e.g. "list connectors", "create 'acme'"
    safe: bool
    #: A 404 means the URL is wrong (the collection itself is missing), not an unknown id.
    not_found_is_wrong_url: bool = False
    #: Masks the secrets in server text (bodies, exception messages) before it is cut short.
    redact: Callable[[str], str] = field(default=str, compare=False, repr=False)

    @property
    def host(self) -> str:
        return httpx.URL(self.url).netloc.decode("ascii", "replace")


@dataclass(frozen=True)
class Success:
    response: httpx.Response


@dataclass(frozen=True)
class Retry:
    """A failed attempt that may be retried (within attempts and the deadline)."""

    summary: str  # e.g. "rate limited (429)", "server error (503: ...)", "connection failed (...)"
    status: int | None = None
    request_id: str | None = None
    rate_limited: bool = False
    #: Seconds the server asked to wait (429), as read against the server's clock; None when
    #: the answer does not say.
    wait_hint: float | None = None
    #: A smaller cap than the policy's attempts (see :data:`BRIEF_ATTEMPTS`), or None.
    max_attempts: int | None = None


@dataclass(frozen=True)
class Lost:
    """A write sent (maybe) whose answer was lost: OutcomeUnknown."""

    summary: str
    status: int | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Refused:
    """A final failure; ``unknown``: a write whose outcome is unknown (raise OutcomeUnknown)."""

    message: str
    status: int | None = None
    request_id: str | None = None
    unknown: bool = False


Verdict = Success | Retry | Lost | Refused


class TooLarge(Exception):
    """A response body over MAX_RESPONSE_BYTES (declared, or counted while reading)."""

    def __init__(self, status: int, declared: int | None) -> None:
        super().__init__(status, declared)
        self.status, self.declared = status, declared


def classify(call: Call, outcome: httpx.Response | BaseException, *,
             server_now: float) -> Verdict:
    """The verdict on one attempt: ``outcome`` is the answer or the exception it raised.

    ``server_now``: the server's clock (epoch seconds, as best known) to read a 429's hint.
    """
    if isinstance(outcome, httpx.Response):
        return _classify_response(call, outcome, server_now)
    return _classify_exception(call, outcome)


# --------------------------------------------------------------------------- answers


def _classify_response(call: Call, response: httpx.Response, server_now: float) -> Verdict:
    status = response.status_code
    request_id = response.headers.get("x-request-id")
    if 200 <= status < 300:
        return Success(response)
    if status == 429:
        return Retry("rate limited (429)", status, request_id, rate_limited=True,
                     wait_hint=server_wait_hint(response.headers, server_now))
    if status >= 500:
        _, message, _ = error_body(response, call.redact)
        summary = f"server error ({status}: {message})"
        if not call.safe:
            return Lost(summary, status, request_id)
        if status in RETRYABLE_5XX:
            return Retry(summary, status, request_id)
        return Refused(refusal_message(call, response), status, request_id)
    if 300 <= status < 400:
        where = response.headers.get("location", "?")
        return Refused(f"{call.what}: unexpected redirect (HTTP {status}) to {where}; "
                       "check the API URL", status, request_id)
    return Refused(refusal_message(call, response), status, request_id)


def refusal_message(call: Call, response: httpx.Response) -> str:
    """The one-line message for a 4xx/5xx answer that is not retried."""
    status = response.status_code
    code, message, details = error_body(response, call.redact)
    what = call.what
    server_said = message and not message.startswith(("non-JSON", "unexpected body"))
    if status == 401:
        text = (f"{what}: authentication failed (HTTP 401): the API key was rejected; "
                f"check {API_KEY_ENV}")
        if server_said:
            text += f" (server: {message})"
        return text
    if status == 403:
        scopes = details.get("missing_scopes") if isinstance(details, dict) else None
        if isinstance(scopes, list) and scopes:
            return (f"{what}: permission denied (HTTP 403): the API key lacks the scope(s) "
                    f"{', '.join(map(str, scopes))}")
        return f"{what}: permission denied (HTTP 403): {message}"
    if status == 404 and call.not_found_is_wrong_url:
        return _wrong_url(call, message if server_said else None)
    label = f"HTTP {status}" + (f" {code}" if code else "")
    return f"{what}: {message} ({label})"


def _wrong_url(call: Call, server_said: str | None) -> str:
    """A 404 for the collection: say which URL was tried and what a base URL looks like."""
    base = call.url.removesuffix("/custom-connectors")
    text = (f"{call.what}: not found (HTTP 404) at {call.method} {call.url}: the API URL must "
            "be the API's base URL, ending in /v1 (e.g. https://api.adapter.com/v1)")
    if httpx.URL(base).path in ("", "/"):
        text += f"; did you mean {base.rstrip('/')}/v1?"
    if server_said:
        text += f" (server: {server_said})"
    return text


def excerpt(text: str, redact: Callable[[str], str] = str) -> str:
    """A short quoted excerpt of a body, whitespace collapsed, ``redact``-ed before it is cut
    (so a secret in it is masked whole, never shown in part)."""
    text = redact(" ".join(text.split()))
    if not text:
        return "(empty body)"
    return repr(text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else ""))


def error_body(response: httpx.Response, redact: Callable[[str], str] = str
               ) -> tuple[str | None, str, Any]:
    """(code, message, details) from either error shape, or an excerpt of a non-JSON body
    (``redact``-ed before it is cut)."""
    try:
        data = response.json()
    except ValueError:
        return None, f"non-JSON body {excerpt(response.text, redact)}", None
    if not isinstance(data, dict):
        return None, f"unexpected body {excerpt(response.text, redact)}", None
    code = data.get("error")
    message = data.get("message")
    details = data.get("details")
    if isinstance(code, dict):  # {"error": {"code": ..., "message": ...}}
        message = message or code.get("message")
        details = details or code.get("details")
        code = code.get("code") or code.get("type")
    detail = data.get("detail")
    if isinstance(detail, list):  # FastAPI validation errors
        parts = []
        for item in detail[:5]:
            if not isinstance(item, dict):
                parts.append(str(item))
                continue
            loc = [str(p) for p in item.get("loc") or () if p != "body"]
            msg = str(item.get("msg") or item.get("type") or "invalid")
            parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
        if len(detail) > 5:
            parts.append(f"and {len(detail) - 5} more")
        message = "; ".join(parts) or message
    elif isinstance(detail, str) and not message:
        message = detail
    if not message:
        message = str(code) if code else f"unexpected body {excerpt(response.text, redact)}"
    return (str(code) if code else None), str(message), details


# --------------------------------------------------------------------------- exceptions


def _classify_exception(call: Call, exc: BaseException) -> Verdict:
    if isinstance(exc, TooLarge):
        size = f"{exc.declared} bytes declared" if exc.declared else "not read whole"
        return Refused(
            f"{call.what}: the response is too large (over "
            f"{MAX_RESPONSE_BYTES // (1024 * 1024)} MiB, {size}; HTTP {exc.status})",
            exc.status, unknown=not call.safe)
    if isinstance(exc, asyncio.TimeoutError):
        # Sent (maybe), answer not complete in time: the server may have acted on it.
        summary = "timed out (no complete answer before the deadline)"
        return Retry(summary) if call.safe else Lost(summary)
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        # Nothing reached the server: safe to retry for every method, unless it cannot work.
        return _connect_failure(call, exc)
    if isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
        # Sent (maybe fully), answer lost: the server may have acted on it.
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection lost"
        summary = f"{kind} ({network_summary(exc, call.redact)})"
        return Retry(summary) if call.safe else Lost(summary)
    if isinstance(exc, httpx.HTTPError):  # bad URL, local protocol error: not retryable
        return Refused(f"{call.what}: request failed ({network_summary(exc, call.redact)})")
    raise TypeError(f"cannot classify {type(exc).__name__}") from exc


def _connect_failure(call: Call, exc: httpx.HTTPError) -> Verdict:
    host = call.host
    dns = _cause(exc, socket.gaierror)
    if dns is not None:
        reason = dns.strerror or str(dns)
        if dns.errno == socket.EAI_AGAIN:  # "Temporary failure in name resolution"
            return Retry(f"DNS lookup of {host} failed ({reason}; retried briefly)",
                         max_attempts=BRIEF_ATTEMPTS)
        return Refused(f"{call.what}: cannot resolve the API host {host} ({reason}): check "
                       "the API URL and your network (not retried)")
    tls = _cause(exc, ssl.SSLError)
    if tls is not None:
        if isinstance(tls, ssl.SSLCertVerificationError):
            detail = tls.verify_message or tls.reason or "verification failed"
            return Refused(f"{call.what}: the TLS certificate of {host} is not trusted "
                           f"({detail}) (not retried)")
        reason = tls.reason or type(tls).__name__
        hint = (": is it a plain-http port? Use https:// only where the server speaks TLS"
                if reason in _NOT_TLS else "")
        return Refused(f"{call.what}: TLS handshake with {host} failed ({reason}){hint} "
                       "(not retried)")
    return Retry(f"connection failed: could not connect to {host} "
                 f"({network_summary(exc, call.redact)})")


def _cause(exc: BaseException, kind: type[BaseException]) -> Any:
    """The first exception of type ``kind`` in the cause/context chain of ``exc``, or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def network_summary(exc: BaseException, redact: Callable[[str], str] = str) -> str:
    """``Type: message`` of a network error, short (httpx never puts headers in it; it is
    ``redact``-ed before it is cut all the same)."""
    detail = redact(" ".join(str(exc).split()))[:EXCERPT_CHARS]
    name = type(exc).__name__
    return f"{name}: {detail}" if detail else name
