"""What an Etsy draft listing is created with, read from a stored product."""

from __future__ import annotations

from typing import Any

from etsygen_common.contracts import ProductGenerated


def draft_fields(product: ProductGenerated, *, default_taxonomy_id: int) -> dict[str, Any]:
    """The ``createDraftListing`` form fields for ``product``: one item, not a supply; its own taxonomy when
    the concept names one, else ``default_taxonomy_id``; materials and styles only when there are some."""
    concept = product.concept
    fields: dict[str, Any] = {
        "quantity": 1,
        "title": concept.title,
        "description": concept.description,
        "price": f"{product.price.price.amount:.2f}",
        "who_made": concept.who_made,
        "when_made": concept.when_made,
        "taxonomy_id": concept.taxonomy_id or default_taxonomy_id,
        "tags": concept.tags,
        "is_supply": "false",
    }
    if concept.materials:
        fields["materials"] = concept.materials
    if concept.styles:
        fields["styles"] = concept.styles
    return fields
