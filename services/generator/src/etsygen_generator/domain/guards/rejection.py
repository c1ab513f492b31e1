"""What every guard returns when it stops a concept: a reason of the ``ProductRejected`` contract."""

from __future__ import annotations

import msgspec

from etsygen_common.contracts.products import RejectReason


class GuardRejection(msgspec.Struct, frozen=True, kw_only=True):
    """Why a concept (or the attempt to make one) was stopped; maps onto ``ProductRejected``."""

    reason: RejectReason
    detail: str
    product_id: str | None = None
    """The owner's existing product a near-duplicate rejection points at (the keyword links to it)."""
