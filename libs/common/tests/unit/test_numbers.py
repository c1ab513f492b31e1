"""Numbers rounded for people: the one formatter every explanation uses."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etsygen_common.numbers import human_money, human_number, human_share


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (22.255000000000003, "22"),
        (4.811145510835913, "4.8"),
        (3.0, "3"),
        (1.455, "1.5"),
        (0.31, "0.31"),
        (0.0, "0"),
        (-0.0, "0"),
        (0.00001, "0"),
        (22_300.0, "22,300"),
        (9.96, "10"),
        (-12.6, "-13"),
    ],
)
def test_a_figure_is_rounded_to_what_people_read(value: float, text: str) -> None:
    assert human_number(value) == text


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_figure_that_is_not_finite_says_so(value: float) -> None:
    assert human_number(value) == str(value)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_no_figure_carries_more_than_two_significant_decimals(value: float) -> None:
    text = human_number(value)
    if "." in text:
        whole, decimals = text.lstrip("-").split(".")
        assert len(decimals) <= (1 if whole != "0" else 2 + len(decimals) - len(decimals.lstrip("0")))
    assert "e" not in text


@pytest.mark.parametrize(
    ("share", "text"), [(0.034, "3 %"), (1.0, "100 %"), (0.0, "0 %"), (0.004, "under 1 %")]
)
def test_a_share_reads_as_a_whole_percentage(share: float, text: str) -> None:
    assert human_share(share) == text


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(35.0, "USD", "$35"), (8.5, "EUR", "\u20ac8.5"), (3000.0, "JPY", "3,000 JPY")],
)
def test_money_carries_its_currency(amount: float, currency: str, text: str) -> None:
    assert human_money(amount, currency) == text
