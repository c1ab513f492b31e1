"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from etsygen_common.runtime import ServiceRuntime
from etsygen_common.settings import CommonSettings
from etsygen_gateway.bootstrap import build_app as build_gateway
from etsygen_gateway.settings import CacheSection, GatewaySection, GatewaySettings, RateLimitSection


@pytest.fixture
def make_gateway() -> Callable[[CommonSettings], ServiceRuntime]:
    """Build a gateway runtime on ``common`` settings: plain-HTTP cookies, a limit no test reaches."""

    def make(common: CommonSettings) -> ServiceRuntime:
        return build_gateway(
            GatewaySettings(
                common=common,
                gateway=GatewaySection(cookie_secure=False),
                rate=RateLimitSection(api_limit=100_000),
                cache=CacheSection(),
            )
        )

    return make
