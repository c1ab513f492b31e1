"""The concept handler's near-duplicate guard against the owner's products in PostgreSQL.

The handler keeps each owner's newest products in memory and, under the owner's lock, reads only what was
stored since. These tests check that what the database holds decides, not what the process remembers:
products stored by another process count, products of other owners do not, a product whose transaction
rolled back is not remembered, and only the newest products are compared.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from etsygen_common.breaker import Breaker
from etsygen_common.contracts import ProductGenerated, ProductRejected, TrendScored
from etsygen_common.db import create_pool
from etsygen_common.kafka import HandlerContext, take_locks
from etsygen_common.migrations import migrate_service
from etsygen_generator.adapters import repository
from etsygen_generator.adapters.providers import (
    ConceptRequest,
    ProviderAuthError,
    ProviderResult,
    build_provider,
)
from etsygen_generator.adapters.repository import products_after
from etsygen_generator.bootstrap import MIGRATIONS
from etsygen_generator.domain.guards import (
    AIBudget,
    BrandBlocklist,
    DuplicateThresholds,
    ExistingProduct,
    find_near_duplicate,
)
from etsygen_generator.handlers import TrendScoredHandler
from etsygen_generator.service_layer.concepts import VARIANT_TRIES, ConceptGeneration
from etsygen_generator.service_layer.products import ProductStore

pytestmark = pytest.mark.integration

TAGS = ["ceramic planter", "boho plant pot", "succulent pot", "plant lover gift", "indoor planter"]


@pytest.fixture
async def pool(make_settings: Any, schema: str) -> AsyncIterator[Any]:
    settings = make_settings()
    await migrate_service(settings.postgres.url, schema, MIGRATIONS)
    created = await create_pool(settings.postgres, schema)
    yield created
    async with created.acquire() as conn:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await created.close()


def _handler(pool: Any, provider: Any = None) -> TrendScoredHandler:
    generation = ConceptGeneration(
        provider or build_provider("builtin"),
        Breaker(f"ai-builtin-{uuid.uuid4().hex[:6]}", service="generator"),
        blocklist=BrandBlocklist.starter(),
        budget=AIBudget(),
        max_attempts=2,
        pool=pool,
    )
    return TrendScoredHandler(generation, ProductStore(DuplicateThresholds()))


def _trend(owner: str, keyword: str = "boho plant pot", *, variants: bool = False) -> TrendScored:
    return TrendScored(
        job_id=f"job-{uuid.uuid4().hex[:6]}",
        owner_id=owner,
        keyword=keyword,
        score=0.8,
        confidence=0.8,
        risk="low",
        top_tags=TAGS,
        top_title_phrases=["boho plant pot", "ceramic planter"],
        concepts_per_niche=1,
        variants=variants,
    )


async def _handle(handler: TrendScoredHandler, pool: Any, trend: TrendScored, *, commit: bool = True) -> Any:
    """Run the handler as the consumer does: prepare, then the transaction; return what it emitted."""
    prepared = await handler.prepare(trend)
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await take_locks(conn, handler.locks(trend))
        ctx = HandlerContext(
            conn=conn,
            headers={"ce_id": str(uuid.uuid4())},
            topic="etsygen.trends.scored.v1",
            source="generator",
            prepared=prepared,
        )
        await handler(ctx, trend)
        await (tx.commit() if commit else tx.rollback())
    if commit:
        for callback in ctx.committed:  # as the consumer does once the transaction committed
            callback()
    (emitted,) = ctx.emitted
    return emitted


def _decoded(envelope: Any) -> ProductGenerated | ProductRejected:
    kind = ProductGenerated if envelope.topic.endswith("generated.v1") else ProductRejected
    return msgspec.json.decode(envelope.payload, type=kind)


async def test_a_product_stored_by_another_process_makes_the_same_concept_a_duplicate(pool: Any) -> None:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    this_process, other_process = _handler(pool), _handler(pool)
    earrings = _decoded(await _handle(this_process, pool, _trend(owner, "gold hoop earrings")))
    assert isinstance(earrings, ProductGenerated)

    first = _decoded(await _handle(other_process, pool, _trend(owner)))
    assert isinstance(first, ProductGenerated)
    # This process read the owner's products before the other stored one; that one must count now.
    again = _decoded(await _handle(this_process, pool, _trend(owner)))
    assert isinstance(again, ProductRejected)
    assert again.reason == "guard_failed"
    assert first.product_id in again.detail


async def test_another_owners_products_do_not_count(pool: Any) -> None:
    handler = _handler(pool)
    for owner in (f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}"):
        assert isinstance(_decoded(await _handle(handler, pool, _trend(owner))), ProductGenerated)


async def test_a_rolled_back_product_is_not_remembered(pool: Any) -> None:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    handler = _handler(pool)
    rolled_back = _decoded(await _handle(handler, pool, _trend(owner), commit=False))
    assert isinstance(rolled_back, ProductGenerated)
    # The product never reached the database, so the same concept is new the second time.
    kept = _decoded(await _handle(handler, pool, _trend(owner)))
    assert isinstance(kept, ProductGenerated)


@pytest.mark.parametrize("reader", ["the writer", "a new process"])
async def test_only_the_owners_newest_products_are_compared(
    pool: Any, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    monkeypatch.setattr(repository, "RECENT_PRODUCTS", 2)
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    writer = _handler(pool)
    stored = []
    for keyword in ["boho plant pot", "gold hoop earrings", "dog bandana"]:
        outcome = _decoded(await _handle(writer, pool, _trend(owner, keyword)))
        assert isinstance(outcome, ProductGenerated)
        stored.append(outcome.product_id)
    async with pool.acquire() as conn:
        newest = await products_after(conn, owner, 0, limit=2)
        assert [product.product_id for _, product in newest] == stored[1:]
        assert await products_after(conn, owner, newest[-1][0]) == []
    process = writer if reader == "the writer" else _handler(pool)
    # The plant pot is the third newest: the same concept again duplicates nothing that is compared.
    rejected = _decoded(await _handle(process, pool, _trend(owner, "dog bandana")))
    assert isinstance(rejected, ProductRejected)
    again = _decoded(await _handle(process, pool, _trend(owner, "boho plant pot")))
    assert isinstance(again, ProductGenerated), again


async def _first_product(handler: TrendScoredHandler, pool: Any, owner: str) -> ProductGenerated:
    """The owner's first product for the niche of :func:`_trend`."""
    first = _decoded(await _handle(handler, pool, _trend(owner)))
    assert isinstance(first, ProductGenerated)
    return first


async def test_the_same_keyword_again_links_to_the_owners_product(pool: Any) -> None:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    handler = _handler(pool)
    first = await _first_product(handler, pool, owner)
    again = _decoded(await _handle(handler, pool, _trend(owner)))
    assert isinstance(again, ProductRejected)
    assert again.existing_product_id == first.product_id


ITEMS = [
    "Boho Plant Pot with Drainage Hole",
    "Plant Pot for Succulents, Terracotta Planter",
    "Hanging Plant Pot, Ceramic Herb Planter Set",
]
"""Distinct concepts that all lead with the item (so each passes the listing-quality bar)."""


class _Variants:
    """A provider that answers variant n with the n-th of :data:`ITEMS` (``distinct=False``: always the
    first), recording what it was asked."""

    billable = False
    name = "variants"
    model = "variants-v1"

    def __init__(self, *, distinct: bool = True, refuse_variants: bool = False) -> None:
        self.distinct = distinct
        self.refuse_variants = refuse_variants
        self.asked: list[ConceptRequest] = []
        self._builtin = build_provider("builtin")

    async def generate(self, request: ConceptRequest) -> ProviderResult:
        self.asked.append(request)
        if self.refuse_variants and request.variant > 0:
            raise ProviderAuthError("401 from the provider", provider=self.name)
        composed = await self._builtin.generate(msgspec.structs.replace(request, variant=0))
        title = ITEMS[request.variant % len(ITEMS)] if self.distinct else ITEMS[0]
        words = title.lower().split()
        pairs = [words[i : i + 2] for i in range(len(words) - 1)]
        # whole two-word phrases only ("pot with" would be a cut tag, which the quality bar refuses)
        tags = [" ".join(pair) for pair in pairs if not {"with", "for"} & set(pair)] + composed.concept.tags
        concept = msgspec.structs.replace(composed.concept, title=title, tags=list(dict.fromkeys(tags))[:13])
        return msgspec.structs.replace(composed, concept=concept)

    async def aclose(self) -> None:
        """Nothing to release."""


async def test_asked_for_variants_the_same_keyword_again_gets_a_different_concept(pool: Any) -> None:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    provider = _Variants()
    handler = _handler(pool, provider)
    first = await _first_product(handler, pool, owner)
    provider.asked.clear()
    variant = _decoded(await _handle(handler, pool, _trend(owner, variants=True)))
    assert isinstance(variant, ProductGenerated), variant
    assert variant.product_id != first.product_id
    concept = first.concept
    existing = ExistingProduct(product_id=first.product_id, title=concept.title, tags=concept.tags)
    assert find_near_duplicate(variant.concept, [existing]) is None
    # The second ask was for another variant and said why the first would not do.
    assert [asked.variant for asked in provider.asked] == [0, 1]
    assert first.product_id in provider.asked[1].previous_violations[0]


async def test_without_variants_the_provider_is_asked_once(pool: Any) -> None:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    provider = _Variants()
    handler = _handler(pool, provider)
    first = await _first_product(handler, pool, owner)
    provider.asked.clear()
    again = _decoded(await _handle(handler, pool, _trend(owner)))
    assert isinstance(again, ProductRejected)
    assert again.existing_product_id == first.product_id
    assert [asked.variant for asked in provider.asked] == [0]


async def test_variants_are_asked_a_bounded_number_of_times_then_the_keyword_links(pool: Any) -> None:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    provider = _Variants(distinct=False)
    handler = _handler(pool, provider)
    first = await _first_product(handler, pool, owner)
    provider.asked.clear()
    again = _decoded(await _handle(handler, pool, _trend(owner, variants=True)))
    assert isinstance(again, ProductRejected)
    assert again.existing_product_id == first.product_id
    assert len(provider.asked) == VARIANT_TRIES
    assert [asked.variant for asked in provider.asked] == list(range(VARIANT_TRIES))


async def test_a_variant_the_provider_cannot_give_keeps_the_link_to_the_existing_product(pool: Any) -> None:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    provider = _Variants(refuse_variants=True)
    handler = _handler(pool, provider)
    first = await _first_product(handler, pool, owner)
    again = _decoded(await _handle(handler, pool, _trend(owner, variants=True)))
    assert isinstance(again, ProductRejected)
    assert (again.reason, again.existing_product_id) == ("guard_failed", first.product_id)
