"""The first minutes of a new user in a real headless Chromium against the real gateway: the bare URL leads
to the dashboard, and /schema shows the interactive API docs with nothing loaded from elsewhere and nothing
refused by the page's Content-Security-Policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser_kit import chromium, running_gateway
from playwright.async_api import ConsoleMessage, expect

from etsygen_common.runtime import ServiceRuntime
from etsygen_gateway.service_layer.first_admin import create_admin

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Added before any of the page's scripts run (through the DevTools protocol, which the CSP does not govern):
# every violation the page's CSP reports, also those no console message is printed for.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@pytest.fixture
async def gateway(make_settings: Any, fresh_pg_url: str) -> AsyncIterator[ServiceRuntime]:
    async with running_gateway(make_settings, fresh_pg_url) as runtime:
        yield runtime


async def test_from_the_bare_url_to_the_dashboard_and_to_an_api_key_in_the_offline_docs(
    gateway: ServiceRuntime, tmp_path: Path
) -> None:
    await create_admin(gateway.pool, "owner@example.com", "correct horse battery")
    origin = f"127.0.0.1:{gateway.port}"
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"http://{origin}/")
        assert urlsplit(page.url).path == "/dashboard/"
        await page.fill("input[name=email]", "owner@example.com")
        await page.fill("input[name=password]", "correct horse battery")
        await page.click("#login-form button")
        await expect(page.locator("#who")).to_contain_text("owner@example.com")

        # On to the docs, with the dashboard's session: what the page loads from here on is recorded.
        hosts: set[str] = set()
        refused: list[str] = []
        errors: list[str] = []
        page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

        def on_console(message: ConsoleMessage) -> None:
            if "Refused to" in message.text or "Content Security Policy" in message.text:
                refused.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.add_init_script(RECORD_CSP_VIOLATIONS)

        response = await page.goto(f"http://{origin}/schema")
        assert response is not None
        assert response.status == 200
        assert "'unsafe-eval'" not in response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        await expect(page.locator(".info .title")).to_contain_text("Etsy-Gen API")
        await expect(page.locator(".opblock-tag-section")).to_have_count(7)  # the app's tags
        await page.screenshot(path=str(tmp_path / "api-docs.png"))
        # The operations are rendered from the document: opening one shows its handler's docstring.
        submit = page.locator('.opblock-post:has(.opblock-summary-path[data-path="/v1/jobs"])')
        await submit.locator(".opblock-summary").click()
        await expect(submit.locator(".opblock-description-wrapper").first).to_contain_text(
            "Accept a research job"
        )

        # "Try it out" sends the request from the page (connect-src 'self') with the dashboard's session;
        # docs.js adds the session's CSRF token, which creating a key needs.
        create_key = page.locator('.opblock-post:has(.opblock-summary-path[data-path="/v1/api-keys"])')
        await create_key.locator(".opblock-summary").click()
        await create_key.get_by_role("button", name="Try it out").click()
        await create_key.locator("textarea.body-param__text").fill(
            '{"name": "from the docs", "scopes": ["read"]}'
        )
        await create_key.get_by_role("button", name="Execute").click()
        answer = create_key.locator(".live-responses-table tbody")
        await expect(answer.locator(".response-col_status")).to_have_text("201")
        await expect(answer).to_contain_text('"key": "egk_')

        violations = await page.evaluate("window.__cspViolations")
    assert hosts == {origin}, f"the docs page reached other hosts: {sorted(hosts - {origin})}"
    assert violations == []
    assert refused == []
    assert errors == []
