"""Research jobs: submit, list, inspect with per-keyword progress, timeline, cancel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.openapi.spec.enums import OpenAPIFormat
from litestar.params import FromQuery, HeaderParameter, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from etsygen_gateway.api import problems
from etsygen_gateway.api.access import RequestBudgets, principal_of
from etsygen_gateway.api.routes.common import (
    CachedJson,
    JobService,
    Limiter,
    RateTiers,
    cached_json,
    documented,
    jobs_of,
)
from etsygen_gateway.api.schemas import MAX_ID, JobCreate
from etsygen_gateway.domain.pagination import UUID_ID, cursor_pattern
from etsygen_gateway.domain.text import whole
from etsygen_gateway.domain.views import JobDetail, JobPage, JobTimeline, JobView
from etsygen_gateway.errors import InvalidRequestError

JobStatusFilter = Literal["queued", "running", "succeeded", "partially_failed", "failed", "cancelled"]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=200,
        required=False,
        description="Repeat a POST safely: the same key returns the job the first request created",
    ),
]
JobId = Annotated[UUID, PathParameter(description="job id")]
JobCursor = Annotated[
    str | None,
    QueryParameter(
        max_length=200, pattern=cursor_pattern(["created"], UUID_ID), description="next_cursor of a page"
    ),
]


RFC3339: Final = whole(
    r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
"""An RFC 3339 date-time as Python reads it: upper-case ``T`` and ``Z``, no leap second, year 1 or later."""


def instant_parameter(description: str) -> Any:
    """A query parameter holding an RFC 3339 date-time (a string, so that no number passes for one)."""
    return QueryParameter(pattern=RFC3339, format=OpenAPIFormat.DATE_TIME, description=description)


def _instant(value: str | None) -> datetime | None:
    """The instant ``value`` names, in UTC (out of range in UTC: the earliest or latest one there is)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:  # the pattern admits the 31st of every month
        raise InvalidRequestError(f"{value!r} is not a date-time that exists") from None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if parsed.year == 1 else datetime.max.replace(tzinfo=UTC)


class JobController(Controller):
    """The caller's research jobs."""

    path = "/v1/jobs"
    tags = ("jobs",)

    @post(
        "/",
        status_code=HTTP_202_ACCEPTED,
        opt={"requires": "write"},
        responses=problems.responses(*problems.COMMON, 422),
    )
    async def submit(
        self,
        jobs: JobService,
        tiers: RateTiers,
        limiter: Limiter,
        request: Request[Any, Any, Any],
        data: JSONBody[JobCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobView]:
        """Accept a research job; the pipeline works on it asynchronously (follow ``Location``)."""
        principal = principal_of(request)
        job, _created = await jobs.submit_job(
            principal,
            keywords=list(data.keywords),
            marketplace=data.marketplace,
            listing_budget=data.listing_budget,
            generation=data.generation,
            idempotency_key=idempotency_key,
            ai=RequestBudgets(request, limiter, [(tiers.ai, principal.rate_identity)]),
        )
        return Response(job, status_code=HTTP_202_ACCEPTED, headers={"Location": f"/v1/jobs/{job.id}"})

    @get(
        "/",
        opt={"requires": "read"},
        responses={**problems.responses(*problems.COMMON, 422), **documented(JobPage)},
    )
    async def list_jobs(
        self,
        request: Request[Any, Any, Any],
        status: FromQuery[JobStatusFilter | None] = None,
        created_after: Annotated[str | None, instant_parameter(description="created at or after")] = None,
        created_before: Annotated[str | None, instant_parameter(description="created before")] = None,
        cursor: JobCursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> CachedJson:
        """The caller's jobs, newest first."""
        data = await jobs_of(request).jobs_json(
            principal_of(request),
            status=status,
            created_after=_instant(created_after),
            created_before=_instant(created_before),
            cursor=cursor,
            limit=limit,
        )
        return cached_json(data)

    @get(
        "/{job_id:uuid}",
        opt={"requires": "read"},
        responses={**problems.responses(*problems.COMMON, 404), **documented(JobDetail)},
    )
    async def get_job(self, request: Request[Any, Any, Any], job_id: JobId) -> CachedJson:
        """A job with every keyword's scrape/analyze/generate status."""
        return cached_json(await jobs_of(request).job_json(principal_of(request), str(job_id)))

    @get(
        "/{job_id:uuid}/timeline",
        opt={"requires": "read"},
        responses=problems.responses(*problems.COMMON, 404),
    )
    async def job_timeline(
        self,
        jobs: JobService,
        request: Request[Any, Any, Any],
        job_id: JobId,
        after: Annotated[int, QueryParameter(le=MAX_ID, description="only entries after this id")] = 0,
    ) -> JobTimeline:
        """The job's timeline (what happened, in order)."""
        return JobTimeline(items=await jobs.timeline(principal_of(request), str(job_id), max(0, after)))

    @post(
        "/{job_id:uuid}/cancel",
        status_code=200,
        opt={"requires": "write"},
        responses=problems.responses(*problems.COMMON, 404, 409),
    )
    async def cancel(self, jobs: JobService, request: Request[Any, Any, Any], job_id: JobId) -> JobView:
        """Cancel an unfinished job."""
        return await jobs.cancel_job(principal_of(request), str(job_id))
