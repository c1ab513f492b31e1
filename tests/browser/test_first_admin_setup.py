"""A first run: `etsygen dev` with no account prints a one-time setup link; following it in Chromium creates
the first admin and signs in; the same link does not work a second time."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from browser_kit import chromium

from etsygen_common.devstack import free_port
from etsygen_common.testing.dev_stack import SETUP_LINK, DevStack

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]


async def test_the_printed_setup_link_creates_the_first_admin_in_the_browser_once(tmp_path: Path) -> None:
    from playwright.async_api import expect

    stack = DevStack(tmp_path / "data", free_port(), tmp_path / "dev.log")
    stack.start()
    try:
        stack.wait_ready()
        link = stack.wait_for(SETUP_LINK, 60).group(1)
        async with chromium() as browser:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(link)
            await expect(page.locator("#setup-expiry")).to_contain_text("works once")
            await page.fill("input[name=email]", "first@example.com")
            await page.fill("input[name=password]", "correct horse battery")
            await page.fill("input[name=again]", "correct horse battery")
            await page.screenshot(path=str(tmp_path / "setup.png"), full_page=True)
            await page.click("#setup-form button")
            # Created, signed in, and on the dashboard.
            who = page.locator("#who")
            await expect(who).to_contain_text("first@example.com (admin)", timeout=30_000)
            await page.screenshot(path=str(tmp_path / "after-setup.png"), full_page=True)

            second = await browser.new_page()
            await second.goto(link)
            await expect(second.locator("#setup-title")).to_have_text("This setup link no longer works")
            await expect(second.locator("#setup-intro")).to_contain_text("was used")
            await expect(second.locator("#setup-form")).to_be_hidden()
            await second.screenshot(path=str(tmp_path / "setup-used.png"), full_page=True)
            assert errors == []
        if os.environ.get("ETSYGEN_SCREENSHOTS"):
            for png in tmp_path.glob("*.png"):
                shutil.copy(png, Path(os.environ["ETSYGEN_SCREENSHOTS"]) / png.name)
    finally:
        assert stack.stop() == 0
