"""A lean, auto-pipelining Redis channel for the one command on every request's path (the rate limiter).

redis-py spends more CPU per command than the whole rest of a cached request (connection checkout, retry
and timeout wrappers, a pure-Python reply parser reading line by line). This channel keeps one connection,
appends each command to a buffer, writes the buffer once per event-loop iteration, and parses replies from
whole chunks in order. Commands issued concurrently therefore share a system call and a read; each one is
still its own command (a script call stays atomic).

It speaks RESP2 and connects with the redis-py client's own settings (host/port or Unix socket, TLS,
username/password, database). Failures surface as ``ConnectionError``/``TimeoutError``/:class:`ReplyError`;
a lost connection, or a stuck one (no reply for one to two timeouts while commands wait), fails what was
pending and the next command reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any, Final

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

_CRLF: Final = b"\r\n"


class ReplyError(ResponseError):
    """Redis answered a command with an error (``-ERR ...``, ``-NOSCRIPT ...``)."""


class _Incomplete(Exception):  # noqa: N818 - internal control flow: wait for more bytes
    pass


def encode_bulk(args: Iterable[Any]) -> bytes:
    """Arguments as consecutive RESP bulk strings (a command is an array header followed by these)."""
    out = []
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def encode_command(args: tuple[Any, ...]) -> bytes:
    """A command as a RESP array of bulk strings."""
    return b"*%d\r\n%s" % (len(args), encode_bulk(args))


_INTEGER: Final = ord(":")
_SIMPLE: Final = ord("+")
_ERROR: Final = ord("-")
_BULK: Final = ord("$")
_ARRAY: Final = ord("*")
_INT_TRIPLE: Final = re.compile(rb"\*3\r\n:(-?\d+)\r\n:(-?\d+)\r\n:(-?\d+)\r\n")


def parse_reply(buf: bytes | bytearray, pos: int) -> tuple[Any, int]:
    """Parse one reply starting at ``pos``; return it and the position after it.

    Raises:
        _Incomplete: the buffer does not hold the whole reply yet.
    """
    triple = _INT_TRIPLE.match(buf, pos)
    if triple is not None:  # the rate limiter's reply for one tier, in one regex match
        return [int(triple[1]), int(triple[2]), int(triple[3])], triple.end()
    end = buf.find(_CRLF, pos)
    if end < 0:
        raise _Incomplete
    kind = buf[pos]
    if kind == _INTEGER:
        return int(buf[pos + 1 : end]), end + 2
    if kind == _ARRAY:
        count = int(buf[pos + 1 : end])
        pos = end + 2
        if count < 0:
            return None, pos
        items = []
        size = len(buf)
        for _ in range(count):
            if pos < size and buf[pos] == _INTEGER:  # the limiter's replies: arrays of integers
                end = buf.find(_CRLF, pos)
                if end < 0:
                    raise _Incomplete
                items.append(int(buf[pos + 1 : end]))
                pos = end + 2
            else:
                item, pos = parse_reply(buf, pos)
                items.append(item)
        return items, pos
    if kind == _BULK:
        size = int(buf[pos + 1 : end])
        pos = end + 2
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            raise _Incomplete
        return bytes(buf[pos : pos + size]), pos + size + 2
    if kind == _SIMPLE:
        return bytes(buf[pos + 1 : end]).decode(), end + 2
    if kind == _ERROR:
        return ReplyError(bytes(buf[pos + 1 : end]).decode(errors="replace")), end + 2
    raise RedisConnectionError(f"unexpected reply type {bytes(buf[pos : pos + 1])!r} from Redis")


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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._progress = 0
        """Reads that delivered replies; the watchdog compares it with what it saw last (``_seen``)."""
        self._seen = 0
        """The loop of the open connection (asking asyncio each time costs a system call)."""

    async def call(self, *args: Any) -> Any:
        """Send one command and return its reply (a :class:`ReplyError` is raised, not returned)."""
        return await self.call_encoded(encode_command(args))

    async def call_encoded(self, command: bytes, *, raise_errors: bool = True) -> Any:
        """:meth:`call` with the command already encoded (see :func:`encode_command`); with
        ``raise_errors=False`` an error reply is returned as a :class:`ReplyError` instead of raised."""
        if self._writer is None or self._writer.is_closing():
            await self._connect()
        reply = await self._send(command)
        if raise_errors and isinstance(reply, ReplyError):
            raise reply
        return reply

    def submit(self, command: bytes) -> asyncio.Future[Any] | None:
        """Queue an encoded command and return the future of its reply, without awaiting anything.

        The future's result is the reply, a :class:`ReplyError` included (it is not raised). None when the
        connection is not open: :meth:`call_encoded` opens it.
        """
        if self._writer is None or self._writer.is_closing():
            return None
        return self._send(command)

    def _send(self, command: bytes) -> asyncio.Future[Any]:
        loop = self._loop
        assert loop is not None  # set by _connect, which runs before anything is sent
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append(future)
        self._buffer.append(command)
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
            self._loop = asyncio.get_running_loop()
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
                setup.append(self._send(encode_command(("AUTH", *auth))))
            if kw.get("db"):
                setup.append(self._send(encode_command(("SELECT", kw["db"]))))
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
        # One watchdog while commands are pending, not a timer per write (those would crowd the event
        # loop's timer heap): it fails everything when no reply at all came for the timeout.
        if self._watchdog is None:
            loop = self._loop
            assert loop is not None
            self._seen = self._progress
            self._watchdog = loop.call_later(self._timeout, self._watch, self._writer)

    def _watch(self, writer: asyncio.StreamWriter) -> None:
        """Fail a stuck connection: one whose oldest pending command is unanswered for 1-2 timeouts.

        Replies come in order, so no reply since the last look while commands were pending then means
        that those commands are unanswered since at least one timeout.
        """
        self._watchdog = None
        if self._writer is not writer or not self._pending or self._loop is None:
            return
        if self._progress == self._seen:
            self._reset(RedisTimeoutError(f"Redis did not answer within {self._timeout} s"))
            return
        self._seen = self._progress
        self._watchdog = self._loop.call_later(self._timeout, self._watch, writer)

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
        if pos:
            self._progress += 1
        return pos

    def _reset(self, error: Exception) -> None:
        """Drop the connection and fail every pending command."""
        writer, self._writer = self._writer, None
        self._reader = None
        if writer is not None:
            writer.close()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._buffer.clear()
        while self._pending:
            future = self._pending.popleft()
            if not future.done():
                future.set_exception(error)
