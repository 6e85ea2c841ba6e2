"""The key never goes through a proxy to a loopback API (in cleartext for http://)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from adapter_sync.client import make_client
from adapter_sync.errors import ApiError

KEY = "pk_live_proxy_test_key"


@contextlib.asynccontextmanager
async def recorder(answer: bytes) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A loopback server that records each request's head and answers ``answer``."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            heads.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(answer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], heads
    finally:
        server.close()
        await server.wait_closed()


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"
BAD = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_loopback_api_is_never_reached_through_a_proxy(variable: str, host: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)

    async def main() -> tuple[list[bytes], list[bytes]]:
        async with recorder(OK) as (api_port, api), recorder(BAD) as (proxy_port, proxy):
            # (the stand-in proxy is on loopback too: tests reach no other host)
            monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy_port}")
            async with make_client(f"http://{host}:{api_port}/v1", KEY, max_attempts=1) as c:
                assert await c.list_connectors() == []
            return api, proxy

    api, proxy = asyncio.run(main())
    assert proxy == []
    assert len(api) == 1 and api[0].startswith(b"GET /v1/custom-connectors")
    assert f"Bearer {KEY}".encode() in api[0]


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY"])
def test_an_allow_http_host_is_never_reached_through_a_proxy(variable: str,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    # --allow-http names a host (a CI job's sandbox service). Before: the request, key in its
    # Authorization header, went in cleartext to the proxy, a host the user never named.
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)

    async def main() -> tuple[list[bytes], str]:
        async with recorder(OK) as (proxy_port, proxy):
            monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy_port}")
            # a name that never resolves (.invalid): sent directly, the call fails on DNS
            async with make_client("http://sandbox-service.invalid:8787/v1", KEY,
                                   max_attempts=1, allow_http=("sandbox-service.invalid",)
                                   ) as c:
                try:
                    await c.list_connectors()
                except ApiError as exc:
                    return proxy, str(exc)
            return proxy, "answered (through the proxy)"

    proxy, error = asyncio.run(main())
    assert proxy == []  # the proxy never heard of it, nor of the key
    assert "sandbox-service.invalid" in error and "answered" not in error
