"""The limiter's pipelined Redis channel against servers that misbehave (loopback sockets, no Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from etsygen_gateway.adapters.resp import RespChannel

pytestmark = pytest.mark.integration


def client_for(port: int) -> Any:
    """What RespChannel reads from a redis-py client: its pool's connection settings."""
    pool = SimpleNamespace(connection_kwargs={"host": "127.0.0.1", "port": port}, connection_class=object)
    return SimpleNamespace(connection_pool=pool)


async def serve(handler: Any) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A server that reads commands and never answers."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass
        writer.close()

    async for port in serve(handler):
        yield port


@pytest.fixture
async def echo_int_port() -> AsyncIterator[int]:
    """A server that answers every command with ``:1`` after 50 ms."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                await asyncio.sleep(0.05)
                writer.write(b":1\r\n" * data.count(b"*"))
                await writer.drain()
        writer.close()

    async for port in serve(handler):
        yield port


async def test_a_server_that_never_answers_fails_pending_commands_within_two_timeouts(
    silent_port: int,
) -> None:
    channel = RespChannel(client_for(silent_port), timeout=0.2)
    started = time.monotonic()
    with pytest.raises(RedisTimeoutError):
        await asyncio.gather(*(channel.call("PING") for _ in range(3)))
    assert 0.2 <= time.monotonic() - started < 0.6
    await channel.close()


async def test_a_slow_but_answering_server_is_not_taken_for_stuck(echo_int_port: int) -> None:
    channel = RespChannel(client_for(echo_int_port), timeout=0.2)
    for _ in range(10):  # a second of traffic, each reply 50 ms late: five timeouts' worth
        assert await asyncio.gather(*(channel.call("PING") for _ in range(5))) == [1] * 5
        await asyncio.sleep(0.05)
    await channel.close()


async def test_a_closed_connection_fails_pending_commands_and_the_next_one_reconnects(
    echo_int_port: int,
) -> None:
    channel = RespChannel(client_for(echo_int_port), timeout=1.0)
    assert await channel.call("PING") == 1
    pending = asyncio.ensure_future(channel.call("PING"))
    await asyncio.sleep(0.01)  # written; the server answers after 50 ms
    assert channel._writer is not None
    channel._writer.transport.abort()  # the connection drops under the channel
    with pytest.raises(RedisConnectionError):
        await pending
    assert await channel.call("PING") == 1  # reconnected
    await channel.close()
