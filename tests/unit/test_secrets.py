"""The API key never leaks: not in an exception (str, repr, args, chain), not in a log record.

Every failure path of the client is exercised with a recognisable key and DEBUG logging on
for every logger (httpx and httpcore included).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapter_sync.client import AdapterClient, make_client
from adapter_sync.errors import AdapterSyncError, ApiError, OutcomeUnknown
from adapter_sync.secrets import MASK, Redactor

KEY = "pk_live_CANARY_d3adb33f_never_print_me"
URL = "https://api.test/v1"


@pytest.fixture(autouse=True)
def _key_in_env(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("ADAPTER_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)  # root: every logger, httpx and httpcore included


def assert_no_key_anywhere(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []
    chain: BaseException | None = exc
    while chain is not None:
        seen += [str(chain), repr(chain), repr(chain.args)]
        chain = chain.__cause__ or chain.__context__
    seen.append("".join(traceback.format_exception(exc)))
    for record in caplog.records:
        seen.append(record.getMessage())
        if record.exc_info:
            seen.append("".join(traceback.format_exception(*record.exc_info)))
    assert caplog.records, "DEBUG logging produced no records: the check would be empty"
    for text in seen:
        assert KEY not in text
        assert KEY[8:] not in text  # not even without its prefix


def client(transport: httpx.AsyncBaseTransport | None = None, url: str = URL,
           **kw: Any) -> AdapterClient:
    import os

    kw.setdefault("backoff_base", 0.001)
    kw.setdefault("backoff_cap", 0.002)
    kw.setdefault("max_attempts", 3)
    return make_client(url, os.environ["ADAPTER_API_KEY"], transport=transport, **kw)


def failure(call: Callable[[AdapterClient], Awaitable[Any]], c: AdapterClient) -> ApiError:
    async def main() -> None:
        async with c:
            await call(c)

    with pytest.raises(ApiError) as info:
        asyncio.run(main())
    return info.value


def create(c: AdapterClient) -> Awaitable[Any]:
    return c.create({"source_name": "crm", "name": "CRM"})


def listing(c: AdapterClient) -> Awaitable[Any]:
    return c.list_connectors()


def reflecting(status: int, **extra: Any) -> httpx.MockTransport:
    """A server that echoes the Authorization header back in its error message (worst case)."""

    def handler(request: httpx.Request) -> httpx.Response:
        auth = request.headers["authorization"]
        assert auth == f"Bearer {KEY}"  # the key really is sent
        return httpx.Response(status, json={"error": "x", "message": f"bad header {auth}",
                                            "details": {"got": auth, **extra}},
                              headers={"X-Request-Id": "r-1"})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(("status", "call", "expected"), [
    (401, listing, "authentication failed"),
    (403, create, "permission denied"),
    (409, create, "409"),
    (422, create, "422"),
    (503, listing, "after 3 attempts"),
    (503, create, "may or may not"),
    (429, listing, "rate limited"),
])
def test_http_failures_never_show_the_key(status, call, expected, caplog) -> None:
    error = failure(call, client(reflecting(status)))
    assert expected in str(error)
    assert_no_key_anywhere(error, caplog)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_never_shows_the_key(caplog) -> None:
    c = client(url=f"http://127.0.0.1:{closed_port()}/v1")
    error = failure(listing, c)
    assert "connection failed" in str(error) and "after 3 attempts" in str(error)
    assert_no_key_anywhere(error, caplog)


@contextlib.asynccontextmanager
async def bad_server(answer: bytes | None, hang: bool = False) -> AsyncIterator[str]:
    """A loopback TCP server that reads a request, then answers ``answer`` raw, or hangs."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            if hang:
                await reader.read()  # until the client gives up
            elif answer:
                writer.write(answer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(("answer", "hang", "call", "exc_type", "expected"), [
    (b"garbage\r\n\r\n", False, listing, ApiError, "connection lost"),
    (b"garbage\r\n\r\n", False, create, OutcomeUnknown, "may or may not"),
    (None, False, listing, ApiError, "connection lost"),
    (None, False, create, OutcomeUnknown, "may or may not"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n[", False, listing, ApiError, "lost"),
    (None, True, listing, ApiError, "timed out"),
    (None, True, create, OutcomeUnknown, "timed out"),
], ids=["garbage-get", "garbage-post", "closed-get", "closed-post", "short-body", "hang-get",
        "hang-post"])
def test_protocol_errors_never_show_the_key(answer, hang, call, exc_type, expected,
                                            caplog) -> None:
    async def main() -> BaseException:
        async with bad_server(answer, hang) as url, client(url=url, timeout=0.2) as c:
            try:
                await call(c)
            except ApiError as exc:
                return exc
        raise AssertionError("the call did not fail")

    error = asyncio.run(main())
    assert isinstance(error, exc_type) and expected in str(error)
    assert_no_key_anywhere(error, caplog)


def test_url_and_key_errors_never_show_the_key(caplog) -> None:
    logging.getLogger("adapter_sync.client").debug("setup %s", "ok")
    for url in ("http://api.adapter.com/v1", f"https://x:{KEY}@api.test/v1", "ftp://x"):
        with pytest.raises(AdapterSyncError) as info:
            client(url=url)
        assert_no_key_anywhere(info.value, caplog)


def test_a_log_call_that_mentions_the_key_is_redacted(caplog) -> None:
    # The application installs the one redactor's filter on its log handler (the CLI does so
    # on its own); the client installs nothing at import.
    from adapter_sync.secrets import Redactor

    caplog.handler.addFilter(Redactor([KEY]).logging_filter())

    async def main() -> None:
        async with client(reflecting(200)):
            logging.getLogger("adapter_sync.client").debug("oops %s", KEY)

    asyncio.run(main())
    assert any("oops ***" in r.getMessage() for r in caplog.records)
    assert_no_key_anywhere(RuntimeError("none"), caplog)


def test_the_client_installs_no_logging_filter_at_import() -> None:
    import importlib

    import adapter_sync.client

    importlib.reload(adapter_sync.client)
    for name in ("adapter_sync.client", "httpx", "httpcore.connection", "httpcore.http11"):
        assert logging.getLogger(name).filters == [], name


@pytest.mark.parametrize("command", ["plan", "import"])
def test_cli_debug_against_a_closed_port_never_prints_the_key(command: str,
                                                              tmp_path: Path) -> None:
    from clirun import run_process

    (tmp_path / "connectors.yaml").write_text("connectors:\n  acme-crm: {name: Acme CRM}\n")
    result = run_process(
        ["--debug", "--api-url", f"http://127.0.0.1:{closed_port()}/v1", "--max-attempts", "2",
         command],
        env={"ADAPTER_API_KEY": KEY}, cwd=tmp_path, timeout=60,
    )
    assert result.code == 1
    assert "connection failed" in result.err
    assert "DEBUG" in result.err  # debug logging really was on
    assert KEY not in result.out and KEY not in result.err
    assert KEY[8:] not in result.out + result.err


# --------------------------------------------------------------------------- cut short

KEY32 = "pk_live_0123456789abcdefghijklmn"  # 32 characters


def html_echo(status: int, lead: int) -> httpx.MockTransport:
    """A proxy's HTML error page echoing the Authorization header, ``lead`` characters in."""

    def handler(request: httpx.Request) -> httpx.Response:
        page = ("<html>" + "x" * (lead - 6) + f"Authorization: {request.headers['authorization']}"
                + "</html>" + "y" * 200)
        return httpx.Response(status, text=page, headers={"Content-Type": "text/html"})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("status", [403, 502])
@pytest.mark.parametrize("lead", [47, 53, 60, 70, 85])
def test_an_html_page_echoing_the_key_is_redacted_before_it_is_cut(
        status: int, lead: int, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # Before: cut to 100 characters first, then redacted: 28 of the 32 characters showed.
    monkeypatch.setenv("ADAPTER_API_KEY", KEY32)
    error = failure(listing, client(html_echo(status, lead), max_attempts=1))
    assert "non-JSON body" in str(error)
    for text in (str(error), *(r.getMessage() for r in caplog.records)):
        assert KEY32[:8] not in text, text  # no prefix of 8 characters or more


def test_a_key_cut_short_at_the_end_of_a_text_or_an_ellipsis_is_masked() -> None:
    redact = Redactor([KEY32])
    for size in range(8, 32):
        cut = KEY32[:size]
        assert redact(f"Bearer {cut}") == "Bearer ***"
        assert redact(f"'Bearer {cut}…'") == "'Bearer ***…'"
        assert redact(f"Bearer {cut}...") == "Bearer ***..."
    assert redact(f"Bearer {KEY32[:7]}") == f"Bearer {KEY32[:7]}"  # pk_live: every key's
    assert redact("the pk_live_0123 key, pk_live_") == "the pk_live_0123 key, ***"
    assert redact(f"{KEY32[:12]} is not cut here") == f"{KEY32[:12]} is not cut here"


@pytest.mark.parametrize("key", ['pk_live_quote"and\\slash_0123456789', "pk_live_é_unicode_key",
                                 "pk_live_tab\tnewline\n_and_ctrl\x01_abcdef",
                                 'pk_live_é_and_"quoted"_0123'])
def test_every_json_spelling_of_a_key_is_redacted(key: str) -> None:
    import json

    redact = Redactor([key])
    for spelled in (json.dumps(key), json.dumps(key, ensure_ascii=False),
                    json.dumps({"k": key}), json.dumps([key], ensure_ascii=False)):
        assert key.strip() not in redact(spelled)
        assert json.dumps(key.strip())[1:-1] not in redact(spelled)
        assert json.dumps(key.strip(), ensure_ascii=False)[1:-1] not in redact(spelled)
        assert MASK in redact(spelled)


def test_a_json_escaped_key_cut_short_is_masked_too() -> None:
    import json

    key = 'pk_live_quote"and\\slash_0123456789'
    escaped = json.dumps(key)[1:-1]
    assert Redactor([key])(f'{{"auth": "{escaped[:20]}…') == '{"auth": "***…'


@pytest.mark.parametrize("wrap", ["{}", '"{}"', "name: {}!", "`{}`|"])
def test_a_long_prefix_of_the_key_is_masked_wherever_it_is(wrap: str) -> None:
    """A live value holding most of the key (pasted, then cut by a field limit) is shown
    quoted in every view: no cut mark follows it, yet 16 characters or more of the key (8
    beyond the ``pk_live_`` every key shares) must never be shown. Shorter runs elsewhere
    stay (``pk_live_0123`` is ordinary text)."""
    import json

    from adapter_sync.render import md_escape

    redact = Redactor([KEY32])
    for size in range(16, 32):
        cut = KEY32[:size]
        for spelled in (cut, json.dumps(cut)[1:-1], md_escape(cut)):
            text = wrap.format(spelled)
            assert redact(text) == wrap.format(MASK), (size, text)
    if not wrap.endswith("{}"):  # there a shorter cut is masked too (the text ends)
        assert redact(wrap.format(KEY32[:15])) == wrap.format(KEY32[:15])
