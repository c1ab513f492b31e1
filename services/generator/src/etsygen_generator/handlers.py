"""Kafka handlers of the generator: concepts for scored niches, draft listings on request."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from etsygen_common.breaker import Breaker, BreakerOpenError
from etsygen_common.contracts import (
    Evidence,
    ListingPublished,
    ProductConcept,
    ProductGenerated,
    ProductRejected,
    ProviderUsage,
    PublishRequested,
    TrendScored,
    ValidationReport,
)
from etsygen_common.contracts.products import RejectReason
from etsygen_common.envelope import deterministic_id
from etsygen_common.kafka import FatalError, HandlerContext, PauseConsumption
from etsygen_common.logging import get_logger
from etsygen_generator.adapters import repository
from etsygen_generator.adapters.etsy_drafts import DraftError, EtsyDraftClient
from etsygen_generator.adapters.providers import (
    ConceptProvider,
    ConceptRequest,
    InvalidConceptError,
    ProviderAuthError,
    ProviderError,
    ProviderRequestError,
    generate_valid_concept,
)
from etsygen_generator.domain.compose import design_prompt, suggest_price
from etsygen_generator.domain.guards import (
    AIBudget,
    BrandBlocklist,
    DuplicateThresholds,
    ExistingProduct,
    GuardRejection,
    PendingProducts,
    ProductIndex,
    check_brands,
    check_budget,
    check_near_duplicate,
    check_trend,
    fingerprint,
    without_brand_evidence,
)
from etsygen_generator.metrics import (
    COST,
    LISTINGS_CREATED,
    PRODUCTS,
    PROVIDER_ERRORS,
    PROVIDER_SECONDS,
    SERVICE,
    TOKENS,
)

log = get_logger(__name__)

OWNER_INDEXES = 1_000
"""Owners whose newest products one generator process keeps indexed (about 1 KB per product; least
recently used owners go first)."""


@dataclass(frozen=True, slots=True)
class _Rejection:
    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True)
class _Outcome:
    index: int
    expected: int
    concept: ProductConcept | None = None
    report: ValidationReport | None = None
    usage: ProviderUsage | None = None
    rejection: GuardRejection | _Rejection | None = None


class TrendScoredHandler:
    """``etsygen.trends.scored.v1`` → products and ``products.generated`` / ``products.rejected`` events.

    For a niche that passes the gate it emits ``concepts_per_niche`` outcomes (each a product or a rejection
    with its reason); otherwise one rejection. The provider is called in ``prepare``, before the transaction,
    through the provider's circuit breaker; the near-duplicate guard and the writes run in the transaction.
    Product ids are derived from the trend event and concept index, so redelivery never adds a product.
    """

    def __init__(
        self,
        provider: ConceptProvider,
        breaker: Breaker,
        *,
        blocklist: BrandBlocklist,
        thresholds: DuplicateThresholds,
        budget: AIBudget,
        max_attempts: int,
        pool: Any = None,
    ) -> None:
        self._provider = provider
        self._breaker = breaker
        self._blocklist = blocklist
        self._thresholds = thresholds
        self._budget = budget
        self._max_attempts = max_attempts
        self.pool = pool
        self._owners: dict[str, ProductIndex] = {}

    def locks(self, trend: TrendScored) -> list[str]:
        """The owner's products lock (see :func:`repository.owner_products_lock`), taken by the consumer at
        the start of the transaction."""
        return [repository.owner_products_lock(trend.owner_id)]

    async def _owner_products(self, ctx: HandlerContext, owner_id: str) -> PendingProducts:
        """The owner's newest products as this transaction sees them (once per transaction and owner).

        The transaction holds the owner's lock (:meth:`locks`), so it reads only the products stored since
        the newest one this process knows: no process can store one for this owner meanwhile. Those are
        committed, so the in-memory index takes them at once; what this transaction stores joins the index
        when it commits.
        """
        key = ("owner-products", owner_id)
        view: PendingProducts | None = ctx.shared.get(key)
        if view is not None:
            return view
        index = self._owners.pop(owner_id, None) or ProductIndex(repository.RECENT_PRODUCTS)
        self._owners[owner_id] = index  # most recently used last
        if len(self._owners) > OWNER_INDEXES:
            del self._owners[next(iter(self._owners))]
        newer = await repository.products_after(ctx.conn, owner_id, index.last_seq, index.limit)
        index.extend((seq, fingerprint(product)) for seq, product in newer)
        view = PendingProducts(index)
        ctx.shared[key] = view
        ctx.on_commit(view.commit)
        return view

    async def prepare(self, trend: TrendScored) -> list[_Outcome]:
        """Gate the niche, check the budget, and ask the provider for each concept."""
        gate = check_trend(trend)
        if gate is not None:
            return [_Outcome(index=0, expected=1, rejection=gate)]
        expected = trend.concepts_per_niche
        outcomes: list[_Outcome] = []
        for index in range(expected):
            if self._provider.billable and self.pool is not None:
                async with self.pool.acquire() as conn:
                    used = await repository.usage_today(conn, trend.owner_id)
                refusal = check_budget(used, self._budget)
                if refusal is not None:
                    outcomes.append(_Outcome(index=index, expected=expected, rejection=refusal))
                    continue
            outcomes.append(await self._generate(trend, index, expected))
        return outcomes

    async def _generate(self, trend: TrendScored, index: int, expected: int) -> _Outcome:
        request = ConceptRequest.from_trend(without_brand_evidence(trend, self._blocklist), variant=index)
        started = time.perf_counter()
        name = self._provider.name
        try:
            generated = await self._breaker.call(
                generate_valid_concept, self._provider, request, max_attempts=self._max_attempts
            )
        except BreakerOpenError as exc:
            raise PauseConsumption(max(exc.retry_after, 0.5), str(exc), cause="breaker_open") from exc
        except InvalidConceptError as exc:
            return _Outcome(
                index=index,
                expected=expected,
                usage=exc.usage,
                report=exc.report,
                rejection=_Rejection(reason="invalid_output", detail=str(exc)[:500]),
            )
        except (ProviderAuthError, ProviderRequestError) as exc:
            # A configuration problem: retrying cannot help, the user must fix the provider settings.
            PROVIDER_ERRORS.labels(SERVICE, name, type(exc).__name__).inc()
            return _Outcome(
                index=index,
                expected=expected,
                usage=exc.spent,
                rejection=_Rejection(reason="provider_failed", detail=f"{exc}; check AI_* settings"),
            )
        except ProviderError as exc:
            PROVIDER_ERRORS.labels(SERVICE, name, type(exc).__name__).inc()
            raise  # retryable: the consumer hands the record to its retry topics
        finally:
            PROVIDER_SECONDS.labels(SERVICE, name).observe(time.perf_counter() - started)
        brand = check_brands(generated.concept, self._blocklist)
        return _Outcome(
            index=index,
            expected=expected,
            concept=generated.concept,
            report=generated.report,
            usage=generated.usage,
            rejection=brand,
        )

    async def __call__(self, ctx: HandlerContext, trend: TrendScored) -> None:
        """Apply the prepared outcomes in the consumer's transaction."""
        outcomes: list[_Outcome] = ctx.prepared
        products: PendingProducts | None = None
        for outcome in outcomes:
            event_id = deterministic_id("concept", ctx.event_id, str(outcome.index))
            if outcome.usage is not None:
                await repository.record_usage(
                    ctx.conn,
                    trend.owner_id,
                    trend.job_id,
                    outcome.usage,
                    "generated" if outcome.rejection is None else "rejected",
                )
                ctx.on_commit(functools.partial(_count_usage, outcome.usage))
            rejection = outcome.rejection
            if rejection is None and outcome.concept is not None:
                if products is None:
                    products = await self._owner_products(ctx, trend.owner_id)
                existing = products.candidates(outcome.concept, self._thresholds)
                rejection = check_near_duplicate(outcome.concept, existing, self._thresholds)
            if (
                rejection is not None
                or outcome.concept is None
                or outcome.report is None
                or outcome.usage is None
            ):
                reason = rejection.reason if rejection else "provider_failed"
                ctx.on_commit(PRODUCTS.labels(SERVICE, "rejected", reason).inc)
                ctx.emit(
                    ProductRejected(
                        job_id=trend.job_id,
                        owner_id=trend.owner_id,
                        keyword=trend.keyword,
                        reason=reason,
                        detail=rejection.detail if rejection else "",
                        concept_index=outcome.index,
                        expected_concepts=outcome.expected,
                    ),
                    event_id=event_id,
                )
                continue
            product = ProductGenerated(
                job_id=trend.job_id,
                owner_id=trend.owner_id,
                keyword=trend.keyword,
                product_id=deterministic_id("product", ctx.event_id, str(outcome.index)),
                concept=outcome.concept,
                price=suggest_price(trend.price_band),
                design=design_prompt(outcome.concept, trend.keyword),
                validation=outcome.report,
                evidence=Evidence(
                    keyword=trend.keyword, score=trend.score, risk=trend.risk, top_tags=trend.top_tags[:13]
                ),
                usage=outcome.usage,
                concept_index=outcome.index,
                expected_concepts=outcome.expected,
            )
            seq = await repository.insert_product(ctx.conn, product)
            if seq is not None:
                ctx.on_commit(PRODUCTS.labels(SERVICE, "generated", "").inc)
                if products is None:
                    products = await self._owner_products(ctx, trend.owner_id)
                concept = product.concept
                # Compared with later concepts at once; in the index only once the transaction committed.
                products.add(
                    seq,
                    fingerprint(
                        ExistingProduct(product_id=product.product_id, title=concept.title, tags=concept.tags)
                    ),
                )
            ctx.emit(product, event_id=event_id)


def _count_usage(usage: ProviderUsage) -> None:
    TOKENS.labels(SERVICE, usage.provider, "prompt").inc(usage.prompt_tokens)
    TOKENS.labels(SERVICE, usage.provider, "completion").inc(usage.completion_tokens)
    COST.labels(SERVICE, usage.provider).inc(usage.cost_usd)


class PublishHandler:
    """``etsygen.products.publish-requested.v1`` → an Etsy draft and ``etsygen.listings.published.v1``.

    Only drafts are created; activating a listing costs the seller money and is never automatic.
    """

    def __init__(
        self,
        client: EtsyDraftClient | None,
        *,
        user_id: int | None,
        refresh_token: str | None,
        taxonomy_id: int,
    ) -> None:
        self._client = client
        self._user_id = user_id
        self._refresh_token = refresh_token
        self._taxonomy_id = taxonomy_id
        self.pool: Any = None

    async def prepare(self, event: PublishRequested) -> tuple[int, str, str | None] | None:
        """Create the draft on Etsy (outside the transaction); None when it exists already."""
        if self._client is None or self._user_id is None:
            raise FatalError(
                "publishing is not configured: set ETSY_API_KEY, ETSY_SELLER_USER_ID and "
                "ETSY_SELLER_REFRESH_TOKEN for the generator"
            )
        async with self.pool.acquire() as conn:
            if await repository.publication(conn, event.product_id) is not None:
                return None
            body = await repository.load_product(conn, event.product_id, event.owner_id)
            token = await repository.token_for(conn, self._user_id)
        if body is None:
            raise FatalError(f"product {event.product_id} of owner {event.owner_id} does not exist")
        product = msgspec.convert(body, ProductGenerated)
        access = await self._access_token(token)
        concept = product.concept
        fields: dict[str, Any] = {
            "quantity": 1,
            "title": concept.title,
            "description": concept.description,
            "price": f"{product.price.price.amount:.2f}",
            "who_made": concept.who_made,
            "when_made": concept.when_made,
            "taxonomy_id": concept.taxonomy_id or self._taxonomy_id,
            "tags": concept.tags,
            "is_supply": "false",
        }
        if concept.materials:
            fields["materials"] = concept.materials
        if concept.styles:
            fields["styles"] = concept.styles
        try:
            return await self._client.create_draft(
                shop_id=event.shop_id, user_id=self._user_id, access_token=access, fields=fields
            )
        except DraftError as exc:
            if exc.retryable:
                raise
            raise FatalError(str(exc)) from exc

    async def _access_token(self, stored: Any) -> str:
        assert self._client is not None
        assert self._user_id is not None
        if stored is not None and stored["expires_at"] > datetime.now(UTC) + timedelta(seconds=60):
            return str(stored["access_token"])
        refresh = stored["refresh_token"] if stored is not None else self._refresh_token
        if not refresh:
            raise FatalError("no OAuth refresh token for the seller: set ETSY_SELLER_REFRESH_TOKEN")
        token = await self._client.refresh(refresh)
        async with self.pool.acquire() as conn:
            await repository.save_token(
                conn, self._user_id, token.access_token, token.refresh_token, token.expires_at
            )
        return token.access_token

    async def __call__(self, ctx: HandlerContext, event: PublishRequested) -> None:
        """Record the draft and emit the published event."""
        created = ctx.prepared
        if created is None:
            return
        listing_id, state, url = created
        await repository.insert_publication(
            ctx.conn,
            product_id=event.product_id,
            owner_id=event.owner_id,
            shop_id=event.shop_id,
            remote_listing_id=listing_id,
            state=state,
            by=event.requested_by,
        )
        ctx.on_commit(LISTINGS_CREATED.labels(SERVICE).inc)
        ctx.emit(
            ListingPublished(
                job_id=event.job_id,
                owner_id=event.owner_id,
                product_id=event.product_id,
                remote_listing_id=listing_id,
                shop_id=event.shop_id,
                state=state,
                url=url,
            ),
            event_id=deterministic_id("published", ctx.event_id),
        )
