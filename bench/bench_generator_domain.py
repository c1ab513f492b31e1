"""Throughput of the generator's pure domain: validating alone vs composing and validating.

    uv run python bench/bench_generator_domain.py [--niches 500] [--seconds 2] [--seed 7]

Both paths run in the same process over the same synthetic niches. "compose+validate" is what the built-in
provider costs per concept; "builtin provider loop" adds the async provider call and the validation loop
(``generate_valid_concept``) around it. The ratio says how much of the built-in path is validation.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Callable, Sequence

from etsygen_common.contracts.trends import PriceBand
from etsygen_generator.adapters.providers import BuiltinProvider, ConceptRequest
from etsygen_generator.domain.compose import NicheBrief, compose
from etsygen_generator.domain.validator import validate
from etsygen_generator.service_layer.generation import generate_valid_concept

WORDS = [
    "cat", "dog", "mug", "mugs", "candle", "candles", "boho", "vintage", "minimalist", "gift",
    "personalized", "custom", "wedding", "birthday", "plant", "pot", "planter", "necklace", "earrings",
    "print", "poster", "wall", "art", "sticker", "tote", "bag", "shirt", "hoodie", "teacher", "nurse",
    "mom", "dad", "grandma", "funny", "cute", "retro", "rustic", "farmhouse", "christmas", "halloween",
    "berry", "berries", "box", "boxes",
]  # fmt: skip


def synthetic_niches(count: int, seed: int) -> list[NicheBrief]:
    """Plausible niches: 2-4 word keywords, 0-20 top tags, 0-6 title phrases, a price band."""
    rng = random.Random(seed)

    def phrase(low: int, high: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))

    niches = []
    for _ in range(count):
        median = rng.uniform(8, 80)
        niches.append(
            NicheBrief(
                keyword=phrase(2, 4),
                top_tags=[phrase(1, 4) for _ in range(rng.randint(0, 20))],
                top_title_phrases=[phrase(2, 8) for _ in range(rng.randint(0, 6))],
                price_band=PriceBand(p25=median * 0.8, median=median, p75=median * 1.3),
                score=rng.random(),
                risk=rng.choice(["low", "medium", "high"]),
            )
        )
    return niches


def rate(label: str, step: Callable[[int], None], items: int, seconds: float) -> float:
    """Run ``step(i)`` for i cycling over ``items`` until ``seconds`` pass; print and return items/s."""
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for index in range(items):
            step(index)
        done += items
    elapsed = time.perf_counter() - started
    per_second = done / elapsed
    print(f"{label:<28} {per_second:>12,.0f} concepts/s  ({done:,} in {elapsed:.2f}s)")
    return per_second


async def builtin_loop_rate(niches: list[NicheBrief], seconds: float) -> float:
    provider = BuiltinProvider()
    requests = [ConceptRequest(niche=niche) for niche in niches]
    done = 0
    started = time.perf_counter()
    while time.perf_counter() < started + seconds:
        for request in requests:
            await generate_valid_concept(provider, request)
        done += len(requests)
    elapsed = time.perf_counter() - started
    per_second = done / elapsed
    print(f"{'builtin provider loop':<28} {per_second:>12,.0f} concepts/s  ({done:,} in {elapsed:.2f}s)")
    return per_second


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--niches", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    niches = synthetic_niches(args.niches, args.seed)
    concepts = [compose(niche) for niche in niches]
    invalid = sum(1 for concept in concepts if validate(concept))
    if invalid:
        raise SystemExit(f"{invalid} composed concepts failed validation; benchmark aborted")

    print(f"{len(niches)} synthetic niches, {args.seconds:g}s per measurement\n")
    validate_only = rate("validate only", lambda i: validate(concepts[i]), len(concepts), args.seconds)
    composed = rate("compose + validate", lambda i: validate(compose(niches[i])), len(niches), args.seconds)
    builtin_loop = asyncio.run(builtin_loop_rate(niches, args.seconds))
    print(f"\nvalidate-only / compose+validate = {validate_only / composed:.2f}x")
    print(f"validation is ~{composed / validate_only:.0%} of the built-in provider's per-concept time")
    return {
        "validate_only_per_s": validate_only,
        "compose_validate_per_s": composed,
        "builtin_loop_per_s": builtin_loop,
    }


if __name__ == "__main__":
    main()
