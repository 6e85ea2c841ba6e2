"""Failures that retrying cannot fix end at once (or after a brief retry that says so)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest

from adapter_sync.client import make_client
from adapter_sync.errors import ApiError
from fake_api import connect_error

KEY = "pk_live_failfast"


def test_https_to_a_plain_http_port_fails_at_once() -> None:
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await reader.read(1024)  # a TLS ClientHello, answered as plain HTTP
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def main() -> ApiError:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with make_client(f"https://127.0.0.1:{port}/v1", KEY,
                                   backoff_base=0.01) as client:
                with pytest.raises(ApiError) as info:
                    await client.list_connectors()
                return info.value
        finally:
            server.close()
            await server.wait_closed()

    error = asyncio.run(main())
    assert "list connectors: TLS handshake with 127.0.0.1:" in str(error)
    assert "plain-http port" in str(error) and "not retried" in str(error)
    assert len(connections) == 1  # before: 8 attempts over ~35 s of backoff


def failing(exc: BaseException) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise exc

    return httpx.MockTransport(handler), seen


def fails(exc: BaseException, **kw: Any) -> tuple[ApiError, int]:
    transport, seen = failing(exc)

    async def main() -> None:
        async with make_client("https://api.nowhere.test/v1", KEY, transport=transport,
                               backoff_base=0.001, backoff_cap=0.001, **kw) as client:
            await client.create({"source_name": "crm", "name": "CRM"})

    with pytest.raises(ApiError) as info:
        asyncio.run(main())
    return info.value, len(seen)


def test_a_host_that_does_not_resolve_fails_at_once() -> None:
    error, attempts = fails(connect_error(socket.gaierror(socket.EAI_NONAME,
                                                          "Name or service not known")))
    assert attempts == 1
    assert str(error) == ("create 'crm': cannot resolve the API host api.nowhere.test (Name or "
                          "service not known): check the API URL and your network (not "
                          "retried)")


def test_a_temporary_dns_failure_is_retried_briefly_and_says_so() -> None:
    error, attempts = fails(connect_error(socket.gaierror(
        socket.EAI_AGAIN, "Temporary failure in name resolution")), max_attempts=8)
    assert attempts == 3
    assert str(error) == ("create 'crm': DNS lookup of api.nowhere.test failed (Temporary "
                          "failure in name resolution; retried briefly) after 3 attempts")
