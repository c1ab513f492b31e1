"""Errors the gateway's use cases raise; the API turns each into an RFC 9457 problem of its status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class GatewayError(Exception):
    """A request that cannot be served as asked, with a status, a problem type slug and a detail."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad Request"

    def __init__(
        self, detail: str, *, headers: Mapping[str, str] | None = None, extra: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class InvalidRequestError(GatewayError):
    """The request is well-formed but its content is not acceptable."""

    status = 422
    slug = "invalid-request"
    title = "Unprocessable Content"


class UnauthenticatedError(GatewayError):
    """No valid credentials."""

    status = 401
    slug = "unauthenticated"
    title = "Unauthorized"


class ForbiddenError(GatewayError):
    """Valid credentials without the needed role or scope (or a failed CSRF check)."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFoundError(GatewayError):
    """No such resource for this caller (others' resources are not found either)."""

    status = 404
    slug = "not-found"
    title = "Not Found"


class ConflictError(GatewayError):
    """The resource is not in a state that allows the action."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class RateLimitedError(GatewayError):
    """A rate-limit tier is exhausted; headers say when to retry."""

    status = 429
    slug = "rate-limited"
    title = "Too Many Requests"
