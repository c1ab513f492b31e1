"""``createDraftListing``: Etsy's checks of the form body, and the draft ``ShopListing`` it answers with.

The enumerations are the event contracts' (``WhoMade``, ``WhenMade``), which are the pinned Etsy OpenAPI
document's: the simulator once kept its own copy, and the two lists disagreed.
"""

from __future__ import annotations

import time
from typing import Any, Final, get_args

from etsygen_common.contracts.products import WhenMade, WhoMade
from etsygen_simulators.etsy.catalogue import SYNTHETIC_HOST
from etsygen_simulators.etsy.params import BadRequestError, array_param, to_float, to_int

WHO_MADE: Final[tuple[str, ...]] = get_args(WhoMade)
WHEN_MADE: Final[tuple[str, ...]] = get_args(WhenMade)
DRAFT_REQUIRED = ("quantity", "title", "description", "price", "who_made", "when_made", "taxonomy_id")


def draft_listing(
    form: dict[str, list[str]], *, listing_id: int, shop_id: int, user_id: int
) -> dict[str, Any]:
    """The draft listing a valid form creates; raises ``BadRequestError`` naming the first bad parameter."""
    missing = [name for name in DRAFT_REQUIRED if not form.get(name) or not form[name][0].strip()]
    if missing:
        raise BadRequestError(f"Missing required parameter(s): {', '.join(missing)}")
    quantity = to_int(form["quantity"][0], "quantity", minimum=1)
    taxonomy_id = to_int(form["taxonomy_id"][0], "taxonomy_id", minimum=1)
    price = to_float(form["price"][0], "price")
    if not 0.2 <= price <= 50_000:
        raise BadRequestError("price must be between 0.20 and 50000.00")
    title = form["title"][0]
    if len(title) > 140:
        raise BadRequestError("title must be at most 140 characters")
    who_made, when_made = form["who_made"][0], form["when_made"][0]
    if who_made not in WHO_MADE:
        raise BadRequestError(f"who_made must be one of {', '.join(WHO_MADE)}")
    if when_made not in WHEN_MADE:
        raise BadRequestError(f"when_made must be one of {', '.join(WHEN_MADE)}")
    tags = array_param(form, "tags")
    if len(tags) > 13 or any(len(tag) > 20 for tag in tags):
        raise BadRequestError("tags: at most 13, each at most 20 characters")
    listing_type = form.get("type", ["physical"])[0]
    if listing_type not in ("physical", "download", "both"):
        raise BadRequestError("type must be one of physical, download, both")
    now = int(time.time())
    return {
        "listing_id": listing_id,
        "user_id": user_id,
        "shop_id": shop_id,
        "title": title,
        "description": form["description"][0],
        "state": "draft",
        "creation_timestamp": now,
        "created_timestamp": now,
        "ending_timestamp": now + 120 * 86_400,
        "original_creation_timestamp": now,
        "last_modified_timestamp": now,
        "updated_timestamp": now,
        "state_timestamp": now,
        "quantity": quantity,
        "shop_section_id": None,
        "featured_rank": -1,
        "url": f"{SYNTHETIC_HOST}/listing/{listing_id}",
        "num_favorers": 0,
        "is_taxable": True,
        "is_customizable": False,
        "is_personalizable": False,
        "listing_type": listing_type,
        "tags": tags,
        "materials": array_param(form, "materials"),
        "who_made": who_made,
        "when_made": when_made,
        "is_supply": form.get("is_supply", ["false"])[0] == "true",
        "is_private": False,
        "style": array_param(form, "styles"),
        "has_variations": False,
        "should_auto_renew": False,
        "language": "en-US",
        "price": {"amount": round(price * 100), "divisor": 100, "currency_code": "USD"},
        "taxonomy_id": taxonomy_id,
    }
