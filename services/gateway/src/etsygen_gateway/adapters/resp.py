"""A lean, auto-pipelining Redis channel for the one command on every request's path (the rate limiter).

redis-py spends more CPU per command than the whole rest of a cached request (connection checkout, retry
and timeout wrappers, a pure-Python reply parser reading line by line). This channel keeps one connection,
appends each command to a buffer, writes the buffer once per event-loop iteration, and parses replies from
whole chunks in order. Commands issued concurrently therefore share a system call and a read; each one is
still its own command (a script call stays atomic).

It speaks RESP2 and connects with the redis-py client's own settings (host/port or Unix socket, TLS,
username/password, database). Failures surface as ``ConnectionError``/``TimeoutError``/:class:`ReplyError`;
a lost or stuck connection fails what was pending and the next command reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from typing import Any, Final

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

_CRLF: Final = b"\r\n"


class ReplyError(ResponseError):
    """Redis answered a command with an error (``-ERR ...``, ``-NOSCRIPT ...``)."""


class _Incomplete(Exception):  # noqa: N818 - internal control flow: wait for more bytes
    pass


def encode_command(args: tuple[Any, ...]) -> bytes:
    """A command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def parse_reply(buf: bytes | bytearray, pos: int) -> tuple[Any, int]:
    """Parse one reply starting at ``pos``; return it and the position after it.

    Raises:
        _Incomplete: the buffer does not hold the whole reply yet.
    """
    end = buf.find(_CRLF, pos)
    if end < 0:
        raise _Incomplete
    kind = buf[pos : pos + 1]
    line = bytes(buf[pos + 1 : end])
    pos = end + 2
    if kind == b":":
        return int(line), pos
    if kind == b"+":
        return line.decode(), pos
    if kind == b"-":
        return ReplyError(line.decode(errors="replace")), pos
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            raise _Incomplete
        return bytes(buf[pos : pos + size]), pos + size + 2
    if kind == b"*":
        count = int(line)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = parse_reply(buf, pos)
            items.append(item)
        return items, pos
    raise RedisConnectionError(f"unexpected reply type {kind!r} from Redis")


class RespChannel:
    """One pipelined connection to Redis."""

    def __init__(self, client: Any, *, timeout: float = 1.0) -> None:
        """Create a channel using the connection settings of a redis-py ``client``."""
        pool = client.connection_pool
        self._kwargs: dict[str, Any] = dict(pool.connection_kwargs)
        self._tls = "SSL" in getattr(pool.connection_class, "__name__", "")
        self._timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._pending: deque[asyncio.Future[Any]] = deque()
        self._buffer: list[bytes] = []
        self._flush_scheduled = False
        self._connecting = asyncio.Lock()

    async def call(self, *args: Any) -> Any:
        """Send one command and return its reply (a :class:`ReplyError` is raised, not returned)."""
        if self._writer is None or self._writer.is_closing():
            await self._connect()
        return await self._await(self._send(args))

    def _send(self, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append(future)
        self._buffer.append(encode_command(args))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return future

    async def _await(self, future: asyncio.Future[Any]) -> Any:
        reply = await future
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    async def close(self) -> None:
        """Close the connection; pending commands fail."""
        self._reset(RedisConnectionError("channel closed"))
        if self._read_task is not None:
            self._read_task.cancel()
            with contextlib.suppress(BaseException):
                await self._read_task

    async def _connect(self) -> None:
        async with self._connecting:
            if self._writer is not None and not self._writer.is_closing():
                return
            kw = self._kwargs
            try:
                if kw.get("path"):
                    opening = asyncio.open_unix_connection(kw["path"])
                else:
                    context = ssl.create_default_context() if self._tls else None
                    opening = asyncio.open_connection(
                        kw.get("host", "127.0.0.1"), kw.get("port", 6379), ssl=context
                    )
                reader, self._writer = await asyncio.wait_for(opening, self._timeout)
            except (OSError, TimeoutError) as exc:
                raise RedisConnectionError(f"cannot connect to Redis: {exc!r}") from exc
            self._reader = reader
            self._read_task = asyncio.create_task(self._read_loop(reader), name="resp-channel-reader")
            # Authenticate and select the database before anything else is queued: replies come in order.
            setup = []
            if kw.get("password"):
                auth = (kw["username"], kw["password"]) if kw.get("username") else (kw["password"],)
                setup.append(self._send(("AUTH", *auth)))
            if kw.get("db"):
                setup.append(self._send(("SELECT", kw["db"])))
        for future in setup:
            await self._await(future)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._buffer:
            return
        data, self._buffer = b"".join(self._buffer), []
        if self._writer is None or self._writer.is_closing():
            self._reset(RedisConnectionError("connection to Redis lost"))
            return
        self._writer.write(data)
        # One watchdog per write rather than a timer per command: if the last command of this write is
        # still unanswered after the timeout, the connection is stuck and everything pending fails.
        last = self._pending[-1]
        asyncio.get_running_loop().call_later(self._timeout, self._expire, last, self._writer)

    def _expire(self, future: asyncio.Future[Any], writer: asyncio.StreamWriter) -> None:
        if not future.done() and self._writer is writer:
            self._reset(RedisTimeoutError(f"Redis did not answer within {self._timeout} s"))

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        buf = bytearray()
        try:
            while True:
                chunk = await reader.read(65536)
                buf += chunk
                del buf[: self._deliver(buf, closed=not chunk)]
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if self._reader is reader:  # an old connection's reader must not reset its successor
                self._reset(exc if isinstance(exc, RedisConnectionError) else RedisConnectionError(repr(exc)))

    def _deliver(self, buf: bytearray, *, closed: bool) -> int:
        """Hand every complete reply in ``buf`` to its command; return how many bytes were consumed."""
        if closed:
            raise RedisConnectionError("Redis closed the connection")
        pos = 0
        while pos < len(buf):
            try:
                reply, pos = parse_reply(buf, pos)
            except _Incomplete:
                break
            if not self._pending:
                raise RedisConnectionError("Redis sent a reply nobody asked for")
            future = self._pending.popleft()
            if not future.done():
                future.set_result(reply)
        return pos

    def _reset(self, error: Exception) -> None:
        """Drop the connection and fail every pending command."""
        writer, self._writer = self._writer, None
        self._reader = None
        if writer is not None:
            writer.close()
        self._buffer.clear()
        while self._pending:
            future = self._pending.popleft()
            if not future.done():
                future.set_exception(error)
