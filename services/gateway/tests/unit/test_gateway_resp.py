"""The RESP wire format of the limiter's Redis channel (pure, no Redis)."""

from __future__ import annotations

import pytest

from etsygen_gateway.adapters.resp import ReplyError, _Incomplete, encode_command, parse_reply


def parse_all(data: bytes) -> list[object]:
    buf, pos, out = bytearray(data), 0, []
    while pos < len(buf):
        reply, pos = parse_reply(buf, pos)
        out.append(reply)
    return out


def test_a_command_is_an_array_of_bulk_strings() -> None:
    assert (
        encode_command(("EVALSHA", b"ab", 1, "k"))
        == b"*4\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n1\r\n$1\r\nk\r\n"
    )


def test_consecutive_limiter_replies_parse_one_after_the_other() -> None:
    data = b"*3\r\n:1\r\n:899000000\r\n:0\r\n*3\r\n:0\r\n:-5\r\n:9000000\r\n"
    assert parse_all(data) == [[1, 899000000, 0], [0, -5, 9000000]]


def test_every_reply_type_parses() -> None:
    data = (
        b"+OK\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*-1\r\n"
        b"*6\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n*2\r\n$1\r\nx\r\n:7\r\n"
    )
    assert parse_all(data) == ["OK", 42, b"abc", None, None, [1, 2, 3, 4, 5, 6], [b"x", 7]]


def test_an_error_reply_is_returned_as_an_exception_value() -> None:
    (error,) = parse_all(b"-NOSCRIPT No matching script\r\n")
    assert isinstance(error, ReplyError)
    assert str(error).startswith("NOSCRIPT")


@pytest.mark.parametrize("cut", [1, 4, 5, 9, 17, 18])
def test_a_reply_cut_anywhere_waits_for_more_bytes(cut: int) -> None:
    whole = b"*3\r\n:1\r\n:3599\r\n:0\r\n"
    with pytest.raises(_Incomplete):
        parse_reply(bytearray(whole[:cut]), 0)
    assert parse_reply(bytearray(whole), 0) == ([1, 3599, 0], len(whole))
