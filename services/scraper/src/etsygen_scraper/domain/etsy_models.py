"""The parts of Etsy Open API v3 resources the scraper reads, as msgspec Structs.

Each Struct mirrors a schema of the pinned OpenAPI document (``components/schemas/<Name>``), keeping only the
fields we use. Unknown fields are ignored, so Etsy adding fields never breaks decoding; a field we rely on
being absent or of the wrong type fails decoding, which the client reports as ``EtsyMalformedResponse``.
Fields the document marks ``nullable`` or that Etsy omits in practice have defaults.
"""

from __future__ import annotations

import msgspec


class EtsyMoney(msgspec.Struct, frozen=True, kw_only=True):
    """``Money``: an integer ``amount`` in minor units of ``currency_code`` over ``divisor``."""

    amount: int
    divisor: int
    currency_code: str


class EtsyShop(msgspec.Struct, frozen=True, kw_only=True):
    """``Shop``: shop-wide figures (the only measured sales number is ``transaction_sold_count``)."""

    shop_id: int
    shop_name: str
    user_id: int | None = None
    title: str | None = None
    url: str | None = None
    currency_code: str | None = None
    created_timestamp: int | None = None
    transaction_sold_count: int = 0
    review_average: float | None = None
    review_count: int | None = None
    num_favorers: int = 0
    listing_active_count: int = 0


class EtsyListingImage(msgspec.Struct, frozen=True, kw_only=True):
    """``ListingImage``: only what a later step may show or reuse."""

    listing_image_id: int
    listing_id: int | None = None
    rank: int | None = None
    url_570xN: str | None = None  # noqa: N815 - Etsy's field name
    url_fullxfull: str | None = None
    alt_text: str | None = None


class EtsyListing(msgspec.Struct, frozen=True, kw_only=True):
    """``ShopListing`` (search results) and ``ShopListingWithAssociations`` (batch results).

    ``views``, ``shop`` and ``images`` are only present on the batch endpoint, and only ``shop``/``images``
    when requested through ``includes``.
    """

    listing_id: int
    shop_id: int
    title: str
    price: EtsyMoney
    user_id: int | None = None
    state: str | None = None
    description: str | None = None
    url: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    materials: list[str] = msgspec.field(default_factory=list)
    taxonomy_id: int | None = None
    num_favorers: int = 0
    quantity: int | None = None
    who_made: str | None = None
    when_made: str | None = None
    original_creation_timestamp: int | None = None
    created_timestamp: int | None = None
    views: int | None = None
    shop: EtsyShop | None = None
    images: list[EtsyListingImage] = msgspec.field(default_factory=list)


class EtsyListingsPage(msgspec.Struct, frozen=True, kw_only=True):
    """``ShopListings`` / ``ShopListingsWithAssociations``; ``count`` is the total matching, not the page."""

    count: int
    results: list[EtsyListing]


class EtsyReview(msgspec.Struct, frozen=True, kw_only=True):
    """``ListingReview``: one transaction review of a listing."""

    listing_id: int
    rating: int
    shop_id: int | None = None
    review: str | None = None
    created_timestamp: int | None = None
    create_timestamp: int | None = None


class EtsyReviewsPage(msgspec.Struct, frozen=True, kw_only=True):
    """``ListingReviews``: ``count`` is the number of reviews matching the filters (e.g. ``min_created``)."""

    count: int
    results: list[EtsyReview]


class EtsyErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """``ErrorSchema``: every Etsy error response carries a human-readable ``error``."""

    error: str


class EtsyOAuthToken(msgspec.Struct, frozen=True, kw_only=True):
    """Response of ``POST /v3/public/oauth/token`` (not in the OpenAPI document; see Etsy's OAuth2 guide).

    ``access_token`` already has the ``<user_id>.`` prefix Etsy expects after ``Bearer``.
    """

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str


class ReviewWindow(msgspec.Struct, frozen=True, kw_only=True):
    """Reviews of one listing created in ``[min_created, max_created]`` (open-ended without a maximum).

    ``count`` is Etsy's exact total in the window; ``ratings`` are those of the first page only (up to 100),
    enough for an average without spending more calls.
    """

    listing_id: int
    min_created: int
    max_created: int | None = None
    count: int
    ratings: list[int] = msgspec.field(default_factory=list)
