"""When a keyword counts as stalled: each stage's deadline follows what that stage waits for.

A keyword's deadline runs from its last progress (``updated_at``) and is the time its current stage should
take, plus a margin:

* **scrape**: the Etsy calls a keyword needs at the configured pace. A keyword of N listings needs about
  ``2 + ceil(N / 100) + review_calls`` calls (a budget reading and the first search page, one search page
  per 100 listings, one reviews call for each of the top listings). The scraper takes a job's keywords in
  order, so the keyword at ``position`` p also waits for the p keywords before it.
* **analyze**: a short, fixed time (scoring is local work).
* **generate**: the AI call timeout times the attempts per concept times the concepts per niche.

Each re-drive widens the allowance by one more stage time, so a busy platform is not failed for being
slow. The allowance never exceeds ``ceiling_s`` (``GATEWAY_STALL_AFTER_S``), which stays the fallback upper
bound. A keyword that a consumer reported waiting for a known reason (``KeywordWaiting``: a breaker open,
Etsy's daily budget used up, a retry not yet due...) is not stalled before its ``resume_at`` plus the
margin, even past the ceiling: the wait is explained, and its deadline is the resume time.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Final, Literal

import msgspec

Stage = Literal["scrape", "analyze", "generate", "done"]

LISTINGS_PER_PAGE: Final = 100
"""Listings one Etsy search call returns."""
FIXED_SCRAPE_CALLS: Final = 2
"""Calls every keyword's scrape makes whatever its size (the budget reading and the first search)."""


class Pace(msgspec.Struct, frozen=True, kw_only=True):
    """How long the stages take (gateway settings ``GATEWAY_DEADLINE_*``)."""

    etsy_call_s: float = 0.25
    review_calls: int = 20
    analysis_s: float = 30.0
    ai_call_s: float = 30.0
    ai_attempts: int = 3
    margin_s: float = 120.0
    ceiling_s: float = 900.0


class KeywordClock(msgspec.Struct, frozen=True, kw_only=True):
    """What the sweep knows about one unfinished keyword."""

    stage: Stage
    updated_at: datetime
    listing_budget: int
    concepts: int
    position: int = 0
    redrives: int = 0
    resume_at: datetime | None = None
    """Set while a consumer reported the keyword waiting for a known reason until then."""


def stage_of(scrape: str, analyze: str, generate: str) -> Stage:
    """The stage a keyword waits on, from its per-stage statuses (``ok`` moves it on)."""
    if scrape != "ok":
        return "scrape" if scrape != "failed" else "done"
    if analyze != "ok":
        return "analyze" if analyze != "failed" else "done"
    return "generate" if generate not in ("ok", "failed") else "done"


def etsy_calls(listings: int, review_calls: int) -> int:
    """Etsy calls one keyword's scrape needs for ``listings`` listings."""
    return FIXED_SCRAPE_CALLS + math.ceil(max(listings, 0) / LISTINGS_PER_PAGE) + review_calls


def stage_seconds(clock: KeywordClock, pace: Pace) -> float:
    """Time the keyword's current stage should take, without the margin."""
    if clock.stage == "scrape":
        per_keyword = etsy_calls(clock.listing_budget, pace.review_calls) * pace.etsy_call_s
        return per_keyword * (clock.position + 1)
    if clock.stage == "analyze":
        return pace.analysis_s
    if clock.stage == "generate":
        return pace.ai_call_s * pace.ai_attempts * max(clock.concepts, 1)
    return 0.0


def deadline(clock: KeywordClock, pace: Pace) -> datetime | None:
    """When the keyword counts as stalled if it makes no progress; None when it waits on nothing."""
    if clock.stage == "done":
        return None
    allowance = min(pace.ceiling_s, pace.margin_s + stage_seconds(clock, pace) * (1 + clock.redrives))
    due = clock.updated_at + timedelta(seconds=allowance)
    if clock.resume_at is not None:
        due = max(due, clock.resume_at + timedelta(seconds=pace.margin_s))
    return due


def is_stalled(clock: KeywordClock, pace: Pace, now: datetime) -> bool:
    """True when the keyword's deadline has passed at ``now``."""
    due = deadline(clock, pace)
    return due is not None and now >= due


def shortest_allowance_s(pace: Pace) -> float:
    """The least time any keyword is given: keywords younger than this need not be looked at."""
    fastest = min(FIXED_SCRAPE_CALLS * pace.etsy_call_s, pace.analysis_s, pace.ai_call_s * pace.ai_attempts)
    return min(pace.ceiling_s, pace.margin_s + fastest)
