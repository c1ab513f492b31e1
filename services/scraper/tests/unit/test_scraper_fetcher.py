"""fetch_keyword's ordering and budget decisions against a scripted Etsy."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import msgspec
import pytest

from etsygen_common.contracts.listings import ShopSample
from etsygen_scraper.adapters.etsy_client import EtsyClient
from etsygen_scraper.adapters.etsy_errors import EtsyDailyBudgetExhausted
from etsygen_scraper.adapters.fetcher import ETSY_SOURCE, fetch_keyword

NOW = datetime(2026, 3, 1, tzinfo=UTC)
COUNT = 200
LONE_SHOP = 20
"""Shop of listing 3, which the batch returns without its shop association."""


def shop_of(listing_id: int) -> int:
    return LONE_SHOP if listing_id == 3 else 10


def listing(listing_id: int, *, with_shop: bool = False) -> dict[str, object]:
    body: dict[str, object] = {
        "listing_id": listing_id,
        "shop_id": shop_of(listing_id),
        "title": f"Listing {listing_id}",
        "price": {"amount": 2_000 + listing_id, "divisor": 100, "currency_code": "USD"},
        "original_creation_timestamp": 1_700_000_000,
    }
    if with_shop and listing_id != 3:
        body["shop"] = shop(shop_of(listing_id))
    return body


def shop(shop_id: int) -> dict[str, object]:
    return {"shop_id": shop_id, "shop_name": f"Shop{shop_id}", "transaction_sold_count": 10 * shop_id}


class FakeEtsy:
    """200 matching listings; page two repeats listing 100, as Etsy's shifting search results can."""

    def __init__(self, remaining_today: int = 1_000) -> None:
        self.remaining_today = remaining_today
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        self.remaining_today -= 1
        path = request.url.path
        body: object
        if path.endswith("/listings/active"):
            offset = int(request.url.params["offset"])
            ids = range(1, 101) if offset == 0 else range(100, 200)
            body = {"count": COUNT, "results": [listing(i) for i in ids]}
        elif path.endswith("/listings/batch"):
            ids = [int(item) for item in request.url.params["listing_ids"].split(",")]
            body = {"count": len(ids), "results": [listing(i, with_shop=True) for i in ids]}
        elif path.endswith("/reviews"):
            body = {"count": 4, "results": [{"listing_id": 1, "rating": 5}, {"listing_id": 1, "rating": 4}]}
        else:
            body = shop(int(path.rsplit("/", 1)[1]))
        headers = {"x-limit-per-day": "1000", "x-remaining-today": str(max(0, self.remaining_today))}
        return httpx.Response(200, content=msgspec.json.encode(body), headers=headers)


def client_for(fake: FakeEtsy) -> EtsyClient:
    return EtsyClient("k:s", transport=httpx.MockTransport(fake), per_second=1_000)


async def test_fetch_runs_search_batch_reviews_then_missing_shops() -> None:
    fake = FakeEtsy()
    async with client_for(fake) as client:
        result = await fetch_keyword(client, "apron", 500, top_n_reviews=2, now=NOW)

    kinds = [path.rsplit("/", 1)[1] if "shops" not in path else "shop" for path in fake.paths]
    assert kinds == ["active", "active", "batch", "batch", "reviews", "reviews", "shop"]
    assert fake.paths[-1] == f"/v3/application/shops/{LONE_SHOP}"
    assert result.fetch.api_calls == 7
    assert result.fetch.source == ETSY_SOURCE
    assert not result.fetch.synthetic


async def test_a_listing_seen_on_two_pages_is_counted_once() -> None:
    async with client_for(FakeEtsy()) as client:
        result = await fetch_keyword(client, "apron", 500, top_n_reviews=0, now=NOW)

    ids = [sample.listing_id for sample in result.listings]
    assert len(ids) == len(set(ids)) == 199
    assert result.total_count == COUNT
    assert result.fetch.truncated  # 200 match, 199 distinct could be read


async def test_review_window_and_shops_are_normalised() -> None:
    async with client_for(FakeEtsy()) as client:
        result = await fetch_keyword(client, "apron", 500, top_n_reviews=1, now=NOW)

    assert result.listings[0].reviews_in_window == 4
    assert result.listings[0].rating == 4.5
    assert result.listings[1].reviews_in_window is None
    assert [shop.shop_id for shop in result.shops] == [10, LONE_SHOP]
    assert result.shops[1].transaction_sold_count == 200


async def test_known_shops_need_no_call() -> None:
    fake = FakeEtsy()
    known = {LONE_SHOP: ShopSample(shop_id=LONE_SHOP, shop_name="Known")}
    async with client_for(fake) as client:
        result = await fetch_keyword(client, "apron", 500, top_n_reviews=0, now=NOW, known_shops=known)

    assert not [path for path in fake.paths if "/shops/" in path]
    assert result.shops[1].shop_name == "Known"


async def test_exact_plan_is_checked_once_the_first_page_gives_the_count() -> None:
    fake = FakeEtsy(remaining_today=5)
    async with client_for(fake) as client:
        with pytest.raises(EtsyDailyBudgetExhausted, match="needs 5 calls, 4 remain today") as raised:
            await fetch_keyword(client, "apron", 500, top_n_reviews=2, now=NOW)

    assert raised.value.remaining == 4
    assert fake.paths == ["/v3/application/listings/active"]


async def test_a_zero_budget_only_reads_the_count() -> None:
    fake = FakeEtsy()
    async with client_for(fake) as client:
        result = await fetch_keyword(client, "apron", 0, top_n_reviews=5, now=NOW)

    assert result.total_count == COUNT
    assert result.listings == []
    assert len(fake.paths) == 1
