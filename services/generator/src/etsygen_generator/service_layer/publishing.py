"""Publishing a product as an Etsy draft listing: the seller's access token (refreshed when it is about to
expire), the draft created on Etsy before the transaction, then the publication row and its event in it.

Only drafts are created; activating a listing costs the seller money and is never automatic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from etsygen_common.contracts import ListingPublished, ProductGenerated, PublishRequested
from etsygen_common.kafka import FatalError
from etsygen_generator.adapters import repository
from etsygen_generator.adapters.etsy_drafts import DraftError, EtsyDraftClient
from etsygen_generator.domain.drafts import draft_fields

TOKEN_MARGIN = timedelta(seconds=60)
"""A stored access token this close to expiring is refreshed first, so it cannot expire mid-request."""


@dataclass(frozen=True, slots=True)
class Draft:
    """A draft listing created on Etsy."""

    listing_id: int
    state: str
    url: str | None


class Publishing:
    """Creates drafts for one configured seller; ``pool`` is the runtime's late-bound pool."""

    def __init__(
        self,
        client: EtsyDraftClient | None,
        *,
        user_id: int | None,
        refresh_token: str | None,
        taxonomy_id: int,
        pool: Any = None,
    ) -> None:
        self._client = client
        self._user_id = user_id
        self._refresh_token = refresh_token
        self._taxonomy_id = taxonomy_id
        self.pool = pool

    async def create_draft(self, event: PublishRequested) -> Draft | None:
        """Create the draft on Etsy (outside the transaction); None when the product is published already.

        Raises:
            FatalError: publishing is not configured, the product does not exist, or Etsy refused the draft
                for good.
            DraftError: a retryable Etsy failure.
        """
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
        access = await self._access_token(self._client, self._user_id, token)
        try:
            listing_id, state, url = await self._client.create_draft(
                shop_id=event.shop_id,
                user_id=self._user_id,
                access_token=access,
                fields=draft_fields(product, default_taxonomy_id=self._taxonomy_id),
            )
        except DraftError as exc:
            if exc.retryable:
                raise
            raise FatalError(str(exc)) from exc
        return Draft(listing_id=listing_id, state=state, url=url)

    async def _access_token(self, client: EtsyDraftClient, user_id: int, stored: Any) -> str:
        """The stored access token while it is valid, else a refreshed one (stored for the next draft)."""
        if stored is not None and stored["expires_at"] > datetime.now(UTC) + TOKEN_MARGIN:
            return str(stored["access_token"])
        refresh = stored["refresh_token"] if stored is not None else self._refresh_token
        if not refresh:
            raise FatalError("no OAuth refresh token for the seller: set ETSY_SELLER_REFRESH_TOKEN")
        token = await client.refresh(refresh)
        async with self.pool.acquire() as conn:
            await repository.save_token(
                conn, user_id, token.access_token, token.refresh_token, token.expires_at
            )
        return token.access_token


async def record_publication(conn: Any, event: PublishRequested, draft: Draft) -> ListingPublished:
    """Store the draft as the product's publication (in the consumer's transaction); the event to emit."""
    await repository.insert_publication(
        conn,
        product_id=event.product_id,
        owner_id=event.owner_id,
        shop_id=event.shop_id,
        remote_listing_id=draft.listing_id,
        state=draft.state,
        by=event.requested_by,
    )
    return ListingPublished(
        job_id=event.job_id,
        owner_id=event.owner_id,
        product_id=event.product_id,
        remote_listing_id=draft.listing_id,
        shop_id=event.shop_id,
        state=draft.state,
        url=draft.url,
    )
