"""The simulator's createDraftListing takes its who_made/when_made values from the contracts."""

from __future__ import annotations

from typing import get_args

import pytest

from etsygen_common.contracts.products import WhenMade, WhoMade
from etsygen_simulators.etsy.drafts import draft_listing
from etsygen_simulators.etsy.params import BadRequestError


def form(**fields: str) -> dict[str, list[str]]:
    base = {
        "quantity": "1",
        "title": "Linen Apron",
        "description": "A draft.",
        "price": "20",
        "who_made": "i_did",
        "when_made": "made_to_order",
        "taxonomy_id": "1081",
    }
    return {name: [value] for name, value in (base | fields).items()}


@pytest.mark.parametrize("when_made", get_args(WhenMade))
def test_every_contract_when_made_value_makes_a_draft(when_made: str) -> None:
    draft = draft_listing(form(when_made=when_made), listing_id=1, shop_id=2, user_id=3)
    assert draft["when_made"] == when_made


@pytest.mark.parametrize("who_made", get_args(WhoMade))
def test_every_contract_who_made_value_makes_a_draft(who_made: str) -> None:
    draft = draft_listing(form(who_made=who_made), listing_id=1, shop_id=2, user_id=3)
    assert draft["who_made"] == who_made


@pytest.mark.parametrize("when_made", ["2020_2026", "before_2007", "tomorrow"])
def test_a_when_made_value_outside_the_contract_is_a_400(when_made: str) -> None:
    with pytest.raises(BadRequestError, match="when_made must be one of made_to_order, 2020_2025") as caught:
        draft_listing(form(when_made=when_made), listing_id=1, shop_id=2, user_id=3)
    assert caught.value.status == 400
