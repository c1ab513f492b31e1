"""Numbers as people read them: rounded to what the figure can carry, never ``22.255000000000003``.

One formatter for every explanation the platform writes (the analyzer's factor explanations, the gateway's
"why this score"), so the same figure reads the same everywhere.
"""

from __future__ import annotations

import math

__all__ = ["human_money", "human_number", "human_share"]

_CURRENCY_SIGNS = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3"}


def human_number(value: float) -> str:
    """A figure rounded for people: whole numbers with thousands separators from 10 up (``22``,
    ``22,300``), one decimal from 1 (``4.8``), two significant digits below (``0.31``); trailing zeros
    dropped (``3``, not ``3.0``). Not finite: ``inf``, ``-inf``, ``nan``.
    """
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 10:
        text = f"{value:,.0f}"
    elif magnitude >= 1:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2g}"
        if "e" in text:  # below 0.0001 the 'g' format switches to exponents; people read 0 there
            text = "0"
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def human_share(share: float) -> str:
    """A share in [0, 1] as a whole percentage (``0.034`` → ``3 %``); a share above 0 never reads 0 %."""
    if not math.isfinite(share):
        return str(share)
    percent = share * 100
    if 0 < percent < 1:
        return "under 1 %"
    return f"{percent:.0f} %"


def human_money(amount: float, currency: str) -> str:
    """An amount as :func:`human_number` rounds it, with its currency (``$35``, ``3,000 JPY``)."""
    sign = _CURRENCY_SIGNS.get(currency)
    return f"{sign}{human_number(amount)}" if sign else f"{human_number(amount)} {currency}"
