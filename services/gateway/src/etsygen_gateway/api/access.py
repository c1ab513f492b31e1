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
together), ``replay``, ``auth`` (every request per client IP, the flood limit; the auth handlers add the
failed-attempt budgets themselves) or ``none``. The budget is the API key's, else the user's, else the
client IP's. A handler that learns more about what a request costs (a sign-in that fails, a job that may
generate concepts) spends further budgets through :class:`RequestBudgets`, and the response's headers
describe every tier the request was checked against. Routes with ``opt["public"]`` (probes, metrics,
sign-up, login) ignore credentials altogether.
"""

from __future__ import annotations

import hmac
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from etsygen_gateway.adapters.limiter import RateLimiter
from etsygen_gateway.api.edge import RESPONSE_HEADERS
from etsygen_gateway.domain.accounts import Principal
from etsygen_gateway.domain.accounts import Scope as ApiScope
from etsygen_gateway.domain.network import Network, client_ip
from etsygen_gateway.domain.ratelimit import (
    Decision,
    Tier,
    Tiers,
    describe_wait,
    encoded_headers,
    headers_for,
    merge,
)
from etsygen_gateway.errors import ForbiddenError, RateLimitedError, UnauthenticatedError
from etsygen_gateway.service_layer.authentication import Authenticator
from etsygen_gateway.settings import GatewaySection

CSRF_HEADER: Final = "x-csrf-token"
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_UNLIMITED: Final = frozenset({"none"})
"""Tiers the access check does not spend."""
RATE_DECISION: Final = "rate_decision"
"""Key in ``scope["state"]``: the rate-limit decision the response's headers describe."""
WWW_AUTHENTICATE: Final = {"WWW-Authenticate": 'Bearer realm="etsygen", charset="UTF-8"'}


def session_cookie(secure: bool) -> str:
    """Name of the session cookie (``__Host-`` pins it to this host, HTTPS and path /)."""
    return "__Host-etsygen_session" if secure else "etsygen_session"


def csrf_cookie(secure: bool) -> str:
    """Name of the readable CSRF cookie."""
    return "__Host-etsygen_csrf" if secure else "etsygen_csrf"


_WANTED: Final = {
    name.encode(): name
    for name in ("authorization", "x-api-key", "cookie", "x-forwarded-for", "origin", "host", CSRF_HEADER)
}
"""The request headers this module reads, by their raw name."""


def _headers(scope: Scope) -> dict[str, str]:
    """The request headers this module reads (the ASGI spec has servers deliver names in lower case)."""
    wanted = _WANTED
    return {wanted[key]: value.decode("latin-1") for key, value in scope["headers"] if key in wanted}


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


class Access:
    """Authenticates, checks CSRF, and applies the route's rate-limit tier.

    HTTP requests pass it as the app's ``before_request`` hook (after routing, so the route's ``opt`` is
    known, and before parameters are parsed); WebSockets through :class:`AccessMiddleware`. A hook costs a
    call where a middleware would add two layers (itself and an exception handler) around every route.
    """

    def __init__(
        self,
        settings: GatewaySection,
        auth: Authenticator,
        limiter: RateLimiter,
        tiers: Tiers,
        trusted_proxies: tuple[Network, ...],
    ) -> None:
        self.auth = auth
        self.limiter = limiter
        self.tiers = tiers
        self.trusted_proxies = trusted_proxies
        self.session_cookie = session_cookie(settings.cookie_secure)
        self.csrf_cookie = csrf_cookie(settings.cookie_secure)
        self.allowed_origins = {o.rstrip("/").lower() for o in settings.allowed_origins}

    async def check(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        """Admit the connection or raise; the caller ends up in ``scope["user"]``.

        This is the app's ``before_request`` hook itself (refusals raise, and the app's exception handler
        answers them), and what :class:`AccessMiddleware` calls for WebSockets.
        """
        scope = connection.scope
        headers = _headers(scope)
        peer = scope.get("client")
        forwarded = headers.get("x-forwarded-for")
        trusted_proxies = self.trusted_proxies
        if forwarded is None or not trusted_proxies:
            client = peer[0] if peer else "unknown"
        else:
            client = client_ip(peer[0] if peer else None, forwarded, trusted_proxies)
        state = scope["state"]
        state["client_ip"] = client
        opt = scope["route_handler"].opt
        # Probes, metrics, sign-up and login ignore credentials: a stale key must not break them.
        principal: Principal | None = None
        rejected = False
        if not opt.get("public"):
            key = _presented_key(scope, headers)
            if key is not None:
                principal = self.auth.known_api_key(key) or await self.auth.api_key(key)
                rejected = principal is None
            else:
                token = _cookies(headers.get("cookie")).get(self.session_cookie)
                if token:
                    principal = await self.auth.session(token)
                    if principal is not None:
                        self._check_csrf_or_origin(scope, headers, principal, opt)
        scope["user"] = principal
        scope["auth"] = principal.method if principal else None
        # The tier applies before authorisation, so refused credentials are limited too.
        tier = opt.get("rate", "api")
        if tier not in _UNLIMITED:
            if tier == "api":  # the default: one tier
                identity = principal.rate_identity if principal else f"ip:{client}"
                checks = [(self.tiers.api, identity)]
            else:
                checks = self._checks(tier, principal, client)
            decision = await self.limiter.check(checks)
            if not decision.allowed:
                name = decision.binding.tier.name if decision.binding else tier
                wait = describe_wait(decision.retry_after_s)
                detail = (
                    f"too many sign-up and sign-in requests from your network address; try again in {wait}"
                    if tier == "auth"
                    else f"rate limit of the {name} tier reached; retry in {decision.retry_after_s} s"
                )
                raise RateLimitedError(detail, headers=dict(headers_for(decision)))
            state[RATE_DECISION] = decision
            extra = encoded_headers(decision)
            if extra:
                # The edge adds these to the response (also to an error response raised from here on).
                state.setdefault(RESPONSE_HEADERS, []).extend(extra)
        required = opt.get("requires")
        if rejected or (required is not None and (principal is None or not principal.allows(required))):
            self._refuse(required, principal, rejected)

    def _checks(self, tier: str, principal: Principal | None, client: str) -> list[tuple[Tier, str]]:
        """The budgets a request to a route of ``tier`` spends: the API key's, the user's, or the IP's."""
        identity = principal.rate_identity if principal else f"ip:{client}"
        tiers = self.tiers
        if tier == "ai":
            return [(tiers.ai, identity), (tiers.api, identity)]
        if tier == "replay":
            return [(tiers.replay, identity), (tiers.api, identity)]
        if tier == "auth":  # sign-up and login are anonymous: the flood limit is the client IP's
            return [(tiers.auth, f"ip:{client}")]
        return [(tiers.api, identity)]

    @staticmethod
    def _refuse(required: ApiScope | None, principal: Principal | None, rejected: bool) -> None:
        """Why the caller may not use the route (its ``opt["requires"]`` scope; checked here because a guard
        would cost a handler copy per request)."""
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
        raise ForbiddenError(f"this needs the {required!r} permission, which your role or API key lacks")

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


class RequestBudgets:
    """Budgets a handler spends itself, once it knows what the request costs.

    The access check spent the route's tier before the handler ran; a handler adds what only it can know: a
    login's claim on the failed-attempt budgets, a job's AI cost. Each call is one atomic limiter decision,
    folded into the request's, so the response (a refusal too) describes every tier once.
    """

    def __init__(
        self,
        connection: ASGIConnection[Any, Any, Any, Any],
        limiter: RateLimiter,
        checks: list[tuple[Tier, str]],
    ) -> None:
        self._state = connection.scope["state"]
        self._limiter = limiter
        self._checks = checks

    @property
    def tiers(self) -> list[Tier]:
        """The tiers these budgets are in."""
        return [tier for tier, _ in self._checks]

    async def spend(self, cost: int = 1) -> Decision:
        """Spend ``cost`` tokens of every budget, or none if any lacks them; the request's decision.

        A refusal is returned, not raised: the caller knows what to tell the person (its
        :class:`RateLimitedError` takes ``headers_for`` the returned decision).
        """
        decision = await self._limiter.check(self._checks, [cost] * len(self._checks))
        return self._fold(decision)

    async def refund(self, cost: int = 1) -> Decision:
        """Give back ``cost`` tokens of every budget (a spend that turned out not to count)."""
        return self._fold(await self._limiter.refund(self._checks, cost))

    def _fold(self, decision: Decision) -> Decision:
        state = self._state
        earlier: Decision | None = state.get(RATE_DECISION)
        lines = state.setdefault(RESPONSE_HEADERS, [])
        if earlier is not None:
            stale = set(encoded_headers(earlier))
            lines[:] = [line for line in lines if line not in stale]
            decision = merge(earlier, decision)
        state[RATE_DECISION] = decision
        if decision.allowed:  # a refusal's lines travel with its error (the edge would add them twice)
            lines.extend(encoded_headers(decision))
        return decision


class AccessMiddleware(ASGIMiddleware):
    """:class:`Access` for WebSocket routes (HTTP routes use the ``before_request`` hook)."""

    scopes = (ScopeType.WEBSOCKET,)

    def __init__(self, access: Access) -> None:
        self.access = access

    def __deepcopy__(self, memo: dict[int, Any]) -> AccessMiddleware:
        # Litestar deep-copies a Router when registering it; the middleware holds the access check (the
        # authenticator's memory, the limiter), which is shared, not copied.
        return self

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        await self.access.check(ASGIConnection(scope))
        await next_app(scope, receive, send)
