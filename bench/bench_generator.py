"""Generator: concepts per second end to end with the built-in provider (issue 5).

    uv run --no-sync python bench/bench_generator.py [--trends 1000] [--owners 1] [--validator-seconds 2]

The generator built by ``etsygen_generator.bootstrap.build_app`` (``AI_PROVIDER=builtin``) consumes
``--trends`` ``TrendScored`` events published to a Tansu broker: synthetic niches (``bench_generator_domain``)
with ``concepts_per_niche=1``, ``min_score=0`` and ``max_risk=high`` so every trend asks for one concept.
The clock runs from the first publish until every outcome (``ProductGenerated`` or ``ProductRejected``) is
stored and its outbox row relayed; the figure is outcomes per second and the products among them are
counted. By default all trends belong to one owner, the case where the near-duplicate guard compares each
concept with the owner's 500 most recent products. Baseline, same run: ``validator.validate`` alone over the
concepts the run stored (CPU loop). Target: >= 200 concepts/s in the one process, whose garbage collector is
tuned as ``etsygen run`` tunes the generator's (``settle_heap``). For information, the same number of trends
spread over ``--spread-owners`` owners is timed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec
from _support import (
    Result,
    bench_database,
    common_settings,
    emit_result,
    quiet_logging,
    redis_prefix,
    settle_like_a_service,
    tansu_broker,
    timed_phase,
    unique,
)
from bench_generator_domain import synthetic_niches

from etsygen_common import contracts
from etsygen_common.contracts import ProductConcept, TrendScored
from etsygen_common.envelope import Envelope, wrap
from etsygen_generator.bootstrap import build_app
from etsygen_generator.domain.validator import validate
from etsygen_generator.settings import DraftSection, GeneratorSettings, GuardSection, ProviderSection

TARGET_PER_SECOND = 200.0
WARMUP = 10
SEED = 11


def make_envelopes(count: int, owners: int, first: int = 0, job: str = "bench") -> list[Envelope]:
    """Scored trends, as the analyzer's outbox would publish them, that all pass the generation gate."""
    envelopes = []
    for index, niche in enumerate(synthetic_niches(count, SEED + first), start=first):
        trend = TrendScored(
            job_id=f"{job}-{index // 50}",
            owner_id=f"{job}-owner-{index % owners}",
            keyword=f"{niche.keyword} {index}",
            score=niche.score,
            confidence=0.8,
            risk=niche.risk,
            price_band=niche.price_band,
            top_tags=niche.top_tags,
            top_title_phrases=niche.top_title_phrases,
            listing_count=100,
            total_count=5_000,
            concepts_per_niche=1,
            min_score=0.0,
            max_risk="high",
        )
        envelopes.append(wrap(trend, source="analyzer"))
    return envelopes


def validator_rate(concepts: Sequence[ProductConcept], seconds: float) -> float:
    """Concepts per second of ``validate`` alone, cycling over ``concepts`` for ``seconds`` of CPU time."""
    done = 0
    started = time.process_time()
    while time.process_time() - started < seconds:
        for concept in concepts:
            validate(concept)
        done += len(concepts)
    return done / (time.process_time() - started)


async def run(trends: int, owners: int, spread_owners: int, validator_seconds: float) -> Result:
    warmup = make_envelopes(WARMUP, owners, first=1_000_000, job="warmup")
    envelopes = make_envelopes(trends, owners)
    settle_like_a_service()
    print(
        f"{trends} TrendScored events (1 concept each, {owners} owner(s)), built-in provider, "
        f"after {WARMUP} warm-up events"
    )
    async with bench_database() as pg_url, redis_prefix() as prefix:
        with tansu_broker() as tansu:
            common = common_settings(
                pg_url, tansu.bootstrap, key_prefix=prefix, topic_prefix=unique("bg") + "."
            )
            runtime = build_app(
                GeneratorSettings(
                    common=common,
                    provider=ProviderSection(provider="builtin"),
                    guards=GuardSection(),
                    drafts=DraftSection(),
                )
            )
            conn = await asyncpg.connect(pg_url)
            try:
                await runtime.start(serve_http=False)

                async def outcomes_relayed() -> int:
                    return int(
                        await conn.fetchval(
                            "SELECT count(*) FROM generator.outbox "
                            "WHERE topic = ANY($1) AND sent_at IS NOT NULL",
                            [contracts.PRODUCTS_GENERATED, contracts.PRODUCTS_REJECTED],
                        )
                    )

                elapsed = await timed_phase(
                    common.kafka,
                    warmup,
                    envelopes,
                    outcomes_relayed,
                    "generator: concept, guards, stored, relayed",
                )
                spread_elapsed = None
                if spread_owners:
                    # Information: the same load spread over many owners (one 50-keyword job each), so the
                    # near-duplicate guard sees few earlier products per owner.
                    spread = make_envelopes(trends, spread_owners, first=2_000_000, job="spread")
                    offset = await outcomes_relayed()

                    async def spread_relayed() -> int:
                        return await outcomes_relayed() - offset

                    spread_elapsed = await timed_phase(
                        common.kafka,
                        [],
                        spread,
                        spread_relayed,
                        f"same, trends spread over {spread_owners} owners",
                    )
                rows = await conn.fetch(
                    "SELECT topic, payload FROM generator.outbox WHERE topic = ANY($1)",
                    [contracts.PRODUCTS_GENERATED, contracts.PRODUCTS_REJECTED],
                )
                products = int(
                    await conn.fetchval("SELECT count(*) FROM generator.products WHERE job_id LIKE 'bench-%'")
                )
                bodies = await conn.fetch("SELECT body FROM generator.products WHERE job_id LIKE 'bench-%'")
                batches = int(await conn.fetchval("SELECT count(DISTINCT sent_at) FROM generator.outbox"))
            finally:
                await conn.close()
                await runtime.stop()
    reasons = Counter(
        msgspec.json.decode(r["payload"], type=contracts.ProductRejected).reason
        for r in rows
        if r["topic"] == contracts.PRODUCTS_REJECTED
    )
    concepts = [msgspec.json.decode(b["body"], type=contracts.ProductGenerated).concept for b in bodies]
    invalid = sum(1 for concept in concepts if validate(concept))
    if invalid:
        raise RuntimeError(f"{invalid} stored concepts fail validation")
    value = trends / elapsed
    baseline = validator_rate(concepts, validator_seconds)
    print(
        f"outcomes of the {trends} timed trends: {products} products stored; rejections over the whole run: "
        f"{dict(reasons) or 'none'}; {batches} relay transactions"
    )
    print(f"baseline, validator.validate alone over the {len(concepts)} stored concepts: {baseline:,.0f} /s")
    return Result(
        name="generator end to end",
        value=value,
        unit="concepts/s",
        baseline=baseline,
        baseline_label="validator.validate alone",
        target_on="value",
        op=">=",
        threshold=TARGET_PER_SECOND,
        details={
            "trends": trends,
            "owners": owners,
            "products_stored": products,
            "seconds": elapsed,
            "rejections": dict(reasons),
            "relay_transactions": batches,
            "products_per_s": products / elapsed,
            "spread_owners": spread_owners,
            "spread_concepts_per_s": trends / spread_elapsed if spread_elapsed else None,
        },
    )


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trends", type=int, default=1000)
    parser.add_argument("--owners", type=int, default=1, help="owners of the timed trends")
    parser.add_argument(
        "--spread-owners", type=int, default=20, help="owners of a second, informational run (0: skip)"
    )
    parser.add_argument("--validator-seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    quiet_logging()
    result = asyncio.run(run(args.trends, args.owners, args.spread_owners, args.validator_seconds))
    emit_result(result)
    return [result.to_json()]


if __name__ == "__main__":
    main()
