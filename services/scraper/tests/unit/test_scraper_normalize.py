"""Etsy resources to contract samples."""

from __future__ import annotations

import msgspec

from etsygen_common.contracts.base import Money
from etsygen_common.contracts.listings import FetchMetadata, ListingsScraped
from etsygen_scraper.domain.etsy_models import EtsyListing, EtsyMoney, EtsyShop, ReviewWindow
from etsygen_scraper.domain.normalize import (
    KeywordFetch,
    average_rating,
    failed_listings_scraped,
    listing_sample,
    listing_samples,
    money,
    shop_sample,
    to_listings_scraped,
)
from etsygen_scraper.domain.planner import plan_keyword


def a_listing(listing_id: int = 11, **changes: object) -> EtsyListing:
    listing = EtsyListing(
        listing_id=listing_id,
        shop_id=7,
        title="Dainty Gold Necklace",
        price=EtsyMoney(amount=3_450, divisor=100, currency_code="USD"),
        tags=["gold necklace", "dainty chain"],
        taxonomy_id=1218,
        num_favorers=120,
        views=4_000,
        original_creation_timestamp=1_700_000_000,
        created_timestamp=1_760_000_000,
    )
    return msgspec.structs.replace(listing, **changes)


def test_price_is_amount_over_divisor_in_its_currency() -> None:
    assert money(EtsyMoney(amount=3_450, divisor=100, currency_code="EUR")) == Money(
        amount=34.5, currency="EUR"
    )
    assert money(EtsyMoney(amount=1_999, divisor=1_000, currency_code="JPY")).amount == 1.999


def test_zero_divisor_is_read_as_whole_units() -> None:
    assert money(EtsyMoney(amount=12, divisor=0, currency_code="USD")).amount == 12


def test_listing_age_comes_from_original_creation_timestamp() -> None:
    assert listing_sample(a_listing()).created_at == 1_700_000_000
    assert listing_sample(a_listing(original_creation_timestamp=None)).created_at == 1_760_000_000


def test_reviews_not_fetched_stay_unknown_not_zero() -> None:
    sample = listing_sample(a_listing())

    assert sample.reviews_in_window is None
    assert sample.rating is None


def test_windowed_reviews_give_count_and_average_rating() -> None:
    window = ReviewWindow(listing_id=11, min_created=1_760_000_000, count=37, ratings=[5, 4, 5, 5])

    sample = listing_sample(a_listing(), window)

    assert sample.reviews_in_window == 37
    assert sample.rating == 4.75
    assert sample.price == Money(amount=34.5, currency="USD")
    assert sample.tags == ["gold necklace", "dainty chain"]
    assert sample.views == 4_000


def test_window_without_reviews_has_count_zero_and_no_rating() -> None:
    sample = listing_sample(a_listing(), ReviewWindow(listing_id=11, min_created=1, count=0))

    assert sample.reviews_in_window == 0
    assert sample.rating is None
    assert average_rating([]) is None


def test_shop_without_reviews_counts_zero_and_keeps_average_unknown() -> None:
    shop = EtsyShop(shop_id=7, shop_name="SynthShop", transaction_sold_count=320, review_count=None)

    sample = shop_sample(shop)

    assert sample.review_count == 0
    assert sample.review_average is None
    assert sample.transaction_sold_count == 320


def test_listing_samples_attach_reviews_and_drop_duplicates() -> None:
    reviews = {12: ReviewWindow(listing_id=12, min_created=1, count=3, ratings=[5, 5, 4])}

    samples = listing_samples([a_listing(11), a_listing(12), a_listing(11, title="later copy")], reviews)

    assert [sample.listing_id for sample in samples] == [11, 12]
    assert samples[0].title == "Dainty Gold Necklace"
    assert samples[1].reviews_in_window == 3


def test_fetch_becomes_a_listings_scraped_event_that_round_trips() -> None:
    fetch = KeywordFetch(
        keyword="minimalist gold necklace",
        total_count=48_000,
        listings=[listing_sample(a_listing())],
        shops=[shop_sample(EtsyShop(shop_id=7, shop_name="SynthShop"))],
        review_window_days=30,
        fetch=FetchMetadata(api_calls=5, started_at="s", finished_at="f", synthetic=True),
        plan=plan_keyword("minimalist gold necklace", 100, top_n_reviews=1, total_count=48_000),
    )

    event = to_listings_scraped(fetch, job_id="job-1", owner_id="owner-1", scrape_run_id="run-1")
    decoded = msgspec.json.decode(msgspec.json.encode(event), type=ListingsScraped)

    assert decoded == event
    assert decoded.status == "ok"
    assert decoded.total_count == 48_000
    assert decoded.fetch is not None
    assert decoded.fetch.synthetic


def test_failed_fetch_event_carries_the_reason() -> None:
    event = failed_listings_scraped(job_id="j", owner_id="o", keyword="k", error="daily budget exhausted")

    assert event.status == "failed"
    assert event.error == "daily budget exhausted"
    assert event.listings == []
