"""The dashboard in a real headless Chromium against the real gateway (Postgres, Redis, Kafka): log in,
start a research job, and watch its progress arrive live as pipeline events are projected."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from browser_kit import chromium, running_gateway
from playwright.async_api import expect

from etsygen_common import contracts
from etsygen_common.envelope import wrap
from etsygen_common.kafka import KafkaPublisher
from etsygen_common.runtime import ServiceRuntime
from etsygen_gateway.service_layer.first_admin import create_admin

pytestmark = [pytest.mark.browser, pytest.mark.integration]

KEYWORD = "personalized dog collar"


@pytest.fixture
async def gateway(make_settings: Any, fresh_pg_url: str) -> AsyncIterator[ServiceRuntime]:
    async with running_gateway(make_settings, fresh_pg_url) as runtime:
        yield runtime


def _pipeline_events(job_id: str, owner_id: str) -> list[contracts.Event]:
    return [
        contracts.ListingsScraped(job_id=job_id, owner_id=owner_id, keyword=KEYWORD, total_count=4200),
        contracts.TrendScored(
            job_id=job_id,
            owner_id=owner_id,
            keyword=KEYWORD,
            score=0.81,
            confidence=0.77,
            risk="low",
            factors=[
                contracts.FactorScore(
                    name="price", value=1.0, weight=0.25, input=34.0, input_label="median price (USD)"
                )
            ],
            listing_count=100,
            total_count=4200,
            synthetic=True,
            snapshot_id=str(uuid.uuid4()),
        ),
        contracts.ProductGenerated(
            job_id=job_id,
            owner_id=owner_id,
            keyword=KEYWORD,
            product_id=str(uuid.uuid4()),
            concept=contracts.ProductConcept(
                title="Personalized Dog Collar with Name",
                tags=["dog collar"] * 1,
                description="Handmade collar.\nThis listing was drafted with AI assistance.",
            ),
            price=contracts.PriceSuggestion(
                price=contracts.Money(amount=29.0), band=None, rationale="median"
            ),
            design=contracts.DesignPrompt(prompt="a collar", alt_text="a leather dog collar"),
            validation=contracts.ValidationReport(valid=True),
            evidence=contracts.Evidence(keyword=KEYWORD, score=0.81, risk="low"),
            usage=contracts.ProviderUsage(provider="builtin", model="composer"),
        ),
    ]


async def test_login_start_a_job_and_see_its_progress_live(gateway: ServiceRuntime, tmp_path: Path) -> None:
    admin = await create_admin(gateway.pool, "owner@example.com", "correct horse battery")
    base = f"http://127.0.0.1:{gateway.port}"
    async with chromium() as browser:
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/dashboard/")
        await page.fill("input[name=email]", "owner@example.com")
        await page.fill("input[name=password]", "wrong password!!")
        await page.click("#login-form button")
        await expect(page.locator("#login-error")).not_to_be_empty()  # a clear error, still on the form

        await page.fill("input[name=password]", "correct horse battery")
        await page.click("#login-form button")
        await expect(page.locator("#who")).to_contain_text("owner@example.com")

        await page.fill("textarea[name=keywords]", KEYWORD)
        await page.click("#job-form button")
        await expect(page.locator("#job-detail")).to_be_visible()
        await expect(page.locator("#job-live")).to_contain_text("live")
        job_id = (await page.locator("#job-id").text_content() or "").strip()
        assert job_id
        await expect(page.locator("#job-keywords tbody tr")).to_have_count(1)

        # The pipeline's events for this job arrive over Kafka; the page updates without a reload.
        publisher = KafkaPublisher(None, gateway.settings.kafka)
        try:
            for event in _pipeline_events(job_id, admin.id):
                await publisher.publish(wrap(event, source="browser-test"))
        finally:
            await publisher.close()
        # The gateway's consumer may still be joining its group on the shared broker (Tansu group
        # joins take seconds, more on a loaded machine): two minutes, as the e2e tests give a job.
        await expect(page.locator("#job-status")).to_have_text("succeeded", timeout=120_000)
        await expect(page.locator("#job-keywords tbody tr td").nth(4)).to_contain_text("succeeded")

        await page.click("button[data-tab=trends]")
        await expect(page.locator("#trends tbody tr")).to_have_count(1)
        await expect(page.locator("#trends tbody")).to_contain_text("synthetic")
        await page.click("#trends tbody tr")
        await expect(page.locator("#factors tbody")).to_contain_text("median price (USD)")

        await page.click("button[data-tab=products]")
        await expect(page.locator("#products tbody")).to_contain_text("Personalized Dog Collar with Name")
        await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        assert errors == []


async def _research(page: Any, publisher: KafkaPublisher, owner_id: str, events: Any) -> str:
    """Start a job for KEYWORD on the page, deliver the pipeline's events for it, wait until it finished."""
    shown = (await page.locator("#job-id").text_content() or "").strip()  # the job shown before, if any
    await page.fill("textarea[name=keywords]", KEYWORD)
    await page.click("#job-form button")
    await expect(page.locator("#job-id")).not_to_have_text(shown or "none")
    await expect(page.locator("#job-id")).not_to_be_empty()
    await expect(page.locator("#job-keywords tbody tr")).to_have_count(1)
    job_id = (await page.locator("#job-id").text_content() or "").strip()
    for event in events(job_id, owner_id):
        await publisher.publish(wrap(event, source="browser-test"))
    # The gateway's consumer may still be joining its group on the shared broker (Tansu group
    # joins take seconds, more on a loaded machine): two minutes, as the e2e tests give a job.
    await expect(page.locator("#job-status")).to_have_text("succeeded", timeout=120_000)
    return job_id


async def test_a_keyword_researched_again_shows_the_existing_product_and_one_trend_row(
    gateway: ServiceRuntime, tmp_path: Path
) -> None:
    admin = await create_admin(gateway.pool, "owner@example.com", "correct horse battery")
    base = f"http://127.0.0.1:{gateway.port}"
    first_events = _pipeline_events("", admin.id)
    product = first_events[2]
    assert isinstance(product, contracts.ProductGenerated)

    def again(job_id: str, owner_id: str) -> list[contracts.Event]:
        scraped, trend, _ = _pipeline_events(job_id, owner_id)
        duplicate = (
            f"near-duplicate of product {product.product_id}: title similarity 1.00, tag similarity 1.00"
        )
        rejected = contracts.ProductRejected(
            job_id=job_id,
            owner_id=owner_id,
            keyword=KEYWORD,
            reason="guard_failed",
            detail=duplicate,
            existing_product_id=product.product_id,
        )
        return [scraped, trend, rejected]

    def first(job_id: str, owner_id: str) -> list[contracts.Event]:
        scraped, trend, _ = _pipeline_events(job_id, owner_id)
        return [scraped, trend, msgspec.structs.replace(product, job_id=job_id)]

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/dashboard/")
        await page.fill("input[name=email]", "owner@example.com")
        await page.fill("input[name=password]", "correct horse battery")
        await page.click("#login-form button")
        await expect(page.locator("#who")).to_contain_text("owner@example.com")

        publisher = KafkaPublisher(None, gateway.settings.kafka)
        try:
            await _research(page, publisher, admin.id, first)
            outcome = page.locator("#job-keywords tbody tr td").nth(5)
            await expect(outcome).to_contain_text("new product")
            await _research(page, publisher, admin.id, again)
        finally:
            await publisher.close()
        # Re-researched: a success that names the product the keyword already has, not a failure.
        await expect(page.locator("#job-keywords tbody tr td").nth(4)).to_contain_text("succeeded")
        await expect(outcome).to_contain_text(f"existing product {product.product_id}")
        await expect(outcome).to_contain_text("title similarity 1.00")
        await page.screenshot(path=str(tmp_path / "job-existing-product.png"), full_page=True)

        await page.click("button[data-tab=trends]")
        await expect(page.locator("#trends tbody tr")).to_have_count(1)
        await expect(page.locator("#trends tbody tr td").nth(4)).to_have_text("2")
        await page.click("#trends tbody tr")
        await expect(page.locator("#trend-history tbody tr")).to_have_count(2)
        await page.screenshot(path=str(tmp_path / "trends-one-row.png"), full_page=True)
        assert errors == []
