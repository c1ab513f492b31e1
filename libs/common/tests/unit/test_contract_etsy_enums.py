"""The contracts' Etsy enumerations are the pinned Etsy OpenAPI document's, value for value and in order."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from etsygen_common.contracts.products import WhenMade, WhoMade


def draft_form_enum(document: dict[str, Any], field: str) -> list[str]:
    """The enum the document declares for one form field of ``createDraftListing``."""
    operations = [
        operation
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and operation.get("operationId") == "createDraftListing"
    ]
    assert len(operations) == 1, "the document should declare createDraftListing once"
    form = operations[0]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    values: list[str] = form["properties"][field]["enum"]
    return values


@pytest.mark.parametrize(
    ("field", "literal"), [("when_made", WhenMade), ("who_made", WhoMade)], ids=["when_made", "who_made"]
)
def test_the_contract_enum_is_the_documents_enum_for_create_draft_listing(
    etsy_openapi: dict[str, Any], field: str, literal: Any
) -> None:
    assert list(get_args(literal)) == draft_form_enum(etsy_openapi, field)
