"""The Adapter API client: auth, error messages, retries, pacing (async, on httpx).

``make_client()`` validates the URL and the key before any connection, then returns an
:class:`AdapterClient` to use as ``async with make_client(...) as client:``.

Each call is a short retry loop: wait for a turn (:mod:`adapter_sync.pacing`), send one
attempt, let :func:`adapter_sync.classify.classify` judge the answer or the exception, then
return, raise, or wait and try again. Safety of retries, per method:

- GET and PATCH (PATCH carries full desired values) are retried on 429, 500/502/503/504,
  connection failures, timeouts and dropped connections.
- POST (create) is retried only when it provably did not reach the server: a failed
  connect, or a 429. A POST whose answer was lost (timeout, reset after sending, any 5xx)
  raises :class:`~adapter_sync.errors.OutcomeUnknown`: the caller re-lists to find out.

The client knows nothing of the sandbox: whoever wires a command together turns a
``sandbox:`` URL into a transport and a base URL, and passes both here.

Failures retrying cannot fix end at once: a host name that does not resolve, a TLS handshake
that cannot succeed, a 4xx. A rate-limit wait or reset past the call's deadline fails the call
at once, saying when the limit resets.

The API key is held as an :class:`~adapter_sync.secrets.ApiKey`; every message this module
raises or reports (``on_wait``), and its retry log line, goes through a
:class:`~adapter_sync.secrets.Redactor` built from it; its other log records name methods and
paths only. A loopback API URL, or a host named with ``allow_http``, is never reached
through an environment proxy (``HTTP_PROXY``...): the key goes to the named host only. (Log handlers are the application's to filter: the CLI
installs ``Redactor.logging_filter()``; this module installs nothing at import.)
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from adapter_sync import __version__
from adapter_sync.classify import (
    MAX_RESPONSE_BYTES,
    Call,
    Lost,
    Refused,
    Retry,
    Success,
    TooLarge,
    classify,
    excerpt,
)
from adapter_sync.errors import AdapterSyncError, ApiError, OutcomeUnknown
from adapter_sync.model import LiveConnector
from adapter_sync.pacing import Blocked, Pacer, TooLate, Turn, WaitEvent
from adapter_sync.ratelimit import RateLimitInfo
from adapter_sync.retry import RetryPolicy
from adapter_sync.secrets import API_KEY_ENV, ApiKey, Redactor

__all__ = ["AdapterClient", "make_client", "USER_AGENT", "WaitEvent"]

USER_AGENT = f"adapter-sync/{__version__}"
MAX_CONNECTIONS = 64
#: Rate-limit waits shorter than this are routine pacing: not reported to ``on_wait``.
REPORTED_WAIT = 1.0

log = logging.getLogger("adapter_sync.client")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
OnWait = Callable[[WaitEvent], None]


# --------------------------------------------------------------------------- URL checks


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(api_url: str, *, in_process: bool, allow_http: tuple[str, ...] = ()) -> str:
    """The base URL without a trailing slash, or AdapterSyncError if it is unsafe.

    ``in_process``: requests go to an explicit transport and never leave the process, so
    plain http to any host is fine; scheme, host and "no credentials" are still checked.
    ``allow_http``: hosts the user explicitly allows plain http to (e.g. a sandbox reached by
    its service name inside a CI job's private network).
    """
    try:
        parts = urlsplit(api_url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise AdapterSyncError(f"invalid API URL {api_url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        raise AdapterSyncError(f"invalid API URL {api_url!r}: expected https://HOST/...")
    if parts.username is not None or parts.password is not None:
        raise AdapterSyncError(
            f"the API URL must not carry credentials; put the key in {API_KEY_ENV}"
        )
    allowed = {h.strip().lower().rstrip(".") for h in allow_http}
    if scheme == "http" and not in_process and not _is_loopback(host) \
            and host.lower().rstrip(".") not in allowed:
        raise AdapterSyncError(
            f"refusing to send the API key over plain http to {host}: https:// is required "
            "(http:// is allowed only to a loopback address such as 127.0.0.1 or localhost, "
            f"or to a host you name with --allow-http {host})"
        )
    return api_url.strip().rstrip("/")


def _check_key(api_key: ApiKey | str | None) -> ApiKey:
    """The key (surrounding whitespace dropped); refused, never echoed, if unusable."""
    key = api_key if isinstance(api_key, ApiKey) else ApiKey(api_key or "")
    if not key:
        raise AdapterSyncError(
            f"no API key: set {API_KEY_ENV} (keys are made in the Adapter web console)"
        )
    if not all("!" <= ch <= "~" for ch in key.reveal()):
        raise AdapterSyncError(
            f"{API_KEY_ENV} contains characters an HTTP header cannot carry (inner whitespace, "
            "a line break or non-ASCII): check how it was pasted"
        )
    return key


# --------------------------------------------------------------------------- factory


def make_client(
    api_url: str,
    api_key: ApiKey | str | None,
    *,
    max_attempts: int = 8,
    deadline: float = 120.0,
    max_rps: float | None = None,
    rate_share: float = 1.0,
    timeout: float = 30.0,
    transport: httpx.AsyncBaseTransport | None = None,
    backoff_base: float = 0.5,
    backoff_cap: float = 30.0,
    on_wait: OnWait | None = None,
    allow_http: tuple[str, ...] = (),
    sleep: Sleep | None = None,
    clock: Clock | None = None,
    wall_clock: Clock | None = None,
    rng: random.Random | None = None,
) -> AdapterClient:
    """Check the URL and key (no connection yet) and build a client.

    ``api_url``: ``https://...``, or ``http://`` to a loopback host. With an explicit
    ``transport`` (e.g. the in-process sandbox) requests never leave the process, so plain
    ``http://`` to any host is accepted; ``allow_http`` names further hosts plain http may go
    to (an explicit opt-in). ``api_key``: required (the caller reads it once).
    ``max_rps``: at most this many requests per second. ``rate_share``: use at most this share
    of the limit the server announces, leaving the rest to the other integrations on the same
    key (see :mod:`adapter_sync.pacing`). ``on_wait``: called with a :class:`WaitEvent` before
    each retry wait and each rate-limit wait of at least :data:`REPORTED_WAIT` seconds, for
    live progress (its message is redacted; nothing is built when it is None).
    ``sleep``/``clock``/``wall_clock`` replace ``asyncio.sleep``/``time.monotonic``/
    ``time.time`` (for tests). ``rng``: the random source of the backoff's jitter (a seeded
    ``random.Random`` makes every run send the same requests at the same times; default: an
    unseeded one).
    """
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    policy = RetryPolicy(max_attempts, deadline, backoff_base, backoff_cap)
    base_url = _check_url(api_url, in_process=transport is not None, allow_http=allow_http)
    key = _check_key(api_key)
    return AdapterClient(
        base_url, key, policy=policy, max_rps=max_rps, rate_share=rate_share, timeout=timeout,
        transport=transport, on_wait=on_wait, sleep=sleep, clock=clock, wall_clock=wall_clock,
        rng=rng, direct_hosts=allow_http,
    )


# --------------------------------------------------------------------------- the client


T = TypeVar("T")

if sys.version_info >= (3, 11):

    async def _within(awaitable: Awaitable[T], seconds: float) -> T:
        """``await`` bounded by ``seconds`` (asyncio.TimeoutError past it), without the extra
        task per call that asyncio.wait_for needs before Python 3.12."""
        async with asyncio.timeout(seconds):
            return await awaitable
else:  # pragma: no cover - Python 3.10
    _within = asyncio.wait_for


class AdapterClient:
    """Async client for the custom-connector endpoints. Use as an async context manager."""

    def __init__(
        self,
        base_url: str,
        api_key: ApiKey | str,
        *,
        policy: RetryPolicy | None = None,
        max_rps: float | None = None,
        rate_share: float = 1.0,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_wait: OnWait | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        wall_clock: Clock | None = None,
        rng: random.Random | None = None,
        direct_hosts: tuple[str, ...] = (),
    ) -> None:
        """``direct_hosts``: hosts reached directly, never through an environment proxy
        (besides loopback, which always is): the ``--allow-http`` hosts."""
        key = api_key if isinstance(api_key, ApiKey) else ApiKey(api_key)
        self._base_url = base_url.rstrip("/")
        split = urlsplit(self._base_url)
        self._base_path = split.path
        self._redact = Redactor([key])
        self._policy = policy or RetryPolicy()
        self._timeout = timeout
        self._sleep: Sleep = sleep or asyncio.sleep
        self._clock: Clock = clock or time.monotonic
        self._wall: Clock = wall_clock or time.time
        self._pacer = Pacer(max_rps, self._clock, wall=self._wall, rate_share=rate_share)
        self._on_wait = on_wait
        self._announced: int | None = None
        self._remaining: int | None = None
        self._reset_at: float | None = None
        self._rng = rng or random.Random()
        self._closed = False
        limits = httpx.Limits(max_connections=MAX_CONNECTIONS,
                              max_keepalive_connections=MAX_CONNECTIONS)
        # TLS verification is always on for https. A plain-http base URL (allowed only to
        # loopback) never negotiates TLS, and redirects are not followed, so it skips loading
        # the CA bundle (~0.15 s at start-up).
        verify = split.scheme == "https"
        host = (split.hostname or "").lower().rstrip(".")
        direct = {h.strip().lower().rstrip(".") for h in direct_hosts}
        if transport is None and (_is_loopback(host) or host in direct):
            # Never through a proxy: HTTP_PROXY / ALL_PROXY would carry the key (in cleartext
            # for http://) off this machine, to a host the user never named (and a proxy
            # cannot reach our loopback or a CI job's private service name anyway). An explicit
            # transport is one httpx does not route through environment proxies.
            transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits)
        self._http = httpx.AsyncClient(
            headers={
                "Authorization": f"Bearer {key.reveal()}",
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            },
            # No pool timeout: a call waiting for a free connection is not a failure (the
            # applier bounds concurrency); connect/read/write use ``timeout``.
            timeout=httpx.Timeout(timeout, pool=None),
            limits=limits,
            transport=transport,
            follow_redirects=False,
            verify=verify,
        )

    # -- lifecycle

    @property
    def announced_limit(self) -> int | None:
        """The request limit the API last announced (``X-RateLimit-Limit``), if any."""
        return self._announced

    @property
    def announced_remaining(self) -> int | None:
        """``X-RateLimit-Remaining`` of the last answer that had it (after the list call:
        what the writes may spend before the reset), if any."""
        return self._remaining

    @property
    def announced_reset_at(self) -> float | None:
        """When that budget resets: epoch seconds on our clock (``X-RateLimit-Reset`` read
        through the server's clock offset), if announced."""
        return self._reset_at

    def expect_requests(self, requests: int | None) -> None:
        """About ``requests`` more requests are coming (an apply's writes; None: unknown).
        While the rate-limit budget left covers them they are sent at once; only work that
        would overrun it is paced up to the reset (see :mod:`adapter_sync.pacing`)."""
        self._pacer.expect(requests)

    @property
    def base_url(self) -> str:
        return self._base_url

    async def __aenter__(self) -> AdapterClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"<AdapterClient {self._base_url}>"

    # -- endpoints

    async def list_connectors(self, include_inactive: bool = True) -> list[LiveConnector]:
        """Every connector (inactive ones too unless ``include_inactive`` is False)."""
        what = "list connectors"
        response = await self._call(
            "GET", "/custom-connectors", what=what, safe=True, not_found_is_wrong_url=True,
            params={"include_inactive": "true" if include_inactive else "false"},
        )
        data = self._json(response, what, unknown=False)
        if not isinstance(data, list):
            raise self._error(
                f"{what}: expected a JSON array, got {type(data).__name__} "
                f"{excerpt(response.text, self._redact)}", response,
            )
        try:
            return [LiveConnector.from_api(item) for item in data]
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            bad = next((i for i in data if not _looks_like_connector(i)), None)
            raise self._error(
                f"{what}: unexpected item in the response ({type(exc).__name__}: {exc}): "
                f"{excerpt(repr(bad), self._redact)}", response,
            ) from None

    async def create(self, body: Mapping[str, Any]) -> LiveConnector:
        """POST a new connector (``body`` includes ``source_name``)."""
        source_name = body.get("source_name")
        what = f"create {source_name!r}" if source_name else "create connector"
        response = await self._call(
            "POST", "/custom-connectors", what=what, safe=False, json=dict(body),
        )
        return self._connector(response, what, unknown=True)

    async def update(
        self, connector_id: str, body: Mapping[str, Any], *, source_name: str | None = None
    ) -> LiveConnector | None:
        """PATCH a connector with the given fields (full desired values: safe to retry).

        Returns the updated connector as the server shows it; or None when the server answered
        with no body (204, or an empty 2xx): the update was applied, and all that is known of
        the result is what was sent (``connector_id`` plus ``body``).
        """
        what = (f"update {source_name!r} ({connector_id})" if source_name
                else f"update connector {connector_id}")
        response = await self._call(
            "PATCH", f"/custom-connectors/{quote(str(connector_id), safe='')}", what=what,
            safe=True, json=dict(body),
        )
        if response.status_code == 204 or not response.content.strip():
            return None
        return self._connector(response, what, unknown=False)

    # -- response parsing

    def _json(self, response: httpx.Response, what: str, *, unknown: bool) -> Any:
        ctype = response.headers.get("content-type", "")
        if ctype and "json" not in ctype.lower():
            raise self._error(
                f"{what}: expected JSON, got content-type {ctype.split(';')[0]!r} "
                f"(HTTP {response.status_code}) {excerpt(response.text, self._redact)}",
                response, unknown=unknown,
            )
        try:
            return response.json()
        except ValueError:
            raise self._error(
                f"{what}: malformed JSON in the response (HTTP {response.status_code}) "
                f"{excerpt(response.text, self._redact)}", response, unknown=unknown,
            ) from None

    def _connector(self, response: httpx.Response, what: str, *, unknown: bool) -> LiveConnector:
        # ``unknown``: the write succeeded (2xx) but its answer is unreadable; for a create
        # that means "it exists, id unknown" - the caller must re-list, as for a lost answer.
        data = self._json(response, what, unknown=unknown)
        if not isinstance(data, dict) or not _looks_like_connector(data):
            raise self._error(
                f"{what}: the response is not a connector "
                f"{excerpt(response.text, self._redact)}",
                response, unknown=unknown,
            )
        return LiveConnector.from_api(data)

    # -- errors

    def _error(self, message: str, response: httpx.Response | None = None, *,
               status: int | None = None, request_id: str | None = None,
               unknown: bool = False) -> ApiError:
        if response is not None:
            status = response.status_code if status is None else status
            request_id = request_id or response.headers.get("x-request-id")
        if request_id and request_id not in message:
            message = f"{message} [request id {request_id}]"
        cls = OutcomeUnknown if unknown else ApiError
        return cls(self._redact(message), status=status, request_id=request_id)

    def _exhausted(self, what: str, failure: Retry, attempts: int,
                   why: str | None = None) -> ApiError:
        text = f"{what}: {failure.summary} after {attempts} attempt{'s' * (attempts != 1)}"
        if why:
            text += f"; giving up: {why}"
        return self._error(text, status=failure.status, request_id=failure.request_id)

    def _lost(self, what: str, lost: Lost) -> ApiError:
        """An OutcomeUnknown: the write was sent and its answer lost."""
        text = (f"{what}: the answer was lost ({lost.summary}); "
                "the write may or may not have happened")
        return self._error(text, status=lost.status, request_id=lost.request_id, unknown=True)

    # -- the retry loop

    async def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        safe: bool,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        not_found_is_wrong_url: bool = False,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise ApiError / OutcomeUnknown.

        ``safe``: the call may be repeated after its answer was lost (GET, PATCH).
        ``not_found_is_wrong_url``: a 404 means the base URL is wrong (the collection).
        """
        if self._closed:
            raise RuntimeError("AdapterClient is closed")
        policy = self._policy
        call = Call(method, self._base_url + path, what, safe, not_found_is_wrong_url,
                    redact=self._redact)
        shown = self._base_path + path  # for logs: the path only, never headers
        deadline_at = self._clock() + policy.deadline
        failure: Retry | None = None
        attempt = 0
        while True:
            attempt += 1
            turn = await self._take_turn(what, deadline_at, attempt, failure)
            sent, outcome = self._wall(), None
            try:
                outcome = await self._attempt(call, params, json, deadline_at)
            finally:
                self._end_turn(turn, outcome, sent)
            verdict = classify(call, outcome, server_now=self._pacer.server_now())
            if log.isEnabledFor(logging.DEBUG):
                self._log_attempt(method, shown, outcome, attempt)
            if isinstance(verdict, Success):
                return verdict.response
            if isinstance(verdict, Refused):
                raise self._error(verdict.message, status=verdict.status,
                                  request_id=verdict.request_id, unknown=verdict.unknown)
            if isinstance(verdict, Lost):
                raise self._lost(what, verdict)
            failure = verdict
            # A retryable failure: wait, unless attempts or the deadline are exhausted.
            attempts = min(policy.max_attempts, failure.max_attempts or policy.max_attempts)
            if attempt >= attempts:
                raise self._exhausted(what, failure, attempt)
            # A zero or past hint (``Retry-After: 0``, a reset behind our clock) still means
            # "back off", never "retry now": at least the normal backoff.
            hint = failure.wait_hint
            wait = hint if hint is not None and hint > 0 else policy.backoff(attempt, self._rng)
            log.debug("%s %s: %s; retrying in %.2fs", method, shown,
                      self._redact(failure.summary), wait)
            if failure.rate_limited:
                # Every call of this client waits, this one too: its next turn comes after the
                # hold (and fails at once if that passes the deadline).
                self._pacer.hold(wait, turn)
                continue
            if self._clock() + wait > deadline_at:
                raise self._exhausted(
                    what, failure, attempt,
                    f"the next wait ({wait:.1f}s) would pass the {policy.deadline:g}s deadline")
            if self._on_wait is not None:
                self._report("retry", wait, what, attempt + 1,
                             f"{what}: {failure.summary}; retry {attempt + 1}/{attempts} "
                             f"in {wait:.1f}s")
            await self._sleep(wait)

    async def _take_turn(self, what: str, deadline_at: float, attempt: int,
                         failure: Retry | None) -> Turn:
        """Wait for this call's turn (pacing, rate limit, 429 hold), never past the deadline."""
        while True:
            now = self._clock()
            turn = self._pacer.reserve(now, deadline_at)
            if isinstance(turn, Blocked):  # another call probes the limit: wait for its answer
                try:
                    await _within(self._pacer.probe_answered(), max(deadline_at - now, 0.001))
                except asyncio.TimeoutError:
                    raise self._too_late(what, failure, attempt, now, None) from None
                continue
            if isinstance(turn, TooLate):
                raise self._too_late(what, failure, attempt, now, turn)
            if turn.at <= now:
                return turn
            wait = turn.at - now
            try:
                if self._on_wait is not None and turn.reason == "rate_limit" \
                        and wait >= REPORTED_WAIT:
                    until = self._pacer.to_wall(turn.at)
                    resets = ""
                    if turn.reset is not None and turn.reset > turn.at + REPORTED_WAIT:
                        resets = (f"; the budget left is spread until the limit resets at "
                                  f"{_hhmmss(self._pacer.to_wall(turn.reset))}")
                    self._report("rate_limit", wait, what, attempt,
                                 f"{what}: waiting for the rate limit until {_hhmmss(until)} "
                                 f"({wait:.1f}s{resets})")
                await self._sleep(wait)
            except BaseException:  # cancelled (or a failing callback): give the turn back
                self._pacer.cancel(turn)
                raise
            if self._pacer.still_valid(turn):
                return turn
            self._pacer.cancel(turn)  # a hold or a used-up budget arrived meanwhile

    def _end_turn(self, turn: Turn, outcome: httpx.Response | BaseException | None,
                  sent: float) -> None:
        """Tell the pacer what the turn's answer said about the rate limit."""
        received = self._wall()
        if isinstance(outcome, httpx.Response):
            info = RateLimitInfo.from_headers(outcome.headers)
            if info is not None and info.limit:
                self._announced = info.limit
            self._pacer.record(turn, info, status=outcome.status_code, sent=sent,
                               received=received)
            if info is not None and info.remaining is not None:
                self._remaining = info.remaining
                self._reset_at = (received + info.reset_after if info.reset_after is not None
                                  else None if info.reset is None
                                  else info.reset - self._pacer.server_clock.offset)
        else:
            self._pacer.record(turn, None, status=None, sent=sent, received=received)

    def _too_late(self, what: str, failure: Retry | None, attempt: int, now: float,
                  late: TooLate | None) -> ApiError:
        """The error for a call whose next turn would come after its deadline."""
        deadline = f"{self._policy.deadline:g}s deadline"
        resets = ""
        if late is not None and late.reason == "rate_limit":
            # The real reset, not the pacing gap: a budget spread up to a reset an hour away
            # gives each request a turn minutes apart, but it is the reset that frees it.
            reset = late.reset if late.reset is not None and late.reset >= late.at else late.at
            resets = (f"the rate limit resets at {_hhmmss(self._pacer.to_wall(reset))} "
                      f"(in {reset - now:.0f}s)")
            if late.left and reset > late.at:
                resets += (f"; {late.left} request{'s' * (late.left != 1)} left until then, "
                           f"spread up to it: this one's turn would come in {late.at - now:.0f}s")
        if failure is not None:
            why = (f"the next wait ({late.at - now:.1f}s) would pass the {deadline}"
                   if late is not None else f"waiting for the rate limit would pass the {deadline}")
            return self._exhausted(what, failure, attempt - 1, why + (f"; {resets}" if resets
                                                                       else ""))
        if resets:
            return self._error(f"{what}: not sent: {resets}, past this call's {deadline}")
        if late is None:
            return self._error(f"{what}: not sent: waiting for the rate limit would pass the "
                               f"{deadline}")
        return self._error(f"{what}: not sent: waiting for a slot (--max-rps pacing) would "
                           f"pass the {deadline}")

    def _report(self, reason: Literal["rate_limit", "retry"], seconds: float, what: str,
                attempt: int, message: str) -> None:
        assert self._on_wait is not None
        self._on_wait(WaitEvent(reason, seconds, self._wall() + seconds, what, attempt,
                                self._redact(message)))

    async def _attempt(self, call: Call, params: Mapping[str, str] | None, json: Any,
                       deadline_at: float) -> httpx.Response | BaseException:
        """One exchange, bounded by the deadline: the answer, or the exception it raised."""
        remaining = max(deadline_at - self._clock(), 0.001)
        timeout = httpx.Timeout(min(self._timeout, remaining), pool=None)
        try:
            # The whole exchange (connect, headers, body) is bounded by the deadline, not only
            # each read: a server dripping one byte per second must not hold us.
            return await _within(
                self._send(call.method, call.url, params=params, json=json, timeout=timeout),
                remaining,
            )
        except (TooLarge, asyncio.TimeoutError, httpx.HTTPError) as exc:
            return exc

    def _log_attempt(self, method: str, shown: str, outcome: httpx.Response | BaseException,
                     attempt: int) -> None:
        max_attempts = self._policy.max_attempts
        if isinstance(outcome, httpx.Response):
            elapsed = outcome.extensions.get("adapter_sync.elapsed", 0.0)
            log.debug("%s %s -> %d (attempt %d/%d, %.0f ms, request id %s)", method, shown,
                      outcome.status_code, attempt, max_attempts, elapsed * 1000,
                      outcome.headers.get("x-request-id") or "-")
        else:
            name = ("deadline passed" if isinstance(outcome, asyncio.TimeoutError)
                    else type(outcome).__name__)
            log.debug("%s %s -> %s (attempt %d/%d)", method, shown, name, attempt, max_attempts)

    async def _send(self, method: str, url: str, *, params: Mapping[str, str] | None,
                    json: Any, timeout: httpx.Timeout) -> httpx.Response:
        """One request; the body is read in full but never past MAX_RESPONSE_BYTES."""
        started = self._clock()
        request = self._http.build_request(method, url, params=params, json=json,
                                           timeout=timeout)
        response = await self._http.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
                raise TooLarge(response.status_code, int(declared))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():  # decoded: a gzip bomb is counted too
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise TooLarge(response.status_code, None)
                chunks.append(chunk)
        finally:
            await response.aclose()
        # The decoded body, so the headers that described the encoded one are dropped.
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length",
                                        "transfer-encoding")]
        extensions = {**response.extensions, "adapter_sync.elapsed": self._clock() - started}
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks),
                              request=request, extensions=extensions)


def _hhmmss(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def _looks_like_connector(item: Any) -> bool:
    return isinstance(item, dict) and "connector_id" in item and "source_name" in item
