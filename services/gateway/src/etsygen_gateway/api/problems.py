"""RFC 9457 problem details for every error: our own, Litestar's (validation, 404, 405, ...) and crashes.

Each problem has ``type`` (a stable URI per kind of problem), ``title``, ``status``, ``detail`` and
``instance`` (the request path), plus ``request_id`` so a user can quote it and ``errors`` for validation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from etsygen_common.db import is_unavailable
from etsygen_common.logging import get_logger
from etsygen_gateway.errors import GatewayError

log = get_logger(__name__)

PROBLEM_JSON: Final = "application/problem+json"
TYPE_BASE: Final = "https://etsygen.dev/problems/"
_OUTAGE_RETRY_AFTER_S: Final = 5
"""Seconds a client is told to wait after a request failed because the database was unreachable."""


class FieldError(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One reason a request was rejected."""

    message: str
    key: str | None = None
    source: str | None = None


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem details object."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None
    errors: list[FieldError] | None = None
    retry_after: int | None = None


_encoder = msgspec.json.Encoder()


def _slug(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")
    except ValueError:
        return "error"


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def build(
    status: int,
    detail: str,
    *,
    instance: str,
    request_id: str | None,
    slug: str | None = None,
    title: str | None = None,
    errors: Sequence[FieldError] | None = None,
    retry_after: int | None = None,
) -> Problem:
    """A problem for ``status``."""
    return Problem(
        type=TYPE_BASE + (slug or _slug(status)),
        title=title or _title(status),
        status=status,
        detail=detail,
        instance=instance,
        request_id=request_id,
        errors=list(errors) if errors else None,
        retry_after=retry_after,
    )


def encode(problem: Problem) -> bytes:
    """The problem as JSON."""
    return _encoder.encode(problem)


def _field_errors(extra: Any) -> list[FieldError]:
    out = []
    items = extra if isinstance(extra, list) else [extra] if extra else []
    for item in items:
        if isinstance(item, Mapping):
            out.append(
                FieldError(
                    message=str(item.get("message", "invalid")),
                    key=str(item["key"]) if item.get("key") is not None else None,
                    source=str(item["source"]) if item.get("source") is not None else None,
                )
            )
        else:
            out.append(FieldError(message=str(item)))
    return out


def request_id_of(request: Request[Any, Any, Any]) -> str | None:
    """The request id the edge middleware assigned."""
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Turn any exception into a problem response (the app's only exception handler)."""
    rid = request_id_of(request)
    headers: dict[str, str] = {}
    errors: list[FieldError] | None = None
    retry_after: int | None = None
    if isinstance(exc, GatewayError):
        status, slug, title, detail = exc.status, exc.slug, exc.title, exc.detail
        headers = dict(exc.headers)
        raw_errors = exc.extra.get("errors")
        errors = _field_errors(raw_errors) if raw_errors else None
        if "retry-after" in {k.lower() for k in headers}:
            retry_after = int(next(v for k, v in headers.items() if k.lower() == "retry-after"))
    elif isinstance(exc, ValidationException):
        status, slug, title = 400, "validation-failed", "Bad Request"
        detail = "the request does not match the API schema; see errors"
        errors = _field_errors(exc.extra)
    elif _is_unstorable_text(exc):
        status, slug, title = 400, "invalid-text", "Bad Request"
        detail = "text fields must be valid Unicode without NUL characters or lone surrogates"
    elif is_unavailable(exc):  # the database is down or restarting: a 503 to retry, not a 500
        status, slug, title = 503, "dependency-unavailable", "Service Unavailable"
        detail = "the database is unreachable; try again shortly"
        retry_after = _OUTAGE_RETRY_AFTER_S
        headers = {"Retry-After": str(retry_after)}
        log.warning("database unreachable", extra={"path": request.url.path, "error": repr(exc)})
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        slug, title = None, None
        detail = exc.detail if status < 500 and exc.detail != _title(status) else _default_detail(status)
        headers = dict(exc.headers or {})
    else:
        status, slug, title = 500, "internal-error", "Internal Server Error"
        detail = "an unexpected error occurred; quote the request_id when reporting it"
        log.exception("unhandled error", extra={"path": request.url.path}, exc_info=exc)
    problem = build(
        status,
        detail,
        instance=request.url.path,
        request_id=rid,
        slug=slug,
        title=title,
        errors=errors,
        retry_after=retry_after,
    )
    return Response(content=encode(problem), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _is_unstorable_text(exc: Exception) -> bool:
    """JSON may carry ``\\u0000`` and lone surrogates (``\\ud800``); neither can be encoded as UTF-8 or stored
    in PostgreSQL text, wherever in a request they end up."""
    if isinstance(exc, UnicodeEncodeError):
        return True
    return isinstance(exc, (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError))


def _default_detail(status: int) -> str:
    return {
        401: "authenticate with a session cookie or an API key",
        403: "your role or API key scopes do not allow this",
        404: "nothing here; check the path and the id",
        405: "this path does not support the method",
        413: "the request body is too large",
        415: "send the body as application/json",
        429: "too many requests; see Retry-After",
        503: "a dependency is unavailable; try again shortly",
    }.get(status, _title(status).lower())


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response entries documenting ``statuses`` as problem+json."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_title(status),
            generate_examples=False,
        )
        for status in statuses
    }


COMMON: Final = (400, 401, 403, 413, 415, 429, 500)
"""Problems any authenticated /v1 route can answer with."""
