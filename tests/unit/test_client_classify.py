"""The classifier on its own: one answer or exception of an attempt -> one verdict (pure)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

import httpx
import pytest

from adapter_sync.classify import (
    BRIEF_ATTEMPTS,
    MAX_RESPONSE_BYTES,
    Call,
    Lost,
    Refused,
    Retry,
    Success,
    TooLarge,
    classify,
    error_body,
)
from fake_api import connect_error

URL = "https://api.test/v1/custom-connectors"
NOW = 1_700_000_000.0
GET = Call("GET", URL, "list connectors", safe=True)
PATCH = Call("PATCH", URL + "/id-1", "update 'crm' (id-1)", safe=True)
POST = Call("POST", URL, "create 'crm'", safe=False)


def answer(status: int, body: Any = None, text: str | None = None, **headers: str) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers={"content-type": "text/html", **headers})
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


def failure(kind: type[httpx.HTTPError], message: str = "boom") -> httpx.HTTPError:
    return kind(message, request=httpx.Request("GET", URL))


@pytest.mark.parametrize("status", [200, 201, 202, 204])
@pytest.mark.parametrize("call", [GET, PATCH, POST], ids=["get", "patch", "post"])
def test_any_2xx_is_success(status: int, call: Call) -> None:
    response = answer(status, [])
    assert classify(call, response, server_now=NOW) == Success(response)


@pytest.mark.parametrize("call", [GET, PATCH, POST], ids=["get", "patch", "post"])
def test_429_is_retryable_for_every_method_with_the_server_hint(call: Call) -> None:
    verdict = classify(call, answer(429, **{"Retry-After": "7", "X-Request-Id": "r-9"}),
                       server_now=NOW)
    assert verdict == Retry("rate limited (429)", 429, "r-9", rate_limited=True, wait_hint=7.0)
    reset = classify(call, answer(429, **{"X-RateLimit-Reset": str(int(NOW) + 4)}),
                     server_now=NOW)
    assert isinstance(reset, Retry) and reset.wait_hint == 4.0
    plain = classify(call, answer(429), server_now=NOW)
    assert isinstance(plain, Retry) and plain.wait_hint is None and plain.rate_limited


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_retryable_5xx(status: int) -> None:
    for call in (GET, PATCH):
        verdict = classify(call, answer(status, {"message": "down"}), server_now=NOW)
        assert isinstance(verdict, Retry) and not verdict.rate_limited
        assert verdict.summary == f"server error ({status}: down)" and verdict.status == status
    lost = classify(POST, answer(status, text="<html>oops</html>"), server_now=NOW)
    assert isinstance(lost, Lost) and lost.status == status and "oops" in lost.summary


def test_501_is_final_for_a_safe_call_and_lost_for_a_create() -> None:
    refused = classify(GET, answer(501, {"error": "x", "message": "not implemented"}),
                       server_now=NOW)
    assert refused == Refused("list connectors: not implemented (HTTP 501 x)", 501)
    assert isinstance(classify(POST, answer(501), server_now=NOW), Lost)


def test_redirect_is_final_and_names_the_target() -> None:
    verdict = classify(GET, answer(301, Location="https://elsewhere/v1"), server_now=NOW)
    assert isinstance(verdict, Refused) and verdict.status == 301
    assert "unexpected redirect (HTTP 301) to https://elsewhere/v1" in verdict.message


@pytest.mark.parametrize(("status", "body", "expected"), [
    (401, {"error": "authentication_error", "message": "Invalid API key"},
     "create 'crm': authentication failed (HTTP 401): the API key was rejected; check "
     "ADAPTER_API_KEY (server: Invalid API key)"),
    (401, None, "create 'crm': authentication failed (HTTP 401): the API key was rejected; "
     "check ADAPTER_API_KEY"),
    (403, {"error": "insufficient_scopes", "details": {"missing_scopes": ["connectors:write"]}},
     "create 'crm': permission denied (HTTP 403): the API key lacks the scope(s) "
     "connectors:write"),
    (409, {"error": "conflict", "message": "source_name is taken"},
     "create 'crm': source_name is taken (HTTP 409 conflict)"),
    (422, {"detail": [{"loc": ["body", "name"], "msg": "field required"}]},
     "create 'crm': name: field required (HTTP 422)"),
])
def test_4xx_is_final_with_the_servers_words(status: int, body: Any, expected: str) -> None:
    response = answer(status, text="") if body is None else answer(status, body)
    verdict = classify(POST, response, server_now=NOW)
    assert verdict == Refused(expected, status)


def test_a_timeout_of_the_whole_exchange() -> None:
    summary = "timed out (no complete answer before the deadline)"
    assert classify(GET, asyncio.TimeoutError(), server_now=NOW) == Retry(summary)
    assert classify(POST, asyncio.TimeoutError(), server_now=NOW) == Lost(summary)


@pytest.mark.parametrize("kind", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
@pytest.mark.parametrize("call", [GET, POST], ids=["get", "post"])
def test_a_connection_that_never_reached_the_server_is_retryable(kind, call) -> None:
    verdict = classify(call, failure(kind, "refused"), server_now=NOW)
    assert verdict == Retry(f"connection failed: could not connect to api.test "
                            f"({kind.__name__}: refused)")


@pytest.mark.parametrize(("kind", "label"), [
    (httpx.ReadTimeout, "timed out"), (httpx.WriteTimeout, "timed out"),
    (httpx.ReadError, "connection lost"), (httpx.WriteError, "connection lost"),
    (httpx.RemoteProtocolError, "connection lost"),
])
def test_a_lost_answer_is_retried_when_safe_and_lost_for_a_create(kind, label) -> None:
    summary = f"{label} ({kind.__name__}: boom)"
    assert classify(PATCH, failure(kind), server_now=NOW) == Retry(summary)
    assert classify(POST, failure(kind), server_now=NOW) == Lost(summary)


def test_a_local_httpx_error_is_final() -> None:
    verdict = classify(GET, failure(httpx.UnsupportedProtocol, "no such scheme"),
                       server_now=NOW)
    assert verdict == Refused("list connectors: request failed (UnsupportedProtocol: "
                              "no such scheme)")


def test_a_response_too_large_is_final_and_unknown_for_a_create() -> None:
    mib = MAX_RESPONSE_BYTES // (1024 * 1024)
    get = classify(GET, TooLarge(200, 10**9), server_now=NOW)
    assert get == Refused(f"list connectors: the response is too large (over {mib} MiB, "
                          "1000000000 bytes declared; HTTP 200)", 200)
    post = classify(POST, TooLarge(201, None), server_now=NOW)
    assert isinstance(post, Refused) and post.unknown and "not read whole" in post.message


def test_anything_else_is_a_bug_not_a_verdict() -> None:
    with pytest.raises(TypeError):
        classify(GET, ValueError("bug"), server_now=NOW)


@pytest.mark.parametrize(("response", "expected"), [
    (answer(400, {"error": "invalid", "message": "bad", "details": {"f": 1}}),
     ("invalid", "bad", {"f": 1})),
    (answer(400, {"error": {"code": "c", "message": "nested"}}), ("c", "nested", None)),
    (answer(422, {"detail": "plain"}), (None, "plain", None)),
    (answer(422, {"detail": [{"loc": ["body", "x"], "msg": "m"}] * 7}),
     (None, "x: m; x: m; x: m; x: m; x: m; and 2 more", None)),
    (answer(500, ["a list"]), (None, "unexpected body '[\"a list\"]'", None)),
    (answer(502, text="<h1>Bad gateway</h1>"), (None, "non-JSON body '<h1>Bad gateway</h1>'",
                                                None)),
    (answer(503, text=""), (None, "non-JSON body (empty body)", None)),
])
def test_error_bodies_of_every_shape(response: httpx.Response, expected: tuple) -> None:
    assert error_body(response) == expected


# --------------------------------------------------------------------------- fail fast


def test_a_host_that_does_not_resolve_is_final() -> None:
    exc = connect_error(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    verdict = classify(GET, exc, server_now=NOW)
    assert verdict == Refused("list connectors: cannot resolve the API host api.test (Name or "
                              "service not known): check the API URL and your network (not "
                              "retried)")


def test_a_temporary_dns_failure_is_retried_briefly_and_says_so() -> None:
    exc = connect_error(socket.gaierror(socket.EAI_AGAIN,
                                        "Temporary failure in name resolution"))
    for call in (GET, POST):  # nothing was sent
        verdict = classify(call, exc, server_now=NOW)
        assert verdict == Retry("DNS lookup of api.test failed (Temporary failure in name "
                                "resolution; retried briefly)", max_attempts=BRIEF_ATTEMPTS)


def test_a_tls_handshake_with_a_plain_http_port_is_final() -> None:
    error = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    error.reason = "WRONG_VERSION_NUMBER"
    verdict = classify(POST, connect_error(error), server_now=NOW)
    assert isinstance(verdict, Refused) and not verdict.unknown
    assert verdict.message == ("create 'crm': TLS handshake with api.test failed "
                               "(WRONG_VERSION_NUMBER): is it a plain-http port? Use https:// "
                               "only where the server speaks TLS (not retried)")


def test_an_untrusted_certificate_is_final() -> None:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "self-signed certificate"
    verdict = classify(GET, connect_error(error), server_now=NOW)
    assert verdict == Refused("list connectors: the TLS certificate of api.test is not trusted "
                              "(self-signed certificate) (not retried)")
