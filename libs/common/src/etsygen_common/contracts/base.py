"""Base types shared by every event contract.

Contracts are frozen, keyword-only msgspec Structs. Within a topic version only optional fields may be added;
anything else is a new topic (``...v2``) and a new Struct. ``tests/unit/test_contract_compat.py`` enforces
this against the JSON Schemas checked in under ``schemas/``.
"""

from __future__ import annotations

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Base of every event body. Subclasses set ``__topic__`` through :func:`topic`."""


class Money(msgspec.Struct, frozen=True, kw_only=True):
    """An amount in a currency, already divided (Etsy's ``amount / divisor``)."""

    amount: float
    currency: str = "USD"


class Range(msgspec.Struct, frozen=True, kw_only=True):
    """A closed numeric range ``[low, high]``, used for every estimate."""

    low: float
    high: float
