"""Sign-up, login/logout, the caller, and API keys."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from etsygen_gateway.api import problems
from etsygen_gateway.api.access import (
    WWW_AUTHENTICATE,
    RequestBudgets,
    client_of,
    csrf_cookie,
    principal_of,
    session_cookie,
)
from etsygen_gateway.api.routes.common import Auth, Limiter, PasswordHasher, Pool, RateTiers, Settings
from etsygen_gateway.api.schemas import (
    ApiKeyCreate,
    LoginRequest,
    LoginResponse,
    Me,
    SetupLinkStatus,
    SetupRequest,
    SignupRequest,
)
from etsygen_gateway.domain.accounts import normalize_email
from etsygen_gateway.domain.ratelimit import Tiers
from etsygen_gateway.domain.views import ApiKeyList, UserView
from etsygen_gateway.errors import ForbiddenError, UnauthenticatedError
from etsygen_gateway.service_layer import accounts, api_keys, first_admin
from etsygen_gateway.service_layer.api_keys import NewApiKey

AUTH_ERRORS = problems.responses(400, 401, 403, 409, 413, 415, 422, 429, 500)


def _attempts(tiers: Tiers, limiter: Limiter, request: Request[Any, Any, Any], email: str) -> RequestBudgets:
    """The failed-attempt budgets of a sign-up or login: the client IP's and the account's."""
    return RequestBudgets(
        request,
        limiter,
        [
            (tiers.auth_failures_ip, f"ip:{client_of(request)}"),
            (tiers.auth_failures_account, f"account:{normalize_email(email)}"),
        ],
    )


class AuthController(Controller):
    """Accounts and sessions."""

    path = "/v1/auth"
    tags = ("auth",)

    @post(
        "/signup",
        status_code=HTTP_201_CREATED,
        opt={"rate": "auth", "csrf": False, "public": True},
        responses=AUTH_ERRORS,
        security=[],
    )
    async def signup(
        self,
        settings: Settings,
        pool: Pool,
        passwords: PasswordHasher,
        tiers: RateTiers,
        limiter: Limiter,
        request: Request[Any, Any, Any],
        data: JSONBody[SignupRequest],
    ) -> Response[UserView]:
        """Create an account (open sign-up, or with an admin's invitation)."""
        config = settings.gateway
        user = await accounts.signup(
            pool,
            passwords,
            _attempts(tiers, limiter, request, data.email),
            email=data.email,
            password=data.password,
            invitation=data.invitation,
            mode=config.signup_mode,
            role=config.signup_role,
        )
        return Response(user, status_code=HTTP_201_CREATED)

    @get(
        "/setup",
        opt={"rate": "auth", "public": True},
        responses=problems.responses(400, 404, 422, 429, 500),
        security=[],
    )
    async def setup_status(
        self,
        pool: Pool,
        tiers: RateTiers,
        limiter: Limiter,
        request: Request[Any, Any, Any],
        token: Annotated[str, QueryParameter(min_length=1, max_length=200, description="the link's token")],
    ) -> Response[SetupLinkStatus]:
        """Whether a first-admin setup link still works (404 problem when used, expired or replaced)."""
        expires_at = await first_admin.setup_link_expiry(
            pool, _attempts(tiers, limiter, request, "setup-link"), token
        )
        return Response(SetupLinkStatus(expires_at=expires_at))

    @post(
        "/setup",
        status_code=HTTP_201_CREATED,
        opt={"rate": "auth", "csrf": False, "public": True},
        responses=problems.responses(400, 404, 409, 413, 415, 422, 429, 500),
        security=[],
    )
    async def setup(
        self,
        pool: Pool,
        passwords: PasswordHasher,
        tiers: RateTiers,
        limiter: Limiter,
        request: Request[Any, Any, Any],
        data: JSONBody[SetupRequest],
    ) -> Response[UserView]:
        """Create the first admin with the one-time setup link that ``etsygen dev`` prints (works once)."""
        user = await first_admin.complete_setup(
            pool,
            passwords,
            _attempts(tiers, limiter, request, "setup-link"),
            token=data.token,
            email=data.email,
            password=data.password,
        )
        return Response(user, status_code=HTTP_201_CREATED)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        opt={"rate": "auth", "csrf": False, "public": True},
        responses=AUTH_ERRORS,
        security=[],
    )
    async def login(
        self,
        settings: Settings,
        pool: Pool,
        passwords: PasswordHasher,
        tiers: RateTiers,
        limiter: Limiter,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginRequest],
    ) -> Response[LoginResponse]:
        """Open a session: an HttpOnly session cookie plus a CSRF token (body and readable cookie)."""
        config = settings.gateway
        session = await accounts.login(
            pool,
            passwords,
            _attempts(tiers, limiter, request, data.email),
            email=data.email,
            password=data.password,
            ttl_s=config.session_ttl_s,
            client_ip=client_of(request),
            user_agent=request.headers.get("user-agent"),
        )
        secure = config.cookie_secure
        body = LoginResponse(
            user=UserView(
                id=session.id, email=session.email, role=session.role, created_at=session.created_at
            ),
            csrf_token=session.csrf_token,
            expires_at=session.expires_at,
        )
        return Response(
            body,
            cookies=[
                Cookie(
                    key=session_cookie(secure),
                    value=session.token,
                    path="/",
                    max_age=config.session_ttl_s,
                    httponly=True,
                    secure=secure,
                    samesite="strict",
                ),
                Cookie(
                    key=csrf_cookie(secure),
                    value=session.csrf_token,
                    path="/",
                    max_age=config.session_ttl_s,
                    httponly=False,
                    secure=secure,
                    samesite="strict",
                ),
            ],
        )

    @post("/logout", status_code=HTTP_204_NO_CONTENT, responses=problems.responses(401, 403, 429, 500))
    async def logout(
        self, settings: Settings, pool: Pool, auth: Auth, request: Request[Any, Any, Any]
    ) -> Response[None]:
        """End the session and clear its cookies."""
        principal = principal_of(request)
        secure = settings.gateway.cookie_secure
        if principal.method != "session":
            raise ForbiddenError("logout ends a session; revoke API keys instead")
        token = request.cookies.get(session_cookie(secure))
        if token:
            await accounts.logout(pool, auth, token)
        return Response(
            None,
            status_code=HTTP_204_NO_CONTENT,
            cookies=[
                Cookie(
                    key=session_cookie(secure), value="", path="/", max_age=0, secure=secure, httponly=True
                ),
                Cookie(key=csrf_cookie(secure), value="", path="/", max_age=0, secure=secure),
            ],
        )

    @get("/me", responses=problems.responses(401, 429, 500))
    async def me(self, request: Request[Any, Any, Any]) -> Me:
        """Who the credentials belong to."""
        principal = request.scope.get("user")
        if principal is None:
            raise UnauthenticatedError(
                "authenticate with a session cookie or an API key", headers=WWW_AUTHENTICATE
            )
        p = principal_of(request)
        return Me(
            user_id=p.user_id,
            email=p.email,
            role=p.role,
            method=p.method,
            scopes=sorted(p.scopes),
            api_key_id=p.key_id,
        )


class ApiKeyController(Controller):
    """The caller's API keys (managed with a session, or with an admin-scoped key)."""

    path = "/v1/api-keys"
    tags = ("api-keys",)
    opt = {"requires": "read"}  # noqa: RUF012 - Litestar reads (and merges) layer options

    @staticmethod
    def _managing(request: Request[Any, Any, Any]) -> Any:
        principal = principal_of(request)
        if principal.method == "api_key" and not principal.allows("admin"):
            raise ForbiddenError("API keys are managed with a session (or an API key with the admin scope)")
        return principal

    @get("/", responses=problems.responses(401, 403, 429, 500))
    async def list_keys(self, pool: Pool, request: Request[Any, Any, Any]) -> ApiKeyList:
        """The caller's keys (metadata only; secrets are never shown again)."""
        return await api_keys.list_api_keys(pool, principal_of(request))

    @post("/", status_code=HTTP_201_CREATED, responses=problems.responses(*problems.COMMON, 422))
    async def create_key(
        self, pool: Pool, request: Request[Any, Any, Any], data: JSONBody[ApiKeyCreate]
    ) -> NewApiKey:
        """Issue a key; its secret is in ``key`` and shown this once."""
        principal = self._managing(request)
        return await api_keys.create_api_key(
            pool,
            principal,
            name=data.name,
            scopes=list(data.scopes),
            expires_in_days=data.expires_in_days,
        )

    @delete(
        "/{key_id:uuid}", status_code=HTTP_204_NO_CONTENT, responses=problems.responses(*problems.COMMON, 404)
    )
    async def revoke_key(
        self,
        pool: Pool,
        auth: Auth,
        request: Request[Any, Any, Any],
        key_id: Annotated[UUID, PathParameter(description="key id")],
    ) -> None:
        """Revoke a key at once (other gateway processes stop accepting it within the auth cache time)."""
        principal = self._managing(request)
        await api_keys.revoke_api_key(pool, auth, principal, str(key_id))
