"""Admin-only operations: dead letters, circuit breakers, invitations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from etsygen_gateway.api import problems
from etsygen_gateway.api.access import principal_of
from etsygen_gateway.api.routes.common import Pool, Redis, Settings
from etsygen_gateway.api.schemas import MAX_ID, InvitationCreate, InvitationCreated
from etsygen_gateway.domain.text import PLAIN_TEXT, whole
from etsygen_gateway.domain.views import BreakerList, DeadLetterDetail, DeadLetterPage, DeadLetterSummary
from etsygen_gateway.service_layer import accounts, operations
from etsygen_gateway.service_layer.operations import ReplayResult

LetterId = Annotated[int, PathParameter(ge=1, le=MAX_ID, description="dead letter id")]
Text = Annotated[str | None, QueryParameter(min_length=1, max_length=300, pattern=PLAIN_TEXT)]


class AdminController(Controller):
    """Operations on the platform as a whole (admin role and, for API keys, the admin scope)."""

    path = "/v1/admin"
    tags = ("admin",)
    opt = {"requires": "admin"}  # noqa: RUF012 - Litestar reads (and merges) layer options

    @get("/dead-letters", responses=problems.responses(*problems.COMMON))
    async def list_dead_letters(
        self,
        pool: Pool,
        status: FromQuery[Literal["pending", "replayed", "discarded"] | None] = None,
        topic: Text = None,
        consumer_group: Text = None,
        exception_type: Text = None,
        cursor: Annotated[str | None, QueryParameter(max_length=30, pattern=whole("[0-9]+"))] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> DeadLetterPage:
        """Dead letters newest first, filtered by status, original topic, consumer group or exception type."""
        return await operations.dead_letters(
            pool,
            status=status,
            topic=topic,
            consumer_group=consumer_group,
            exception_type=exception_type,
            cursor=cursor,
            limit=limit,
        )

    @get("/dead-letters/{letter_id:int}", responses=problems.responses(*problems.COMMON, 404))
    async def get_dead_letter(self, pool: Pool, letter_id: LetterId) -> DeadLetterDetail:
        """One dead letter: failure headers, original headers, key and body."""
        return await operations.dead_letter(pool, letter_id)

    @post(
        "/dead-letters/{letter_id:int}/replay",
        status_code=HTTP_200_OK,
        opt={"rate": "replay"},
        responses=problems.responses(*problems.COMMON, 404, 409),
    )
    async def replay(
        self,
        pool: Pool,
        letter_id: LetterId,
        dry_run: Annotated[bool, QueryParameter(description="only show what would be sent")] = False,
    ) -> ReplayResult:
        """Re-publish the original record to its topic through the outbox (rate-limited)."""
        return await operations.replay(pool, letter_id, dry_run=dry_run)

    @post(
        "/dead-letters/{letter_id:int}/discard",
        status_code=HTTP_200_OK,
        responses=problems.responses(*problems.COMMON, 404),
    )
    async def discard(self, pool: Pool, letter_id: LetterId) -> DeadLetterSummary:
        """Mark a dead letter as dealt with (retention removes it later)."""
        return await operations.discard(pool, letter_id)

    @get("/breakers", responses=problems.responses(*problems.COMMON))
    async def breakers(self, settings: Settings, redis: Redis) -> BreakerList:
        """Circuit-breaker states of every service, as they last wrote them to Redis."""
        return await operations.breakers(redis, settings.common.redis.key_prefix)

    @post("/invitations", status_code=HTTP_201_CREATED, responses=problems.responses(*problems.COMMON, 422))
    async def invite(
        self,
        settings: Settings,
        pool: Pool,
        request: Request[Any, Any, Any],
        data: JSONBody[InvitationCreate],
    ) -> InvitationCreated:
        """Invite someone; the token (shown once) goes into their sign-up request."""
        token, expires_at = await accounts.invite(
            pool,
            principal_of(request),
            email=data.email,
            role=data.role,
            ttl_s=settings.gateway.invitation_ttl_s,
        )
        return InvitationCreated(
            token=token, email=data.email.strip().lower(), role=data.role, expires_at=expires_at
        )
