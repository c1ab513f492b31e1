"""Who is calling and how often: authentication, CSRF protection, and per-route rate limiting.

Credentials, in order: an API key (``Authorization: Bearer egk_...`` or ``X-API-Key``; for WebSockets also
the ``api_key`` query parameter, since browsers cannot set headers there), else the session cookie. A
presented API key that is not valid is refused (401) rather than ignored; a stale session cookie is ignored.

CSRF: a cookie-authenticated request with an unsafe method must echo the session's CSRF token in
``X-CSRF-Token``, equal to the readable CSRF cookie (double submit, bound to the session server-side).
API keys are not sent automatically by browsers, so key-authenticated requests need no token. A
cookie-authenticated WebSocket must come from an allowed Origin (same host, or ``GATEWAY_ALLOWED_ORIGINS``).

Authorisation: a route names the scope it needs in ``opt["requires"]`` (``read``, ``write``, ``generate``,
``admin``; controllers set it for all their routes): no credentials is 401, too few rights 403. Refused
credentials are answered after the rate limit was applied, so guessing keys spends the client's budget.

Rate limits: each route names its tier in ``opt["rate"]``: ``api`` (default), ``ai`` (AI tier and API tier
together), ``replay``, ``auth`` (checked by the auth handlers themselves, per client IP and per account) or
``none``. The budget is the API key's, else the user's, else the client IP's. Routes with
``opt["public"]`` (probes, metrics, sign-up, login) ignore credentials altogether.
"""

from __future__ import annotations

import hmac
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from etsygen_gateway.api.edge import RESPONSE_HEADERS
from etsygen_gateway.domain.accounts import Principal
from etsygen_gateway.domain.accounts import Scope as ApiScope
from etsygen_gateway.domain.network import client_ip
from etsygen_gateway.domain.ratelimit import headers_for
from etsygen_gateway.errors import ForbiddenError, RateLimitedError, UnauthenticatedError
from etsygen_gateway.gateway import Gateway

CSRF_HEADER: Final = "x-csrf-token"
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WWW_AUTHENTICATE: Final = {"WWW-Authenticate": 'Bearer realm="etsygen", charset="UTF-8"'}


def session_cookie(secure: bool) -> str:
    """Name of the session cookie (``__Host-`` pins it to this host, HTTPS and path /)."""
    return "__Host-etsygen_session" if secure else "etsygen_session"


def csrf_cookie(secure: bool) -> str:
    """Name of the readable CSRF cookie."""
    return "__Host-etsygen_csrf" if secure else "etsygen_csrf"


_WANTED: Final = frozenset(
    {b"authorization", b"x-api-key", b"cookie", b"x-forwarded-for", b"origin", b"host", CSRF_HEADER.encode()}
)


def _headers(scope: Scope) -> dict[str, str]:
    """The request headers this middleware reads (ASGI servers deliver names in lower case)."""
    return {
        k.decode("latin-1").lower(): v.decode("latin-1")
        for k, v in scope.get("headers", ())
        if k.lower() in _WANTED
    }


def _cookies(header: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            out.setdefault(name, value.strip().strip('"'))
    return out


def _presented_key(scope: Scope, headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    if "x-api-key" in headers:
        return headers["x-api-key"].strip()
    if scope["type"] == ScopeType.WEBSOCKET:
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("api_key")
        if values:
            return values[0]
    return None


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller (routes behind a guard always have one)."""
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal):
        raise UnauthenticatedError(
            "authenticate with a session cookie or an API key", headers=WWW_AUTHENTICATE
        )
    return principal


def client_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client IP the access middleware resolved."""
    return str(connection.scope.get("state", {}).get("client_ip", "unknown"))


class AccessMiddleware(ASGIMiddleware):
    """Authenticates, checks CSRF, and applies the route's rate-limit tier."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        settings = gateway.settings.gateway
        self.session_cookie = session_cookie(settings.cookie_secure)
        self.csrf_cookie = csrf_cookie(settings.cookie_secure)
        self.allowed_origins = {o.rstrip("/").lower() for o in settings.allowed_origins}

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = _headers(scope)
        peer = scope.get("client")
        client = client_ip(peer[0] if peer else None, headers.get("x-forwarded-for"), self.gw.trusted_proxies)
        state = scope.setdefault("state", {})
        state["client_ip"] = client
        opt = scope["route_handler"].opt
        # Probes, metrics, sign-up and login ignore credentials: a stale key must not break them.
        principal, rejected = (None, False) if opt.get("public") else await self._authenticate(scope, headers)
        scope["user"] = principal
        scope["auth"] = principal.method if principal else None
        if principal is not None and principal.method == "session":
            self._check_csrf_or_origin(scope, headers, principal, opt)
        extra = await self._spend(opt.get("rate", "api"), principal, client)
        if extra:
            # The edge adds these to the response (also to an error response raised from here on).
            state.setdefault(RESPONSE_HEADERS, []).extend((k.encode(), v.encode()) for k, v in extra)
        self._authorize(opt.get("requires"), principal, rejected)
        await next_app(scope, receive, send)

    async def _spend(self, tier: str, principal: Principal | None, client: str) -> list[tuple[str, str]]:
        """Apply the route's tier (before authorisation, so refused credentials are limited too)."""
        if tier in ("none", "auth"):
            return []
        identity = principal.rate_identity if principal else f"ip:{client}"
        tiers = self.gw.tiers
        checks = {
            "ai": [(tiers.ai, identity), (tiers.api, identity)],
            "replay": [(tiers.replay, identity), (tiers.api, identity)],
        }.get(tier, [(tiers.api, identity)])
        decision = await self.gw.limiter.check(checks)
        extra = headers_for(decision)
        if not decision.allowed:
            name = decision.binding.tier.name if decision.binding else tier
            raise RateLimitedError(
                f"rate limit of the {name} tier reached; retry in {decision.retry_after_s} s",
                headers=dict(extra),
            )
        return extra

    @staticmethod
    def _authorize(required: ApiScope | None, principal: Principal | None, rejected: bool) -> None:
        """The route's ``opt["requires"]`` scope (a guard would cost a handler copy per request)."""
        if rejected:
            raise UnauthenticatedError(
                "the API key is not valid (unknown, revoked or expired)", headers=WWW_AUTHENTICATE
            )
        if required is None:
            return
        if principal is None:
            raise UnauthenticatedError(
                "authenticate with a session cookie or an API key", headers=WWW_AUTHENTICATE
            )
        if not principal.allows(required):
            raise ForbiddenError(f"this needs the {required!r} permission, which your role or API key lacks")

    async def _authenticate(self, scope: Scope, headers: dict[str, str]) -> tuple[Principal | None, bool]:
        """The caller, and whether a presented API key was refused."""
        key = _presented_key(scope, headers)
        if key is not None:
            principal = await self.gw.auth.api_key(key)
            return principal, principal is None
        token = _cookies(headers.get("cookie")).get(self.session_cookie)
        if token:
            return await self.gw.auth.session(token), False
        return None, False

    def _check_csrf_or_origin(
        self, scope: Scope, headers: dict[str, str], principal: Principal, opt: dict[str, Any]
    ) -> None:
        if scope["type"] == ScopeType.WEBSOCKET:
            if not self._origin_allowed(headers):
                raise ForbiddenError("cookie-authenticated WebSockets must come from this site's origin")
            return
        if scope["method"] not in UNSAFE_METHODS or opt.get("csrf") is False:
            return
        sent = headers.get(CSRF_HEADER, "")
        cookie = _cookies(headers.get("cookie")).get(self.csrf_cookie, "")
        expected = principal.csrf_token or ""
        if (
            not sent
            or not expected
            or not hmac.compare_digest(sent, expected)
            or not hmac.compare_digest(sent, cookie)
        ):
            raise ForbiddenError(
                "CSRF check failed: send the csrf token from login in the X-CSRF-Token header"
            )

    def _origin_allowed(self, headers: dict[str, str]) -> bool:
        origin = headers.get("origin")
        if not origin:
            return False
        origin = origin.rstrip("/").lower()
        if origin in self.allowed_origins:
            return True
        return urlsplit(origin).netloc == headers.get("host", "").lower()
