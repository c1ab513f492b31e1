"""Helpers shared by the route modules."""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

from litestar import Response
from litestar.di import Dependency
from litestar.enums import MediaType
from litestar.params import SkipValidationMarker

from etsygen_gateway.gateway import Gateway

GW: TypeAlias = Annotated[Gateway, Dependency(kind="named"), SkipValidationMarker()]
"""The gateway, injected by name (and not validated: it is our own object, not request data)."""


def cached_json(data: bytes, status_code: int = 200) -> Response[Any]:
    """Serve JSON bytes from the read cache as they are (they were encoded from the documented view)."""
    return Response(content=data, status_code=status_code, media_type=MediaType.JSON)
