"""A first run: `etsygen dev` with no account prints a one-time setup link; following it in Chromium creates
the first admin and signs in; the same link does not work a second time."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etsygen_common.devstack import free_port, stop_process

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SETUP_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/dashboard/setup\?token=[A-Za-z0-9_\-]+)")


def _dev_env() -> dict[str, str]:
    """The environment of a newcomer's shell: no stack settings, so `etsygen dev` starts its stand-ins."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "KAFKA_", "ETSY_", "GATEWAY_"))
    }


def _wait_for(log: Path, pattern: re.Pattern[str], proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.search(log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if proc.poll() is not None:
            pytest.fail(f"etsygen dev exited ({proc.returncode}):\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.5)
    pytest.fail(f"no setup link within {timeout} s:\n{log.read_text(errors='replace')[-4000:]}")


async def test_the_printed_setup_link_creates_the_first_admin_in_the_browser_once(tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.fail(
            "Chromium is needed for the browser tests: apt-get install chromium (or set CHROMIUM_PATH)"
        )
    from playwright.async_api import async_playwright, expect

    log = tmp_path / "dev.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "etsygen_cli.main",
                "dev",
                "--data-dir",
                str(tmp_path / "data"),
                "--gateway-port",
                str(free_port()),
            ],
            env=_dev_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        link = _wait_for(log, SETUP_LINK, proc, 240)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
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
                await expect(second.locator("#setup-intro")).to_contain_text("was used")
                await expect(second.locator("#setup-form")).to_be_hidden()
                await second.screenshot(path=str(tmp_path / "setup-used.png"), full_page=True)
                assert errors == []
            finally:
                await browser.close()
        if os.environ.get("ETSYGEN_SCREENSHOTS"):
            for png in tmp_path.glob("*.png"):
                shutil.copy(png, Path(os.environ["ETSYGEN_SCREENSHOTS"]) / png.name)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                stop_process(proc)
