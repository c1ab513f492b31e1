"""The synthetic catalogue: deterministic, distinct niches, filters that behave like Etsy's.

Changed on purpose with the hidden truth (issue 14): a search's ``count`` is the number of listings
matching by relevance (no longer a niche's fixed supply), an unknown query finds nothing instead of a niche
derived from its text, descriptions state the item's facts and end with the synthetic label, and demand is
the seed's.
"""

from __future__ import annotations

from etsygen_simulators.etsy import BUILT_IN_PROFILES, Catalogue
from etsygen_simulators.etsy.catalogue import SYNTHETIC_DESCRIPTION
from etsygen_simulators.etsy.truth import market, niche_truth

EPOCH = 1_780_000_000


def test_same_seed_serves_the_same_catalogue() -> None:
    first = Catalogue(seed=3, epoch=EPOCH).search("boho wall art", limit=20, offset=40)
    second = Catalogue(seed=3, epoch=EPOCH).search("boho wall art", limit=20, offset=40)

    assert first == second


def test_another_seed_serves_other_listings() -> None:
    _, first = Catalogue(seed=3, epoch=EPOCH).search("boho wall art", limit=5, offset=0)
    _, second = Catalogue(seed=4, epoch=EPOCH).search("boho wall art", limit=5, offset=0)

    assert [item["price"] for item in first] != [item["price"] for item in second]


def test_at_least_thirty_niches_with_distinct_profiles() -> None:
    keywords = {profile.keyword for profile in BUILT_IN_PROFILES}
    shapes = {(profile.supply, profile.median_price, profile.demand) for profile in BUILT_IN_PROFILES}

    assert len(keywords) >= 30
    assert len(shapes) == len(BUILT_IN_PROFILES)
    assert min(profile.supply for profile in BUILT_IN_PROFILES) < 2_000
    assert max(profile.supply for profile in BUILT_IN_PROFILES) == 50_000


def test_search_count_covers_the_niche_and_pages_are_disjoint() -> None:
    catalogue = Catalogue(epoch=EPOCH)

    count, first = catalogue.search("minimalist gold necklace", limit=100, offset=0)
    _, second = catalogue.search("minimalist gold necklace", limit=100, offset=100)

    assert count >= 0.85 * niche_truth(7, "minimalist gold necklace").listings
    assert len(first) == len(second) == 100
    assert not {item["listing_id"] for item in first} & {item["listing_id"] for item in second}


def test_price_filters_bound_every_result_and_the_count() -> None:
    catalogue = Catalogue(epoch=EPOCH)

    total, _ = catalogue.search("boho wall art", limit=1, offset=0)
    count, page = catalogue.search("boho wall art", limit=100, offset=0, min_price=20, max_price=29.99)

    assert 0 < count < total
    assert all(2_000 <= item["price"]["amount"] <= 2_999 for item in page)


def test_unknown_and_nonsense_queries_find_nothing() -> None:
    catalogue = Catalogue(epoch=EPOCH)

    for query in ("Glow In The Dark   Frisbee", "'; DROP TABLE jobs;--", "مرحبا بالعالم", "asdkjh qwe", "  "):
        assert catalogue.search(query, limit=3, offset=0) == (0, []), query


def test_listing_ids_resolve_back_to_listings_shops_and_reviews() -> None:
    catalogue = Catalogue(epoch=EPOCH)
    _, page = catalogue.search("custom pet portrait", limit=1, offset=0)
    listing_id = page[0]["listing_id"]

    listing = catalogue.listing(listing_id, includes=("Shop", "Images"))
    assert listing is not None
    assert listing["shop"]["shop_id"] == page[0]["shop_id"]
    assert listing["images"]
    assert catalogue.shop(page[0]["shop_id"]) == listing["shop"]
    assert catalogue.listing(123) is None
    reviews = catalogue.reviews(listing_id, limit=5, offset=0)
    assert reviews is not None
    assert reviews[0] > 0


def test_review_window_counts_only_recent_reviews() -> None:
    catalogue = Catalogue(epoch=EPOCH)
    _, page = catalogue.search("custom embroidered sweatshirt", limit=1, offset=0)
    listing_id = page[0]["listing_id"]

    everything = catalogue.reviews(listing_id, limit=100, offset=0)
    recent = catalogue.reviews(listing_id, limit=100, offset=0, min_created=EPOCH - 30 * 86_400)

    assert everything is not None
    assert recent is not None
    assert 0 < recent[0] < everything[0]
    assert all(review["created_timestamp"] >= EPOCH - 30 * 86_400 for review in recent[1])


def test_everything_a_user_could_mistake_for_real_says_synthetic() -> None:
    catalogue = Catalogue(epoch=EPOCH)
    _, page = catalogue.search("tarot card deck", limit=1, offset=0)
    shop = catalogue.shop(page[0]["shop_id"])

    assert page[0]["description"].endswith(SYNTHETIC_DESCRIPTION)
    assert shop is not None
    assert shop["shop_name"].startswith("Synth")
    assert "Synthetic" in shop["title"]
    assert ".invalid" in page[0]["url"]


def test_niches_differ_in_demand_as_the_hidden_truth_says() -> None:
    catalogue = Catalogue(epoch=EPOCH)
    window = EPOCH - 30 * 86_400
    by_demand = sorted(market(7), key=lambda truth: truth.demand)
    low, high = by_demand[0].keyword, by_demand[-1].keyword

    def top_demand(keyword: str) -> int:
        _, page = catalogue.search(keyword, limit=10, offset=0)
        counts = [
            catalogue.reviews(item["listing_id"], limit=1, offset=0, min_created=window) for item in page
        ]
        return sum(found[0] for found in counts if found is not None)

    assert top_demand(high) > 2 * top_demand(low)
