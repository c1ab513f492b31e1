"""A deterministic, seeded synthetic marketplace catalogue, shaped like Etsy Open API v3 resources.

Nothing here is real Etsy data. The seed draws a market (``truth``: each niche's demand, sellers, listings,
price acceptance, review rate), the niche's listings follow from it (``listings``), and a search answers by
relevance (``search``). Every value is derived from the seed, a niche and a rank, so the same seed always
serves the same listings, shops and reviews and nothing needs to be stored: a listing id alone says which
niche and rank it is. Shop names, titles, descriptions, review texts and URLs say "synthetic"; the simulator
also labels every response with ``x-etsygen-synthetic: true``.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import msgspec

from etsygen_simulators.etsy.hashing import mix, normal, unit
from etsygen_simulators.etsy.listings import NicheListings
from etsygen_simulators.etsy.profiles import BUILT_IN_PROFILES
from etsygen_simulators.etsy.search import LISTING_SLOT_BITS, listing_id, matching_listings
from etsygen_simulators.etsy.truth import market
from etsygen_simulators.etsy.vocabulary import SHOP_WORDS, SYNTHETIC_NOTE

SHOP_ID_OFFSET = 1 << 45
"""Shop ids live in their own range so they never equal a listing id."""
DAY = 86_400
SYNTHETIC_HOST = "https://simulator.etsygen.invalid"
SYNTHETIC_DESCRIPTION = SYNTHETIC_NOTE
"""The line every listing's description ends with."""
SHOP_REVIEW_RATE_SPREAD = 0.3
"""Sigma of the log-normal spread of a shop's review rate around its niche's."""

# Salts: one per derived quantity, so values stay independent of each other.
_AGE, _FAV, _SHOP, _REVIEWS, _RATING, _QTY, _VIEWS, _RENEW = 1, 2, 3, 6, 7, 8, 9, 10
_RANK_MASK = (1 << LISTING_SLOT_BITS) - 1


def normalize_keyword(keyword: str) -> str:
    """Lower case, single spaces: searches differing only in those are the same search."""
    return re.sub(r"\s+", " ", keyword.strip().lower())


class Catalogue:
    """The synthetic marketplace of one seed: its niches' listings, shops and reviews, and search.

    Args:
        seed: draws the market and every generated value; the same seed always yields the same catalogue.
        epoch: unix time the catalogue is "as of"; listings are created and reviewed before it.
    """

    def __init__(self, *, seed: int = 7, epoch: int) -> None:
        self.seed = seed
        self.epoch = epoch
        self.niches = {
            truth.code: NicheListings(seed, truth, profile)
            for truth, profile in zip(market(seed), BUILT_IN_PROFILES, strict=True)
        }
        self._matches = lru_cache(maxsize=64)(self._matching)
        self._filtered = lru_cache(maxsize=128)(self._filtered_ids)

    @property
    def built_in_keywords(self) -> list[str]:
        """The niches' keywords."""
        return [profile.keyword for profile in BUILT_IN_PROFILES]

    def _locate(self, ident: int) -> tuple[NicheListings, int] | None:
        niche = self.niches.get(ident >> LISTING_SLOT_BITS)
        rank = ident & _RANK_MASK
        if niche is None or rank >= niche.truth.listings:
            return None
        return niche, rank

    def expected_orders(self, ident: int) -> float | None:
        """Hidden truth: the orders a month listing ``ident`` takes (``None`` for an unknown id). For the
        benchmark's check of sales estimates; the API never shows it."""
        found = self._locate(ident)
        return None if found is None else found[0].orders[found[1]]

    # -- per-listing values ---------------------------------------------------------------------------

    def _age_days(self, code: int, rank: int) -> float:
        # Higher-ranked listings skew older: they had time to collect the sales that rank them.
        return 20 + 1_400 * math.pow(unit(self.seed, code, rank, _AGE), 0.6 + min(rank, 2_000) / 2_000)

    def _shop_review_rate(self, niche: NicheListings, shop_index: int) -> float:
        spread = SHOP_REVIEW_RATE_SPREAD * normal(self.seed, niche.truth.code, shop_index, _REVIEWS, 3)
        return min(0.9, niche.truth.review_rate * math.exp(spread))

    def _monthly_reviews(self, niche: NicheListings, rank: int) -> float:
        return niche.orders[rank] * self._shop_review_rate(niche, niche.shop_index(rank))

    # -- search ---------------------------------------------------------------------------------------

    def _matching(self, keywords: str) -> Sequence[int]:
        return matching_listings(list(self.niches.values()), keywords)

    def _filtered_ids(
        self,
        keywords: str,
        min_cents: int | None,
        max_cents: int | None,
        taxonomy_id: int | None,
        sort_on: str,
        ascending: bool,
    ) -> Sequence[int]:
        kept: list[tuple[int, int, int]] = []  # (id, niche code, rank)
        for ident in self._matches(keywords):
            code, rank = ident >> LISTING_SLOT_BITS, ident & _RANK_MASK
            niche = self.niches[code]
            cents = niche.cents[rank]
            if (
                (min_cents is None or cents >= min_cents)
                and (max_cents is None or cents <= max_cents)
                and (taxonomy_id is None or niche.profile.taxonomy_id == taxonomy_id)
            ):
                kept.append((ident, code, rank))
        if sort_on == "price":
            kept.sort(key=lambda entry: self.niches[entry[1]].cents[entry[2]], reverse=not ascending)
        elif sort_on in ("created", "updated"):
            kept.sort(key=lambda entry: self._age_days(entry[1], entry[2]), reverse=ascending)
        # "score" keeps the relevance order, always best first (Etsy ignores sort_order for score).
        # An array of ids, not a tuple of ints: a cached broad query keeps 8 bytes per listing, not 36.
        return array("q", (entry[0] for entry in kept))

    def search(
        self,
        keyword: str,
        *,
        limit: int,
        offset: int,
        sort_on: str = "score",
        ascending: bool = False,
        min_price: float | None = None,
        max_price: float | None = None,
        taxonomy_id: int | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """``findAllListingsActive``: the total matching and one page of ``ShopListing`` dicts."""
        key = normalize_keyword(keyword)
        min_cents = None if min_price is None else math.ceil(round(min_price * 100, 6))
        max_cents = None if max_price is None else math.floor(round(max_price * 100, 6))
        ids: Sequence[int]
        if min_cents is None and max_cents is None and taxonomy_id is None and sort_on == "score":
            ids = self._matches(key)
        else:
            ids = self._filtered(key, min_cents, max_cents, taxonomy_id, sort_on, ascending)
        page = []
        for ident in ids[offset : offset + limit]:
            found = self._locate(ident)
            if found is not None:
                page.append(self._listing(*found))
        return len(ids), page

    # -- resources ------------------------------------------------------------------------------------

    def listing(self, ident: int, *, includes: Sequence[str] = ()) -> dict[str, Any] | None:
        """``ShopListingWithAssociations`` for the batch endpoint, or ``None`` if the id is unknown."""
        found = self._locate(ident)
        if found is None:
            return None
        niche, rank = found
        code = niche.truth.code
        resource = self._listing(niche, rank)
        favorers = resource["num_favorers"]
        resource.update(
            shipping_profile=None,
            user=None,
            shop=self._shop(niche, niche.shop_index(rank)) if "Shop" in includes else None,
            images=self._images(ident, resource["title"]) if "Images" in includes else [],
            videos=[],
            inventory=None,
            production_partners=[],
            skus=[],
            translations=None,
            views=int(favorers * (12 + 20 * unit(self.seed, code, rank, _VIEWS))) + 15,
        )
        return resource

    def _listing(self, niche: NicheListings, rank: int) -> dict[str, Any]:
        code, profile = niche.truth.code, niche.profile
        ident = listing_id(code, rank)
        shop_id = self._shop_id(code, niche.shop_index(rank))
        created = self.epoch - int(self._age_days(code, rank) * DAY)
        renewed = max(created, self.epoch - int(unit(self.seed, code, rank, _RENEW) * 120 * DAY))
        orders = niche.orders[rank]
        favorers = int(orders * 2.5 * (0.5 + unit(self.seed, code, rank, _FAV)) + 3 * unit(rank, _FAV))
        choice = niche.choice(rank)
        personalizable = bool(profile.personalization)
        return {
            "listing_id": ident,
            "user_id": shop_id - SHOP_ID_OFFSET + 1_000,
            "shop_id": shop_id,
            "title": niche.title(rank),
            "description": niche.description(rank),
            "state": "active",
            "creation_timestamp": renewed,
            "created_timestamp": renewed,
            "ending_timestamp": renewed + 120 * DAY,
            "original_creation_timestamp": created,
            "last_modified_timestamp": renewed,
            "updated_timestamp": renewed,
            "state_timestamp": renewed,
            "quantity": 1 + int(40 * unit(self.seed, code, rank, _QTY)),
            "shop_section_id": None,
            "featured_rank": -1,
            "url": f"{SYNTHETIC_HOST}/listing/{ident}",
            "num_favorers": favorers,
            "non_taxable": False,
            "is_taxable": True,
            "is_customizable": personalizable,
            "is_personalizable": personalizable,
            "personalization_is_required": False,
            "personalization_char_count_max": 40 if personalizable else None,
            "personalization_instructions": f"Tell us {profile.personalization}." if personalizable else None,
            "listing_type": "download" if profile.digital else "physical",
            "tags": niche.tags(choice.form, choice.dropped),
            "materials": niche.materials(rank),
            "shipping_profile_id": None,
            "return_policy_id": None,
            "processing_min": None if profile.digital else 1,
            "processing_max": None if profile.digital else 5,
            "who_made": "i_did",
            "when_made": "made_to_order",
            "is_supply": False,
            "is_private": False,
            "style": [],
            "has_variations": False,
            "should_auto_renew": True,
            "language": "en-US",
            "price": {"amount": niche.cents[rank], "divisor": 100, "currency_code": "USD"},
            "taxonomy_id": profile.taxonomy_id,
        }

    def _images(self, listing_id: int, title: str) -> list[dict[str, Any]]:
        image_id = listing_id * 10 + 1
        base = f"{SYNTHETIC_HOST}/img/{image_id}"
        return [
            {
                "listing_id": listing_id,
                "listing_image_id": image_id,
                "hex_code": None,
                "red": None,
                "green": None,
                "blue": None,
                "hue": None,
                "saturation": None,
                "brightness": None,
                "is_black_and_white": None,
                "creation_tsz": self.epoch - 30 * DAY,
                "created_timestamp": self.epoch - 30 * DAY,
                "rank": 1,
                "url_75x75": f"{base}_75x75.jpg",
                "url_170x135": f"{base}_170x135.jpg",
                "url_570xN": f"{base}_570xN.jpg",
                "url_fullxfull": f"{base}_fullxfull.jpg",
                "full_height": 1000,
                "full_width": 1000,
                "alt_text": f"Synthetic placeholder image for: {title}"[:250],
            }
        ]

    # -- shops ------------------------------------------------------------------------------------------

    @staticmethod
    def _shop_id(code: int, shop_index: int) -> int:
        return SHOP_ID_OFFSET + (code << LISTING_SLOT_BITS) + shop_index + 1

    def shop(self, shop_id: int) -> dict[str, Any] | None:
        """``Shop`` resource, or ``None`` if the id is unknown."""
        local = shop_id - SHOP_ID_OFFSET - 1
        if local < 0:
            return None
        niche = self.niches.get(local >> LISTING_SLOT_BITS)
        index = local & _RANK_MASK
        if niche is None or index >= niche.truth.sellers:
            return None
        return self._shop(niche, index)

    def _shop(self, niche: NicheListings, index: int) -> dict[str, Any]:
        truth = niche.truth
        code = truth.code
        shop_id = self._shop_id(code, index)
        # Listings go to shop int(sellers * u**2): shop k holds this share of them (shop 0 is the biggest).
        share = math.sqrt((index + 1) / truth.sellers) - math.sqrt(index / truth.sellers)
        age_days = 200 + 2_500 * unit(self.seed, code, index, _AGE)
        monthly = niche.realised_orders * share * (0.6 + 0.8 * unit(self.seed, code, index, _SHOP, 1))
        sold = int(monthly * age_days / 30 * 0.6) + 1  # shops grew into their current sales
        review_count = int(sold * self._shop_review_rate(niche, index))
        average = min(5.0, max(1.0, truth.rating + 0.15 * normal(self.seed, code, index, _RATING)))
        first = SHOP_WORDS[mix(self.seed, code, index, _SHOP, 3) % len(SHOP_WORDS)]
        second = SHOP_WORDS[mix(self.seed, code, index, _SHOP, 4) % len(SHOP_WORDS)]
        name = f"Synth{first}{second}{index % 1000}"[:20]
        created = self.epoch - int(age_days * DAY)
        in_niche = max(1, round(truth.listings * share))
        return {
            "shop_id": shop_id,
            "user_id": shop_id - SHOP_ID_OFFSET + 1_000,
            "shop_name": name,
            "create_date": created,
            "created_timestamp": created,
            "title": f"Synthetic shop in the Etsy-Gen simulator ({niche.profile.keyword})",
            "announcement": "This shop is synthetic: generated for demos and tests, not a real Etsy seller.",
            "currency_code": "USD",
            "is_vacation": False,
            "vacation_message": None,
            "sale_message": None,
            "digital_sale_message": None,
            "update_date": self.epoch - DAY,
            "updated_timestamp": self.epoch - DAY,
            "listing_active_count": in_niche + int(20 * unit(self.seed, code, index, _SHOP, 5)),
            "digital_listing_count": in_niche if niche.profile.digital else 0,
            "login_name": name.lower(),
            "accepts_custom_requests": bool(niche.profile.personalization),
            "url": f"{SYNTHETIC_HOST}/shop/{name}",
            "image_url_760x100": None,
            "num_favorers": int(sold * 0.6) + 2,
            "languages": ["en-US"],
            "icon_url_fullxfull": None,
            "transaction_sold_count": sold,
            "shipping_from_country_iso": "US",
            "shop_location_country_iso": "US",
            "review_count": review_count,
            "review_average": round(average, 2) if review_count else None,
        }

    # -- reviews ----------------------------------------------------------------------------------------

    def _review_times(self, niche: NicheListings, rank: int) -> list[int]:
        """Creation times of every review of a listing, newest first."""
        code = niche.truth.code
        age_days = self._age_days(code, rank)
        monthly = self._monthly_reviews(niche, rank)
        total = min(3_000, int(monthly * age_days / 30 + unit(self.seed, code, rank, _REVIEWS, 1)))
        span = age_days * DAY
        times = [self.epoch - int(span * unit(self.seed, code, rank, _REVIEWS, 2, n)) for n in range(total)]
        times.sort(reverse=True)
        return times

    def _rating(self, niche: NicheListings, rank: int, n: int) -> int:
        # 1-3 stars 5 % of the time; the 4/5 split sets the mean to the niche's rating.
        roll = unit(self.seed, niche.truth.code, rank, _RATING, n)
        four_share = min(0.95, max(0.0, 4.87 - niche.truth.rating))
        if roll < 0.01:
            return 1
        if roll < 0.02:
            return 2
        if roll < 0.05:
            return 3
        return 4 if roll < 0.05 + four_share else 5

    def reviews(
        self,
        ident: int,
        *,
        limit: int,
        offset: int,
        min_created: int | None = None,
        max_created: int | None = None,
    ) -> tuple[int, list[dict[str, Any]]] | None:
        """``getReviewsByListing``: total in the window and one page of ``ListingReview`` dicts."""
        found = self._locate(ident)
        if found is None:
            return None
        niche, rank = found
        shop_id = self._shop_id(niche.truth.code, niche.shop_index(rank))
        window = [
            (n, created)
            for n, created in enumerate(self._review_times(niche, rank))
            if (min_created is None or created >= min_created)
            and (max_created is None or created <= max_created)
        ]
        page = [
            {
                "shop_id": shop_id,
                "listing_id": ident,
                "rating": self._rating(niche, rank, n),
                "review": f"Synthetic review #{n + 1} generated by the Etsy-Gen simulator.",
                "language": "en",
                "image_url_fullxfull": None,
                "create_timestamp": created,
                "created_timestamp": created,
                "update_timestamp": created,
                "updated_timestamp": created,
            }
            for n, created in window[offset : offset + limit]
        ]
        return len(window), page

    def describe(self) -> list[dict[str, Any]]:
        """The niches and their typical figures (not a seed's hidden market), for ``GET /_sim/keywords``."""
        return [msgspec.to_builtins(profile) for profile in BUILT_IN_PROFILES]
