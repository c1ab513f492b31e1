"""Twenty keywords against Etsy's limits (10 per second, 500 per day here): never exceeded, stop, resume."""

from __future__ import annotations

import pytest

from etsygen_scraper.adapters.etsy_client import EtsyClient
from etsygen_scraper.adapters.etsy_errors import EtsyDailyBudgetExhausted
from etsygen_scraper.adapters.fetcher import fetch_keyword
from etsygen_simulators.etsy import BUILT_IN_PROFILES, SimulatorConfig, running_simulator

KEYWORDS = [profile.keyword for profile in BUILT_IN_PROFILES if profile.supply >= 500][:20]
BUDGET = 500  # 5 search pages + 5 batches
TOP_N = 20  # + 20 review counts = 30 calls a keyword
CALLS_PER_KEYWORD = 30


@pytest.mark.slow
async def test_twenty_keywords_respect_both_limits_stop_when_the_day_is_spent_and_resume() -> None:
    assert len(KEYWORDS) == 20
    config = SimulatorConfig(per_second=10, per_day=500)
    async with running_simulator(config) as sim, EtsyClient("budget:secret", base_url=sim.base_url) as client:
        done: list[str] = []
        refusal: EtsyDailyBudgetExhausted | None = None
        for keyword in KEYWORDS:
            try:
                result = await fetch_keyword(client, keyword, BUDGET, top_n_reviews=TOP_N)
            except EtsyDailyBudgetExhausted as exc:
                refusal = exc
                break
            assert result.fetch.api_calls == CALLS_PER_KEYWORD
            done.append(keyword)

        spent = sim.stats()
        assert len(done) == 500 // CALLS_PER_KEYWORD == 16
        assert refusal is not None
        assert "daily budget exhausted" in str(refusal)
        assert "needs 30 calls, 20 remain today" in str(refusal)
        assert spent["day_count"] == 480 <= spent["per_day_limit"]
        assert spent["accepted"] == 480  # the refused job spent nothing
        assert spent["max_per_second"] <= 10
        assert spent["max_arrivals_per_second"] <= 10
        assert spent["rejected_429"] == 0

        sim.control(reset_day=True)
        # The budget reading that refused the job is fresh; a later retry re-reads it from Etsy first.
        for keyword in KEYWORDS[len(done) :]:
            result = await fetch_keyword(client, keyword, BUDGET, top_n_reviews=TOP_N, budget_max_age_s=0)
            assert len(result.listings) == BUDGET
            done.append(keyword)

        resumed = sim.stats()
        assert done == KEYWORDS
        assert resumed["day_count"] == 4 * CALLS_PER_KEYWORD
        assert resumed["accepted"] == 600
        assert resumed["max_per_second"] <= 10
        assert resumed["max_arrivals_per_second"] <= 10
        assert resumed["rejected_429"] == 0
        assert client.daily_budget.remaining == 500 - 4 * CALLS_PER_KEYWORD


@pytest.mark.slow
async def test_a_spent_day_that_etsy_reports_with_429_is_daily_budget_exhausted() -> None:
    config = SimulatorConfig(per_second=10, per_day=12)
    async with running_simulator(config) as sim, EtsyClient("spent:secret", base_url=sim.base_url) as client:
        await fetch_keyword(client, "linen apron", 100, top_n_reviews=10)  # 12 calls: the whole day

        with pytest.raises(EtsyDailyBudgetExhausted, match="0 of 12 calls remain today") as raised:
            await fetch_keyword(client, "axolotl plush", 100, top_n_reviews=0, budget_max_age_s=0)

        assert raised.value.retry_after is not None
        assert raised.value.retry_after > 60
        assert sim.stats()["day_count"] == 12
