"""The real Etsy client against the simulator: data, pacing, retries, rate limits and typed errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from etsygen_scraper.adapters.etsy_client import EtsyClient
from etsygen_scraper.adapters.etsy_errors import (
    EtsyAuthError,
    EtsyInvalidRequest,
    EtsyMalformedResponse,
    EtsyNotFound,
    EtsyRateLimited,
    EtsyUnavailable,
)
from etsygen_scraper.adapters.fetcher import SIMULATOR_SOURCE, fetch_keyword
from etsygen_scraper.domain.normalize import to_listings_scraped
from etsygen_scraper.domain.planner import SLICE_REACH
from etsygen_simulators.etsy import RunningSimulator, SimulatorConfig, running_simulator


def catalogue_count(sim: RunningSimulator, keyword: str) -> int:
    """What the simulator's catalogue matches for ``keyword`` (its count is by relevance, seed-drawn)."""
    count, _ = sim.state.catalogue.search(keyword, limit=1, offset=0)
    return count


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator(SimulatorConfig(per_second=10, per_day=10_000)) as running:
        yield running


@pytest.fixture
async def client(sim: RunningSimulator) -> AsyncIterator[EtsyClient]:
    async with EtsyClient("app:secret", base_url=sim.base_url, backoff_base_s=0.05) as etsy:
        yield etsy


async def test_fetch_keyword_returns_synthetic_contract_ready_data(
    sim: RunningSimulator, client: EtsyClient
) -> None:
    result = await fetch_keyword(client, "minimalist gold necklace", 250, top_n_reviews=10)

    assert result.total_count == catalogue_count(sim, "minimalist gold necklace") > 12_000
    assert len(result.listings) == 250
    assert len({listing.listing_id for listing in result.listings}) == 250
    assert all(listing.views is not None for listing in result.listings)
    assert [listing.reviews_in_window is not None for listing in result.listings] == [True] * 10 + [
        False
    ] * 240
    assert {listing.shop_id for listing in result.listings} == {shop.shop_id for shop in result.shops}
    assert result.plan.describe() == "3 search + 3 batch + 10 reviews + 0 shops = 16 calls"
    assert result.fetch.api_calls == 16 == sim.stats()["accepted"]
    assert result.fetch.synthetic
    assert result.fetch.source == SIMULATOR_SOURCE
    assert not result.fetch.truncated

    event = to_listings_scraped(result, job_id="job-1", owner_id="owner-1")
    assert event.status == "ok"
    assert event.total_count == result.total_count


async def test_small_niche_reads_everything_there_is(sim: RunningSimulator, client: EtsyClient) -> None:
    result = await fetch_keyword(client, "cat tree furniture", 5_000, top_n_reviews=3)

    count = catalogue_count(sim, "cat tree furniture")
    assert 100 < count < 5_000
    assert result.total_count == count
    assert len(result.listings) == count
    assert result.plan.search_calls == -(-count // 100)


async def test_shops_come_with_the_batch_without_extra_calls(
    sim: RunningSimulator, client: EtsyClient
) -> None:
    result = await fetch_keyword(client, "axolotl plush", 100, top_n_reviews=0)

    assert result.shops
    assert all(shop.shop_name.startswith("Synth") for shop in result.shops)
    assert result.fetch.api_calls == 2
    assert "getShop" not in sim.stats()["by_endpoint"]


async def test_review_window_ends_at_the_given_time(client: EtsyClient) -> None:
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)

    result = await fetch_keyword(client, "tarot card deck", 20, top_n_reviews=5, now=long_ago)

    assert [listing.reviews_in_window for listing in result.listings[:5]] == [0] * 5
    assert all(listing.rating is None for listing in result.listings[:5])


async def test_concurrent_calls_never_exceed_the_per_second_limit(
    sim: RunningSimulator, client: EtsyClient
) -> None:
    page = await client.search_active("custom pet portrait", limit=35)
    started = time.monotonic()

    await asyncio.gather(
        *(client.count_reviews(listing.listing_id, 1_700_000_000) for listing in page.results)
    )

    stats = sim.stats()
    assert stats["accepted"] == 36
    assert stats["rejected_429"] == 0
    assert stats["max_per_second"] <= 10
    assert stats["max_arrivals_per_second"] <= 10
    assert time.monotonic() - started >= 2.5


async def test_retry_after_is_honoured(sim: RunningSimulator, client: EtsyClient) -> None:
    sim.control(force_429=1, retry_after=1)
    started = time.monotonic()

    page = await client.search_active("boho wall art")

    assert time.monotonic() - started >= 1.0
    assert page.count > 0
    assert sim.stats()["rejected_429"] == 1


async def test_retry_after_beyond_the_clients_patience_is_raised(sim: RunningSimulator) -> None:
    sim.control(force_429=1, retry_after=600)
    async with EtsyClient("app:secret", base_url=sim.base_url, max_retry_after_s=5) as impatient:
        with pytest.raises(EtsyRateLimited) as raised:
            await impatient.search_active("boho wall art")

    assert raised.value.retry_after == 600


async def test_server_errors_are_retried(sim: RunningSimulator, client: EtsyClient) -> None:
    sim.control(fail_5xx=2)

    shop_page = await client.search_active("linen apron", limit=1)

    assert shop_page.count == catalogue_count(sim, "linen apron") > 0
    assert sim.stats()["injected_5xx"] == 2
    assert client.requests_sent == 3


async def test_persistent_server_errors_surface_as_unavailable(sim: RunningSimulator) -> None:
    sim.control(fail_5xx=50)
    async with EtsyClient("app:secret", base_url=sim.base_url, max_attempts=3, backoff_base_s=0.01) as etsy:
        with pytest.raises(EtsyUnavailable, match="500 3 times"):
            await etsy.search_active("linen apron")


async def test_malformed_response_is_reported(sim: RunningSimulator, client: EtsyClient) -> None:
    sim.control(malformed=1)

    with pytest.raises(EtsyMalformedResponse, match="EtsyListingsPage"):
        await client.search_active("linen apron")


@pytest.mark.parametrize("api_key", ["keystring-without-secret", "app:", ""])
async def test_bad_key_is_an_auth_error_with_a_fix(sim: RunningSimulator, api_key: str) -> None:
    async with EtsyClient(api_key, base_url=sim.base_url) as etsy:
        with pytest.raises(EtsyAuthError) as raised:
            await etsy.search_active("linen apron")

    assert raised.value.status == 401
    assert "ETSY_API_KEY" in str(raised.value)
    assert "<keystring>:<shared_secret>" in str(raised.value)


async def test_wrong_shared_secret_is_an_auth_error() -> None:
    config = SimulatorConfig(api_keys={"app": "right-secret"})
    async with running_simulator(config) as sim, EtsyClient("app:wrong", base_url=sim.base_url) as etsy:
        with pytest.raises(EtsyAuthError, match="shared secret"):
            await etsy.get_shop(1)


async def test_unknown_resources_are_not_found(client: EtsyClient) -> None:
    with pytest.raises(EtsyNotFound):
        await client.get_shop(1)
    with pytest.raises(EtsyNotFound):
        await client.count_reviews(1, 1_700_000_000)


async def test_offsets_past_etsys_cap_are_invalid(client: EtsyClient) -> None:
    with pytest.raises(EtsyInvalidRequest, match="offset must be at most 12000"):
        await client.search_active("hand poured soy candle", offset=12_100)


async def test_draft_listing_round_trip_with_oauth(client: EtsyClient) -> None:
    token = await client.exchange_authorization_code(
        code="code-from-redirect", code_verifier="v" * 43, redirect_uri="https://localhost/callback"
    )
    refreshed = await client.refresh_access_token(token.refresh_token)
    fields = {
        "quantity": 1,
        "title": "Linen Apron With Pockets",
        "description": "Draft created by a test.",
        "price": 36.5,
        "who_made": "i_did",
        "when_made": "made_to_order",
        "taxonomy_id": 1081,
        "tags": ["linen apron", "kitchen apron"],
    }

    draft = await client.create_draft_listing(42, fields, access_token=refreshed.access_token)

    assert draft.state == "draft"
    assert draft.tags == ["linen apron", "kitchen apron"]
    assert draft.price.amount == 3_650
    with pytest.raises(EtsyAuthError, match="refresh the OAuth access token"):
        await client.create_draft_listing(42, fields, access_token="not-a-token")


@pytest.mark.slow
async def test_deep_search_is_sliced_into_price_bands_without_duplicates() -> None:
    budget = SLICE_REACH + 500
    config = SimulatorConfig(per_second=1_000, per_day=100_000)
    async with (
        running_simulator(config) as sim,
        EtsyClient("app:secret", base_url=sim.base_url, per_second=1_000) as etsy,
    ):
        # A niche whose prices (drawn by the seed) reach below 10 and above 50.
        result = await fetch_keyword(etsy, "minimalist gold necklace", budget, top_n_reviews=5)
        stats = sim.stats()

    ids = [listing.listing_id for listing in result.listings]
    assert result.plan.sliced
    assert len(ids) == len(set(ids)) == budget
    assert result.fetch.api_calls <= result.plan.total_calls
    assert stats["by_endpoint"]["getListingsByListingIds"] == result.plan.batch_calls
    prices = sorted(listing.price.amount for listing in result.listings)
    assert prices[0] < 10 < 50 < prices[-1]
