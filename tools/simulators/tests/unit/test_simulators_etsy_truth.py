"""The hidden truth: a seeded market per seed, and the opportunity defined from it alone."""

from __future__ import annotations

import math

import pytest

from etsygen_simulators.etsy import BUILT_IN_PROFILES, Catalogue
from etsygen_simulators.etsy.__main__ import default_seed
from etsygen_simulators.etsy.truth import (
    acceptance,
    market,
    net_per_order,
    niche_truth,
    opportunity,
)

EPOCH = 1_780_000_000
HELD_OUT = 20_261_207


def test_the_same_seed_draws_the_same_market() -> None:
    market.cache_clear()
    first = market(7)
    market.cache_clear()

    assert market(7) == first
    assert [truth.keyword for truth in first] == [profile.keyword for profile in BUILT_IN_PROFILES]


def test_another_seed_draws_another_market_for_most_niches() -> None:
    pairs = list(zip(market(7), market(HELD_OUT), strict=True))

    assert sum(a.demand != b.demand for a, b in pairs) == len(pairs)
    assert sum(a.sellers != b.sellers for a, b in pairs) >= 0.9 * len(pairs)
    assert sum(a.seller_price != b.seller_price for a, b in pairs) >= 0.9 * len(pairs)
    ranked = [
        sorted(range(len(pairs)), key=lambda i, m=m: m[i].demand) for m in (market(7), market(HELD_OUT))
    ]
    assert ranked[0] != ranked[1]


def test_every_niche_is_a_coherent_market() -> None:
    for truth in market(7) + market(HELD_OUT):
        assert truth.demand > 0
        assert 5 <= truth.sellers <= truth.listings <= 100_000
        assert 0 < truth.accepted_low < truth.accepted_high
        assert 0.05 <= truth.review_rate <= 0.45
        assert 3.8 <= truth.rating <= 5


def test_opportunity_is_demand_shared_with_the_sellers_at_an_accepted_price_less_fees() -> None:
    truth = niche_truth(7, "linen apron")
    found = opportunity(7, "linen apron")

    assert math.isclose(found.monthly_orders, truth.demand / (truth.sellers + 1))
    assert truth.accepted_low <= found.price <= truth.accepted_high
    assert found.net_per_order == net_per_order(found.price) < found.price
    assert math.isclose(found.monthly_net_revenue, found.monthly_orders * found.net_per_order)


def test_more_sellers_for_the_same_demand_is_less_opportunity() -> None:
    ranked = sorted(market(7), key=lambda truth: truth.demand / (truth.sellers + 1))
    low, high = ranked[0].keyword, ranked[-1].keyword

    assert opportunity(7, low).monthly_orders < opportunity(7, high).monthly_orders


def test_prices_outside_what_buyers_accept_lose_demand() -> None:
    truth = niche_truth(7, "handmade ceramic mug")

    assert acceptance(truth, truth.accepted_low) == acceptance(truth, truth.accepted_high) == 1.0
    assert acceptance(truth, truth.accepted_high * 1.5) < 0.5
    assert acceptance(truth, truth.accepted_low / 1.5) < 0.5
    assert acceptance(truth, 0) == 0.0


def test_listings_share_the_niche_demand_and_the_reviews_follow_the_review_rate() -> None:
    catalogue = Catalogue(epoch=EPOCH)
    niche = catalogue.niches[niche_truth(7, "tarot card deck").code]

    assert niche.realised_orders <= niche.truth.demand * 1.2
    assert niche.orders[0] > niche.orders[len(niche.orders) // 2]
    window = EPOCH - 30 * 86_400
    reviews = sum(
        found[0]
        for rank in range(200)
        if (
            found := catalogue.reviews((niche.truth.code << 17) | rank, limit=1, offset=0, min_created=window)
        )
    )
    orders = sum(niche.orders[:200])
    assert catalogue.expected_orders((niche.truth.code << 17) | 3) == niche.orders[3]
    assert catalogue.expected_orders(123) is None
    assert 0.3 * niche.truth.review_rate < reviews / orders < 3 * niche.truth.review_rate


def test_the_seed_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ETSY_SIM_SEED", raising=False)
    assert default_seed() == 7
    monkeypatch.setenv("ETSY_SIM_SEED", "20261207")
    assert default_seed() == 20_261_207
    monkeypatch.setenv("ETSY_SIM_SEED", "seven")
    with pytest.raises(SystemExit, match="ETSY_SIM_SEED must be an integer"):
        default_seed()
