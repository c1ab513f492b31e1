"""Helpers shared by the route modules."""

from __future__ import annotations

from typing import Annotated, Any, Final, TypeAlias

from litestar.connection import ASGIConnection
from litestar.di import Dependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import SkipValidationMarker

from etsygen_gateway.gateway import Gateway

GW: TypeAlias = Annotated[Gateway, Dependency(kind="named"), SkipValidationMarker()]
"""The gateway, injected by name (and not validated: it is our own object, not request data)."""

GATEWAY_STATE: Final = "gateway"
"""Key of the gateway in the app's state (see :func:`gateway_of`)."""


def gateway_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Gateway:
    """The gateway, from the app's state.

    The cached reads take it this way rather than as the ``GW`` dependency: resolving a dependency costs a
    cache hit more than the rest of the handler does.
    """
    gateway: Gateway = connection.scope["litestar_app"].state[GATEWAY_STATE]
    return gateway


_JSON: Final = (b"content-type", b"application/json")


class CachedJson:
    """An ASGI response of JSON bytes from the read cache, sent as they are.

    The bytes were encoded from the documented view when they were cached, so there is nothing left to
    serialise: Litestar's ``Response`` would only rebuild the same two headers through its header
    structures on every hit. Routes returning it document their body with :func:`documented`.
    """

    __slots__ = ("body", "status_code")

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.body = body
        self.status_code = status_code

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = self.body
        await send(
            {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": [_JSON, (b"content-length", b"%d" % len(body))],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def cached_json(data: bytes, status_code: int = 200) -> CachedJson:
    """Serve JSON bytes from the read cache as they are (they were encoded from the documented view)."""
    return CachedJson(data, status_code)


def documented(view: type[Any]) -> dict[int, ResponseSpec]:
    """The OpenAPI entry of a :class:`CachedJson` route's 200 response: its body is a ``view``."""
    return {
        200: ResponseSpec(
            data_container=view, description="Request fulfilled, document follows", generate_examples=False
        )
    }
