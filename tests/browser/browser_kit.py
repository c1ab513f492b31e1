"""What the browser tests share: a real gateway (its own fresh database, Redis prefix and topic prefix) and a
headless Chromium that reaches nothing but the addresses a page asks for."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest

from etsygen_common.devstack import free_port
from etsygen_common.runtime import ServiceRuntime
from etsygen_common.settings import PostgresSettings, ServiceSettings
from etsygen_gateway.bootstrap import build_app
from etsygen_gateway.settings import CacheSection, GatewaySection, GatewaySettings, RateLimitSection

if TYPE_CHECKING:
    from playwright.async_api import Browser

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Chromium's own traffic (updates, sync, safe browsing) would hide whether the page reached elsewhere.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@asynccontextmanager
async def running_gateway(make_settings: Callable[..., Any], pg_url: str) -> AsyncIterator[ServiceRuntime]:
    """The gateway service as `etsygen run gateway` starts it, listening on a free port."""
    common = make_settings(
        postgres=PostgresSettings(url=pg_url, pool_min=1, pool_max=5),
        service=ServiceSettings(port=free_port(), shutdown_grace_s=5.0),
    )
    runtime = build_app(
        GatewaySettings(
            common=common, gateway=GatewaySection(), rate=RateLimitSection(), cache=CacheSection()
        )
    )
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Headless Chromium (Debian's), or the test fails naming the package to install."""
    if CHROMIUM is None:
        pytest.fail(
            "Chromium is needed for the browser tests: apt-get install chromium (or set CHROMIUM_PATH)"
        )
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
