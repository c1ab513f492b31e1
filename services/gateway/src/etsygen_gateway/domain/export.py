"""CSV export of product concepts for bulk-listing tools, in Etsy's listing columns.

Spreadsheet programs execute cells that start with ``=``, ``+``, ``-``, ``@``, tab or carriage return
(CSV injection), and the text comes from a language model; such cells are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Final

from etsygen_common.contracts import ProductGenerated

COLUMNS: Final = (
    "TITLE",
    "DESCRIPTION",
    "PRICE",
    "CURRENCY_CODE",
    "QUANTITY",
    "TAGS",
    "MATERIALS",
    "STYLES",
    "WHO_MADE",
    "WHEN_MADE",
    "IS_SUPPLY",
    "TAXONOMY_ID",
    "SKU",
    "KEYWORD",
)
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Render a cell so that no spreadsheet evaluates it."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def product_row(product: ProductGenerated, quantity: int = 1) -> list[str]:
    """One product as a row of :data:`COLUMNS`."""
    concept = product.concept
    return [
        safe_cell(concept.title),
        safe_cell(product.concept.description),
        f"{product.price.price.amount:.2f}",
        safe_cell(product.price.price.currency),
        str(quantity),
        safe_cell(",".join(concept.tags)),
        safe_cell(",".join(concept.materials)),
        safe_cell(",".join(concept.styles)),
        concept.who_made,
        concept.when_made,
        "TRUE" if concept.is_supply else "FALSE",
        "" if concept.taxonomy_id is None else str(concept.taxonomy_id),
        safe_cell(product.product_id),
        safe_cell(product.keyword),
    ]


def _line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def header_line() -> str:
    """The CSV header line."""
    return _line(COLUMNS)


def row_line(product: ProductGenerated) -> str:
    """One product as a CSV line."""
    return _line(product_row(product))
