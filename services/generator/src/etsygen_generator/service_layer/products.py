"""In the consumer's transaction: record what the concepts cost, stop near-duplicates of the owner's
products, store the products, and say which ``products.generated`` / ``products.rejected`` events to emit.

Product and event ids are derived from the trend event and the concept index, so a redelivered trend never
adds a product.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

from etsygen_common.contracts import (
    Event,
    Evidence,
    ProductConcept,
    ProductGenerated,
    ProductRejected,
    ProviderUsage,
    TrendScored,
    ValidationReport,
)
from etsygen_common.envelope import deterministic_id
from etsygen_generator.adapters import repository
from etsygen_generator.domain.compose import design_prompt, suggest_price
from etsygen_generator.domain.guards import (
    DuplicateThresholds,
    ExistingProduct,
    GuardRejection,
    PendingProducts,
    ProductIndex,
    check_near_duplicate,
    fingerprint,
)
from etsygen_generator.metrics import COST, PRODUCTS, SERVICE, TOKENS
from etsygen_generator.service_layer.concepts import Outcome

OWNER_INDEXES = 1_000
"""Owners whose newest products one generator process keeps indexed (about 1 KB per product; least
recently used owners go first)."""


class Transaction(Protocol):
    """What storing outcomes needs of the consumer's transaction (a ``HandlerContext`` is one)."""

    conn: Any
    shared: dict[Any, Any]

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction committed."""


class ProductStore:
    """Turns a niche's outcomes into products or rejections; keeps the owners' product indexes."""

    def __init__(self, thresholds: DuplicateThresholds) -> None:
        self._thresholds = thresholds
        self._owners: dict[str, ProductIndex] = {}

    async def record(
        self, tx: Transaction, trend: TrendScored, outcomes: list[Outcome], *, trend_event_id: str
    ) -> list[tuple[Event, str]]:
        """Store the outcomes of ``trend`` (the event ``trend_event_id``); return the events to emit and
        their ids."""
        events: list[tuple[Event, str]] = []
        products: PendingProducts | None = None
        for outcome in outcomes:
            event_id = deterministic_id("concept", trend_event_id, str(outcome.index))
            if outcome.usage is not None:
                await repository.record_usage(
                    tx.conn,
                    trend.owner_id,
                    trend.job_id,
                    outcome.usage,
                    "generated" if outcome.rejection is None else "rejected",
                )
                tx.on_commit(functools.partial(_count_usage, outcome.usage))
            rejection = outcome.rejection
            if rejection is None and outcome.concept is not None:
                if products is None:
                    products = await self._owner_products(tx, trend.owner_id)
                existing = products.candidates(outcome.concept, self._thresholds)
                rejection = check_near_duplicate(outcome.concept, existing, self._thresholds)
            if (
                rejection is not None
                or outcome.concept is None
                or outcome.report is None
                or outcome.usage is None
            ):
                events.append((_rejected(tx, trend, outcome, rejection), event_id))
                continue
            product = _product(
                trend,
                outcome,
                concept=outcome.concept,
                report=outcome.report,
                usage=outcome.usage,
                trend_event_id=trend_event_id,
            )
            seq = await repository.insert_product(tx.conn, product)
            if seq is not None:
                tx.on_commit(PRODUCTS.labels(SERVICE, "generated", "").inc)
                if products is None:
                    products = await self._owner_products(tx, trend.owner_id)
                concept = product.concept
                # Compared with later concepts at once; in the index only once the transaction committed.
                products.add(
                    seq,
                    fingerprint(
                        ExistingProduct(product_id=product.product_id, title=concept.title, tags=concept.tags)
                    ),
                )
            events.append((product, event_id))
        return events

    async def _owner_products(self, tx: Transaction, owner_id: str) -> PendingProducts:
        """The owner's newest products as this transaction sees them (once per transaction and owner).

        The transaction holds the owner's lock (:func:`repository.owner_products_lock`), so it reads only the
        products stored since the newest one this process knows: no process can store one for this owner
        meanwhile. Those are committed, so the in-memory index takes them at once; what this transaction
        stores joins the index when it commits.
        """
        key = ("owner-products", owner_id)
        view: PendingProducts | None = tx.shared.get(key)
        if view is not None:
            return view
        index = self._owners.pop(owner_id, None) or ProductIndex(repository.RECENT_PRODUCTS)
        self._owners[owner_id] = index  # most recently used last
        if len(self._owners) > OWNER_INDEXES:
            del self._owners[next(iter(self._owners))]
        newer = await repository.products_after(tx.conn, owner_id, index.last_seq, index.limit)
        index.extend((seq, fingerprint(product)) for seq, product in newer)
        view = PendingProducts(index)
        tx.shared[key] = view
        tx.on_commit(view.commit)
        return view


def _rejected(
    tx: Transaction, trend: TrendScored, outcome: Outcome, rejection: GuardRejection | None
) -> ProductRejected:
    reason = rejection.reason if rejection else "provider_failed"
    tx.on_commit(PRODUCTS.labels(SERVICE, "rejected", reason).inc)
    return ProductRejected(
        job_id=trend.job_id,
        owner_id=trend.owner_id,
        keyword=trend.keyword,
        reason=reason,
        detail=rejection.detail if rejection else "",
        concept_index=outcome.index,
        expected_concepts=outcome.expected,
        existing_product_id=rejection.product_id if rejection else None,
    )


def _product(
    trend: TrendScored,
    outcome: Outcome,
    *,
    concept: ProductConcept,
    report: ValidationReport,
    usage: ProviderUsage,
    trend_event_id: str,
) -> ProductGenerated:
    return ProductGenerated(
        job_id=trend.job_id,
        owner_id=trend.owner_id,
        keyword=trend.keyword,
        product_id=deterministic_id("product", trend_event_id, str(outcome.index)),
        concept=concept,
        price=suggest_price(trend.price_band),
        design=design_prompt(concept, trend.keyword, trend.evidence),
        validation=report,
        evidence=Evidence(
            keyword=trend.keyword, score=trend.score, risk=trend.risk, top_tags=trend.top_tags[:13]
        ),
        usage=usage,
        concept_index=outcome.index,
        expected_concepts=outcome.expected,
    )


def _count_usage(usage: ProviderUsage) -> None:
    TOKENS.labels(SERVICE, usage.provider, "prompt").inc(usage.prompt_tokens)
    TOKENS.labels(SERVICE, usage.provider, "completion").inc(usage.completion_tokens)
    COST.labels(SERVICE, usage.provider).inc(usage.cost_usd)
