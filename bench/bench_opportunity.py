"""Does the analyzer's score order niches the way the simulator's hidden truth says they are worth? (issue 14)

    uv run python bench/bench_opportunity.py [--held-out-seed 20261207] [--budget 100] [--top-n-reviews 20]

Two markets: the default catalogue (seed 7, the one the platform is developed and demonstrated on) and a
held-out seed that no weight, band or target of the analyzer was tuned on (the same generator drawing
another market: other demand, sellers, listings and prices per niche). For each, the simulator is served
in-process on a local port and, for every niche keyword, the real scraper client fetches it exactly as the
scraper service does (``fetch_keyword`` with the service's default budget and review sample), and the
analyzer's domain scores it (``score_niche`` with the default ``scoring.toml``). No Kafka or database: the
path from Etsy's responses to a score is the same code the services run.

Figures, per market:

* Spearman rank correlation between the score and the hidden opportunity
  (``etsygen_simulators.etsy.truth.opportunity``: a new seller's expected monthly net revenue). Target >= 0.8.
  Baseline, same run: the Spearman of a naive score, the listing count alone (Etsy ``count``).
* The share of nonsense and off-topic queries rated ``insufficient_data`` or ``high`` risk. Target 100 %.
  Baseline, same run: the share a naive rule rejects ("insufficient only when the count is 0").
* The risk distribution over the niches: the smallest of the low/medium/high shares, which must be
  meaningful (target >= 10 % each); the shares themselves are printed.
* For information (printed, no target): how often the analyzer's stated monthly sales range holds the
  true orders of the listings it sampled (coverage), and the median factor between its point estimate
  and that truth.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from etsygen_analyzer.domain.config import ScoringConfig, default_config
from etsygen_analyzer.domain.scoring import NicheAssessment, score_niche
from etsygen_scraper.adapters.etsy_client import EtsyClient
from etsygen_scraper.adapters.fetcher import fetch_keyword
from etsygen_scraper.domain.normalize import to_listings_scraped
from etsygen_scraper.settings import ScraperSection
from etsygen_simulators.etsy import BUILT_IN_PROFILES, RunningSimulator, SimulatorConfig, running_simulator
from etsygen_simulators.etsy.truth import opportunity

DEFAULT_SEED = 7
HELD_OUT_SEED = 20_261_207
"""Chosen once (the day the benchmark was written) and never used to tune anything."""
SPEARMAN_TARGET = 0.8
REJECTED_TARGET = 100.0
RISK_SHARE_TARGET = 10.0
NONSENSE_QUERIES = (
    "'; DROP TABLE jobs;--",
    "مرحبا بالعالم",
    "asdkjh qwe",
    "xzqv plmok wrtn",
    "<script>alert(1)</script>",
    "lorem ipsum dolor",
)
OFF_TOPIC_QUERIES = (
    "glow in the dark frisbee",
    "car engine parts",
    "leather dog leash",
    "merino wool socks",
    "ceramic coffee grinder",
    "gold leaf bathroom faucet",
)
"""Real words but no niche of the catalogue: some find nothing, some only loosely matching listings."""
API_KEY = "bench:opportunity"
EPOCH = 1_780_000_000
"""The markets are "as of" this time and the review window ends there, so every run reads the same data."""
PER_SECOND = 1_000


@dataclass(frozen=True, slots=True)
class Rated:
    """One query's outcome: what the analyzer concluded and what the marketplace returned."""

    query: str
    score: float
    risk: str
    insufficient: bool
    total_count: int
    listings: int
    sales: tuple[float, float, float] | None = None
    """The analyzer's monthly sales estimate of the sampled top listings: (low, mid, high)."""
    true_sales: float | None = None
    """Hidden truth: the orders a month those same listings take."""

    @property
    def rejected(self) -> bool:
        """Rated ``insufficient_data`` or ``high`` risk: the platform would not build on it."""
        return self.insufficient or self.risk == "high"


@dataclass(frozen=True, slots=True)
class MarketFigures:
    """Everything measured over one seed's market."""

    seed: int
    niches: list[tuple[Rated, float]]
    """Each niche's outcome and its hidden opportunity."""
    probes: list[Rated]
    """The nonsense and off-topic queries' outcomes."""

    @property
    def spearman(self) -> float:
        return spearman([rated.score for rated, _ in self.niches], [truth for _, truth in self.niches])

    @property
    def naive_spearman(self) -> float:
        counts = [float(rated.total_count) for rated, _ in self.niches]
        return spearman(counts, [truth for _, truth in self.niches])

    @property
    def rejected_share(self) -> float:
        return 100.0 * sum(rated.rejected for rated in self.probes) / len(self.probes)

    @property
    def naive_rejected_share(self) -> float:
        return 100.0 * sum(rated.total_count == 0 for rated in self.probes) / len(self.probes)

    @property
    def sales_coverage(self) -> float:
        """Share of niches (%) whose stated sales range holds the true orders of the listings it sampled."""
        pairs = [(rated.sales, rated.true_sales) for rated, _ in self.niches]
        judged = [(sales, true) for sales, true in pairs if sales is not None and true is not None]
        inside = sum(sales[0] <= true <= sales[2] for sales, true in judged)
        return 100.0 * inside / len(judged) if judged else 0.0

    @property
    def median_sales_error(self) -> float:
        """Median of |ln(mid / truth)| over the niches: how far the point estimate is, as a factor."""
        errors = sorted(
            abs(math.log(rated.sales[1] / rated.true_sales))
            for rated, _ in self.niches
            if rated.sales and rated.true_sales and rated.sales[1] > 0
        )
        return math.exp(errors[len(errors) // 2]) if errors else math.nan

    @property
    def risk_shares(self) -> dict[str, float]:
        risks = [rated.risk for rated, _ in self.niches]
        return {risk: 100.0 * risks.count(risk) / len(risks) for risk in ("low", "medium", "high")}


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            result[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson's over the ranks, so ties are handled); 0 when a side is flat."""
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / math.sqrt(vx * vy) if vx and vy else 0.0


def is_insufficient(assessment: NicheAssessment) -> bool:
    """Whether the analyzer says too few listings are about the keyword (``relevance.status``)."""
    return assessment.relevance.status == "insufficient_data"


async def rate_queries(
    sim: RunningSimulator,
    queries: Iterable[str],
    config: ScoringConfig,
    *,
    budget: int,
    top_n_reviews: int,
) -> list[Rated]:
    """Fetch each query with the real client and score it with the analyzer's domain; the hidden orders of
    the listings its sales estimate sampled are read from the simulator's catalogue beside it."""
    rated: list[Rated] = []
    catalogue = sim.state.catalogue
    async with EtsyClient(API_KEY, base_url=sim.base_url, per_second=PER_SECOND) as client:
        for query in queries:
            fetched = await fetch_keyword(
                client, query, budget, top_n_reviews=top_n_reviews, now=datetime.fromtimestamp(EPOCH, UTC)
            )
            scraped = to_listings_scraped(fetched, job_id="bench-opportunity", owner_id="bench")
            assessment = score_niche(scraped, config, observed_at=EPOCH)
            sampled = [item.listing_id for item in fetched.listings if item.reviews_in_window is not None]
            true_orders = [catalogue.expected_orders(ident) for ident in sampled]
            sales = assessment.sales
            rated.append(
                Rated(
                    query=query,
                    score=assessment.score,
                    risk=assessment.risk,
                    insufficient=is_insufficient(assessment),
                    total_count=fetched.total_count,
                    listings=len(fetched.listings),
                    sales=(sales.low, sales.mid, sales.high) if sales is not None else None,
                    true_sales=math.fsum(o for o in true_orders if o is not None) if sampled else None,
                )
            )
    return rated


async def measure_market(
    seed: int,
    keywords: Sequence[str],
    probes: Sequence[str],
    *,
    budget: int,
    top_n_reviews: int,
) -> MarketFigures:
    """Serve the market of ``seed`` and rate its niches and the probe queries."""
    config = default_config()
    simulator = SimulatorConfig(seed=seed, per_second=PER_SECOND, per_day=10_000_000, epoch=EPOCH)
    async with running_simulator(simulator) as sim:
        niches = await rate_queries(sim, keywords, config, budget=budget, top_n_reviews=top_n_reviews)
        rated_probes = await rate_queries(sim, probes, config, budget=budget, top_n_reviews=top_n_reviews)
    truths = [opportunity(seed, keyword).monthly_net_revenue for keyword in keywords]
    return MarketFigures(seed=seed, niches=list(zip(niches, truths, strict=True)), probes=rated_probes)


def report(figures: MarketFigures, label: str) -> None:
    """The per-niche table and the probes, for people."""
    print(f"\n--- {label} (seed {figures.seed}): {len(figures.niches)} niches ---")
    print(f"{'niche':<34} {'score':>6} {'risk':<7} {'count':>7} {'opportunity $/mo':>17}")
    for rated, truth in sorted(figures.niches, key=lambda pair: -pair[1]):
        flag = " (insufficient_data)" if rated.insufficient else ""
        figures_line = f"{rated.score:6.3f} {rated.risk:<7} {rated.total_count:7d} {truth:17,.0f}"
        print(f"{rated.query:<34} {figures_line}{flag}")
    for rated in figures.probes:
        verdict = "rejected" if rated.rejected else "ACCEPTED"
        reason = "insufficient_data" if rated.insufficient else f"risk {rated.risk}"
        print(
            f"probe {rated.query!r}: count {rated.total_count}, score {rated.score:.3f}, {reason}: {verdict}"
        )
    shares = ", ".join(f"{risk} {share:.0f} %" for risk, share in figures.risk_shares.items())
    print(f"risk distribution: {shares}")
    print(
        f"Spearman(score, opportunity) = {figures.spearman:.3f}; "
        f"naive (listing count) = {figures.naive_spearman:.3f}"
    )
    print(
        f"sales estimates (info): the stated range holds the true orders of the sampled listings in "
        f"{figures.sales_coverage:.0f} % of niches; median point error x{figures.median_sales_error:.2f}"
    )


def emit(figures: MarketFigures, label: str) -> bool:
    """The RESULT lines of one market; True when every target is met."""
    from _support import Result, emit_result

    results = [
        Result(
            name=f"opportunity rank correlation, {label}",
            value=figures.spearman,
            unit="rho",
            baseline=figures.naive_spearman,
            baseline_label="listing count alone",
            target_on="value",
            op=">=",
            threshold=SPEARMAN_TARGET,
            details={"seed": figures.seed, "niches": len(figures.niches)},
        ),
        Result(
            name=f"nonsense/off-topic rejected, {label}",
            value=figures.rejected_share,
            unit="%",
            baseline=figures.naive_rejected_share,
            baseline_label="count == 0",
            target_on="value",
            op=">=",
            threshold=REJECTED_TARGET,
            details={"seed": figures.seed, "accepted": [r.query for r in figures.probes if not r.rejected]},
        ),
        Result(
            name=f"smallest risk-class share, {label}",
            value=min(figures.risk_shares.values()),
            unit="%",
            baseline=None,
            baseline_label="none",
            target_on="value",
            op=">=",
            threshold=RISK_SHARE_TARGET,
            details={"seed": figures.seed, "shares": figures.risk_shares},
        ),
    ]
    for result in results:
        emit_result(result)
    return all(result.passed for result in results)


async def run(args: argparse.Namespace) -> bool:
    keywords = [profile.keyword for profile in BUILT_IN_PROFILES]
    probes = [*NONSENSE_QUERIES, *OFF_TOPIC_QUERIES]
    passed = True
    for seed, label in ((DEFAULT_SEED, "default seed"), (args.held_out_seed, "held-out seed")):
        started = time.perf_counter()
        figures = await measure_market(
            seed, keywords, probes, budget=args.budget, top_n_reviews=args.top_n_reviews
        )
        report(figures, label)
        print(f"({time.perf_counter() - started:.1f} s)")
        passed = emit(figures, label) and passed
    return passed


def main(argv: Sequence[str] | None = None) -> int:
    section = ScraperSection()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--held-out-seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--budget", type=int, default=100, help="listings per keyword (the job default)")
    parser.add_argument("--top-n-reviews", type=int, default=section.top_n_reviews)
    args = parser.parse_args(argv)
    from _support import quiet_logging

    quiet_logging()
    asyncio.run(run(args))
    return 0  # a missed target is a FAIL line in the summary, not a crash


if __name__ == "__main__":
    sys.exit(main())
