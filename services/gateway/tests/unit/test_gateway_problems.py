"""Problem mapping of failures that are not ours: an unreachable database is a 503 to retry, not a 500."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import asyncpg
import msgspec
import pytest
from litestar import Request

from etsygen_common.db import is_unavailable
from etsygen_gateway.api.problems import PROBLEM_JSON, handle_exception


def _request() -> Request[object, object, object]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/v1/jobs",
        "raw_path": b"/v1/jobs",
        "query_string": b"",
        "headers": [],
        "state": {"request_id": "rid-1"},
        "app": None,
    }
    return Request(scope)  # type: ignore[arg-type]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _connect_error(**kwargs: object) -> BaseException:
    with pytest.raises(BaseException) as caught:  # noqa: PT011 - whatever asyncpg raises is the point
        await asyncpg.connect(user="postgres", database="postgres", timeout=5, **kwargs)  # type: ignore[arg-type]
    return caught.value


async def test_a_refused_connection_is_a_503_with_retry_after() -> None:
    exc = await _connect_error(host="127.0.0.1", port=_closed_port())
    assert is_unavailable(exc), repr(exc)

    response = handle_exception(_request(), exc)  # type: ignore[arg-type]

    assert response.status_code == 503
    assert response.media_type == PROBLEM_JSON
    assert response.headers["Retry-After"] == "5"
    body = msgspec.json.decode(response.content)
    assert body["type"].endswith("/dependency-unavailable")
    assert body["retry_after"] == 5
    assert body["request_id"] == "rid-1"
    assert "database" in body["detail"]


async def test_a_removed_unix_socket_is_a_503() -> None:
    # What the services see while PostgreSQL restarts behind a Unix socket: the socket file is gone.
    with tempfile.TemporaryDirectory() as empty:
        exc = await _connect_error(host=empty, port=5432)
    assert isinstance(exc, FileNotFoundError)
    assert handle_exception(_request(), exc).status_code == 503  # type: ignore[arg-type]


def test_a_missing_file_of_ours_stays_a_500() -> None:
    with pytest.raises(FileNotFoundError) as caught:
        Path(tempfile.gettempdir(), "etsygen-no-such-file").read_text()
    assert not is_unavailable(caught.value)
    response = handle_exception(_request(), caught.value)  # type: ignore[arg-type]
    assert response.status_code == 500
    assert msgspec.json.decode(response.content)["type"].endswith("/internal-error")


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    ],
)
def test_the_servers_own_outage_answers_are_503(exc: Exception) -> None:
    assert handle_exception(_request(), exc).status_code == 503  # type: ignore[arg-type]


def test_other_errors_are_not_outages() -> None:
    assert not is_unavailable(ValueError("boom"))
    assert not is_unavailable(asyncpg.UniqueViolationError("duplicate key"))
    assert not is_unavailable(PermissionError(13, "denied"))
