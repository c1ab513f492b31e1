"""The Litestar application of the gateway: routes, middleware, problem details, OpenAPI at /schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from litestar import Litestar, Router, route
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.response import Redirect
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router

from etsygen_gateway.api import bodies, live, openapi, problems
from etsygen_gateway.api.access import Access, AccessMiddleware, csrf_cookie, session_cookie
from etsygen_gateway.api.docs import SwaggerDocs
from etsygen_gateway.api.edge import EdgeMiddleware
from etsygen_gateway.api.routes import system
from etsygen_gateway.api.routes.accounts import ApiKeyController, AuthController
from etsygen_gateway.api.routes.admin import AdminController
from etsygen_gateway.api.routes.catalog import ProductController, TrendController
from etsygen_gateway.api.routes.common import CATALOG_STATE, JOBS_STATE
from etsygen_gateway.api.routes.jobs import JobController
from etsygen_gateway.gateway import Gateway

API_DESCRIPTION = """Etsy-Gen finds product opportunities on Etsy and turns them into listing drafts.

Authenticate with an API key (`Authorization: Bearer egk_...` or `X-API-Key`) or a session cookie from
`POST /v1/auth/login` (then send its CSRF token as `X-CSRF-Token` on unsafe requests). Every error is an
RFC 9457 problem (`application/problem+json`). Responses carry `RateLimit-Policy`/`RateLimit` and
`X-RateLimit-*` headers; 429 adds `Retry-After`."""


PACKAGED_DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard"
"""The web dashboard shipped in the package, served at /dashboard unless GATEWAY_STATIC_DIR names another."""


def openapi_config(secure_cookies: bool) -> OpenAPIConfig:
    """OpenAPI 3.1 document at /schema/openapi.json (and .yaml), the interactive docs at /schema."""
    return OpenAPIConfig(
        title="Etsy-Gen API",
        version="1.0.0",
        description=API_DESCRIPTION,
        path="/schema",
        # Litestar's default pages load their renderers from CDNs; this one is served by the gateway.
        render_plugins=[SwaggerDocs(csrf_cookie=csrf_cookie(secure_cookies)), YamlRenderPlugin()],
        use_handler_docstrings=True,
        tags=[
            Tag(name="jobs", description="Research jobs and their progress"),
            Tag(name="trends", description="Scored niches and why they scored so"),
            Tag(name="products", description="Generated product concepts"),
            Tag(name="auth", description="Accounts and sessions"),
            Tag(name="api-keys", description="API keys for programs"),
            Tag(name="admin", description="Operations (admins only)"),
            Tag(name="health", description="Probes and health"),
        ],
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", description="an API key as bearer token"
                ),
                "session": SecurityScheme(
                    type="apiKey", name=session_cookie(secure_cookies), security_scheme_in="cookie"
                ),
            }
        ),
        security=[{"apiKey": []}, {"bearer": []}, {"session": []}],
    )


def create_app(gw: Gateway, *, extra_route_handlers: list[Any] | None = None) -> Litestar:
    """Build the ASGI app over the gateway's parts; ``extra_route_handlers`` mounts more routes (static files
    etc.). Each route is handed the parts it names (see ``api.routes.common``), none the whole gateway."""
    settings = gw.settings.gateway
    # Authentication and rate limits run as the app's before_request hook (one call per HTTP request, no
    # extra middleware layers); WebSocket connections, which have no such hook, get the same check as route
    # middleware.
    access = Access(settings, gw.auth, gw.limiter, gw.tiers, gw.trusted_proxies)
    handlers: list[Any] = [
        AuthController,
        ApiKeyController,
        JobController,
        TrendController,
        ProductController,
        AdminController,
        system.live,
        system.readiness,
        system.health_summary,
        system.metrics,
        live.job_events_sse,
        # WebSockets have no before_request hook: they pass the access check as route middleware.
        Router(
            "/", route_handlers=[live.job_live_ws, live.health_live_ws], middleware=[AccessMiddleware(access)]
        ),
        *(extra_route_handlers or []),
    ]
    dashboard = Path(settings.static_dir) if settings.static_dir else PACKAGED_DASHBOARD
    if (dashboard / "index.html").is_file():
        handlers += [static_files(dashboard), to_dashboard]
    app = Litestar(
        route_handlers=handlers,
        dependencies={name: _provide(part) for name, part in _parts(gw).items()},
        state=State({CATALOG_STATE: gw.catalog, JOBS_STATE: gw.jobs}),
        before_request=access.check,
        request_class=bodies.StrictJsonRequest,
        exception_handlers={Exception: problems.handle_exception},
        openapi_config=openapi_config(settings.cookie_secure),
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        debug=False,
    )
    _allow_every_method(app)
    openapi.complete_when_built(app)
    # The edge wraps Litestar's router, so it sees every request, also those no route matches.
    app.asgi_handler = cast(
        Any,
        EdgeMiddleware(
            app.asgi_handler, max_body_bytes=settings.max_body_bytes, hsts_max_age=settings.hsts_max_age_s
        ),
    )
    return app


def _parts(gw: Gateway) -> dict[str, object]:
    """What routes may ask for, by parameter name (the types are in ``api.routes.common``)."""
    return {
        "settings": gw.settings,
        "pool": gw.pool,
        "redis": gw.redis,
        "live": gw.live,
        "passwords": gw.passwords,
        "auth": gw.auth,
        "limiter": gw.limiter,
        "tiers": gw.tiers,
        "health": gw.health,
        "catalog": gw.catalog,
        "jobs": gw.jobs,
    }


def _provide(part: object) -> Provide:
    return Provide(lambda: part, use_cache=True, sync_to_thread=False)


def _allow_every_method(app: Litestar) -> None:
    """Make each path's OPTIONS answer list all of its methods in ``Allow``.

    Litestar 2 creates a path's OPTIONS handler along with the path's first handler, and that handler lists
    the methods of that first route only, so a path with GET and POST answered ``Allow: GET, OPTIONS``
    (litestar-org/litestar#4169, fixed in Litestar 3). A fresh handler from the final route knows them all.
    """
    for http_route in app.routes:
        if not isinstance(http_route, HTTPRoute):
            continue
        stale, _ = http_route.route_handler_map["OPTIONS"]
        if stale.handler_name != "options_handler" or stale.resolve_include_in_schema():
            continue  # a route's own OPTIONS handler
        fresh = http_route.create_options_handler(http_route.path)
        fresh.owner = stale.owner
        fresh.on_registration(app)
        http_route.route_handlers = [fresh if h is stale else h for h in http_route.route_handlers]
        http_route.route_handler_map["OPTIONS"] = (
            fresh,
            fresh.create_kwargs_model(path_parameters=http_route.path_parameters),
        )
    app.asgi_router.construct_routing_trie()


def static_files(directory: Path, path: str = "/dashboard") -> Router:
    """Serve a folder (the web dashboard) at ``path``; index.html answers for the folder itself."""
    return create_static_files_router(
        path=path,
        directories=[directory],
        html_mode=True,
        opt={"rate": "none", "public": True},
        include_in_schema=False,
    )


@route(
    "/",
    http_method=["GET", "HEAD"],  # HEAD too: `curl -I` is how many first look at a URL
    opt={"rate": "none", "public": True},
    include_in_schema=False,
    sync_to_thread=False,
)
def to_dashboard() -> Redirect:
    """The bare host is where a person lands first: send them to the dashboard."""
    return Redirect("/dashboard/")
