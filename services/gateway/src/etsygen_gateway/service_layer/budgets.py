"""What a use case needs of the rate limiter when only it knows what a request costs (the API provides it)."""

from __future__ import annotations

from typing import Final, Protocol

from etsygen_gateway.domain.ratelimit import Decision, Tier

AUTH_FAILURES_ACCOUNT: Final = "auth-failures-account"
"""Name of the tier of failed sign-up/login attempts per account (its refusals say "for this account")."""


class Budgets(Protocol):
    """Rate-limit budgets of one request, spent by the use case itself (``api.access.RequestBudgets``)."""

    @property
    def tiers(self) -> list[Tier]:
        """The tiers these budgets are in."""
        ...

    async def spend(self, cost: int = 1) -> Decision:
        """Spend ``cost`` tokens of every budget, or none if any lacks them (a refusal is returned)."""
        ...

    async def refund(self, cost: int = 1) -> Decision:
        """Give back ``cost`` tokens of every budget."""
        ...
