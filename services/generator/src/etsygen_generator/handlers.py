"""Kafka handlers of the generator: concepts for scored niches, draft listings on request.

Each handler is the consumer's view of a use case in :mod:`etsygen_generator.service_layer`: ``prepare``
runs the use case's I/O before the transaction, ``__call__`` stores its result and emits the events in it.
"""

from __future__ import annotations

from etsygen_common.contracts import PublishRequested, TrendScored
from etsygen_common.envelope import deterministic_id
from etsygen_common.kafka import HandlerContext
from etsygen_generator.adapters import repository
from etsygen_generator.metrics import LISTINGS_CREATED, SERVICE
from etsygen_generator.service_layer.concepts import ConceptGeneration, Outcome
from etsygen_generator.service_layer.products import ProductStore
from etsygen_generator.service_layer.publishing import Draft, Publishing, record_publication


class TrendScoredHandler:
    """``etsygen.trends.scored.v1`` → products and ``products.generated`` / ``products.rejected`` events.

    For a niche that passes the gate it emits ``concepts_per_niche`` outcomes (each a product or a rejection
    with its reason); otherwise one rejection. The provider is called in ``prepare``, before the transaction,
    through the provider's circuit breaker; the near-duplicate guard and the writes run in the transaction.
    """

    def __init__(self, generation: ConceptGeneration, store: ProductStore) -> None:
        self._generation = generation
        self._store = store

    def locks(self, trend: TrendScored) -> list[str]:
        """The owner's products lock (see :func:`repository.owner_products_lock`), taken by the consumer at
        the start of the transaction."""
        return [repository.owner_products_lock(trend.owner_id)]

    async def prepare(self, trend: TrendScored) -> list[Outcome]:
        """Gate the niche, check the budget, and ask the provider for each concept."""
        return await self._generation.outcomes(trend)

    async def __call__(self, ctx: HandlerContext, trend: TrendScored) -> None:
        """Store the prepared outcomes and emit them in the consumer's transaction."""
        for event, event_id in await self._store.record(
            ctx, trend, ctx.prepared, trend_event_id=ctx.event_id
        ):
            ctx.emit(event, event_id=event_id)


class PublishHandler:
    """``etsygen.products.publish-requested.v1`` → an Etsy draft and ``etsygen.listings.published.v1``."""

    def __init__(self, publishing: Publishing) -> None:
        self._publishing = publishing

    async def prepare(self, event: PublishRequested) -> Draft | None:
        """Create the draft on Etsy (outside the transaction); None when it exists already."""
        return await self._publishing.create_draft(event)

    async def __call__(self, ctx: HandlerContext, event: PublishRequested) -> None:
        """Record the draft and emit the published event."""
        draft: Draft | None = ctx.prepared
        if draft is None:
            return
        published = await record_publication(ctx.conn, event, draft)
        ctx.on_commit(LISTINGS_CREATED.labels(SERVICE).inc)
        ctx.emit(published, event_id=deterministic_id("published", ctx.event_id))
