"""The interactive API docs at /schema: Swagger UI served by the gateway itself.

Litestar's own render plugins load their renderer (and fonts, and a favicon) from CDNs and start it with an
inline script: offline the page stays blank, and a CSP strict enough for a page that can send authenticated
requests forbids both. This page loads a vendored Swagger UI (``docs_assets/``, see its README) and a
served start script from this host only, so the docs pages' CSP (``edge.DOCS_CSP``) allows nothing else.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

if TYPE_CHECKING:
    from litestar.connection import Request
    from litestar.router import Router

DOCS_ASSETS: Final = Path(__file__).resolve().parent / "docs_assets"
"""Swagger UI (vendored; its release and licence are in the folder's README) and the page's own files."""
_ASSETS_ROUTE: Final = "etsygen-docs-assets"


class SwaggerDocs(OpenAPIRenderPlugin):
    """Swagger UI at the OpenAPI root (``/schema``), its files under ``/schema/assets/``."""

    def __init__(self, *, csrf_cookie: str) -> None:
        # The base class's favicon and style are a CDN link and an inline <style>: neither fits the CSP.
        super().__init__(path="/", favicon="", style="")
        self.csrf_cookie = csrf_cookie

    def receive_router(self, router: Router) -> None:
        """Serve the assets beside the page, public and free of rate tiers like the dashboard's files."""
        router.register(
            create_static_files_router(
                path="/assets",
                directories=[DOCS_ASSETS],
                name=_ASSETS_ROUTE,
                opt={"rate": "none", "public": True},
                include_in_schema=False,
            )
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The page: Swagger UI reads the document from ``/schema/openapi.json`` (same origin)."""

        def asset(name: str) -> str:
            return escape(request.app.route_reverse(_ASSETS_ROUTE, file_path=f"/{name}"))

        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        spec_url = escape(self.get_openapi_json_route(request))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{asset("favicon-32x32.png")}">
<link rel="stylesheet" href="{asset("swagger-ui.css")}">
<link rel="stylesheet" href="{asset("docs.css")}">
</head>
<body>
<noscript>The interactive docs need JavaScript; the document itself is at <a href="{spec_url}">{spec_url}</a>.
</noscript>
<div id="swagger-ui" data-spec-url="{spec_url}" data-csrf-cookie="{escape(self.csrf_cookie)}"></div>
<script src="{asset("swagger-ui-bundle.js")}"></script>
<script src="{asset("docs.js")}"></script>
</body>
</html>
""".encode()
