"""Topic family ``etsygen.keyword.*``: what a stage says about one keyword of a job while it works on it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal, get_args

import msgspec

from etsygen_common.contracts.base import Event

WaitingReason = Literal[
    "breaker_open",
    "daily_budget",
    "rate_limited",
    "retry_pending",
    "database_unavailable",
    "dependency_unavailable",
]
"""Why a consumer holds a keyword's record back; ``dependency_unavailable`` when it gives no finer reason."""
WAITING_REASONS: Final[tuple[str, ...]] = get_args(WaitingReason)
Stage = Literal["scrape", "analyze", "generate"]


class KeywordWaiting(Event, frozen=True, kw_only=True):
    """A stage holds a keyword's record back for a known reason and will try again at ``resume_at``.

    Published best-effort by the consuming service when it pauses (nothing is lost when one is not
    delivered: the gateway's stall deadline then applies), at most once in a while per (job, keyword,
    reason).
    """

    job_id: str
    owner_id: str
    keyword: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    stage: Stage
    reason: WaitingReason
    detail: Annotated[str, msgspec.Meta(max_length=500)] = ""
    """For people: what is waited for (the breaker's name, Etsy's message)."""
    resume_at: datetime
    """When the stage tries the record again (UTC)."""
