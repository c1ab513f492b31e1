"""Live streams: a job's progress (WebSocket and SSE) and system health (WebSocket).

A job stream first sends the job's state, then every timeline entry after ``Last-Event-ID`` (SSE) or from
the start, then waits for notices from the projections (Postgres NOTIFY, see ``adapters.live``) and sends
what is new, re-read from Postgres. It ends once the job is finished. Without a listening connection it
falls back to polling every few seconds; heartbeats keep proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from litestar import Request, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import HeaderParameter, PathParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from etsygen_common.late import Late
from etsygen_gateway.adapters.live import LiveHub
from etsygen_gateway.api import problems
from etsygen_gateway.api.access import principal_of
from etsygen_gateway.api.routes.common import HealthChecks, JobService, LiveHubOf, Settings
from etsygen_gateway.domain.accounts import Principal
from etsygen_gateway.domain.jobs import TERMINAL_JOB
from etsygen_gateway.domain.text import whole
from etsygen_gateway.metrics import LIVE_SUBSCRIBERS, SERVICE
from etsygen_gateway.service_layer.jobs import Jobs

HEARTBEAT_S: Final = 15.0
POLL_WITHOUT_LISTENER_S: Final = 2.0

_json = msgspec.json.Encoder()


class StreamItem(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a job stream: ``job`` (state), ``timeline`` (an entry), ``heartbeat`` or ``end``."""

    type: str
    id: int | None = None
    data: Any = None


async def job_stream(
    jobs: Jobs, live: Late, principal: Principal, job_id: str, after_id: int = 0
) -> AsyncGenerator[StreamItem, None]:
    """The stream of one of the caller's jobs (raises NotFoundError before yielding when it is not theirs).

    ``live`` is the live hub, unbound when the gateway does not listen (the stream polls then).
    """
    job = await jobs.job_state(principal, job_id)
    hub = live.get()
    queue = hub.subscribe(job_id) if hub is not None else None
    try:
        yield StreamItem(type="job", data=job)
        last_id = after_id
        while True:
            entries = await jobs.timeline(principal, job_id, after_id=last_id)
            for entry in entries:
                last_id = entry.id
                yield StreamItem(type="timeline", id=entry.id, data=entry)
            if entries:
                job = await jobs.job_state(principal, job_id)
                yield StreamItem(type="job", id=last_id, data=job)
                continue  # more may have committed meanwhile: read again before waiting
            if job.status in TERMINAL_JOB:
                yield StreamItem(type="end", id=last_id, data=job)
                return
            if not await _wait_for_notice(queue, hub):
                yield StreamItem(type="heartbeat", id=last_id)
    finally:
        if queue is not None and hub is not None:
            hub.unsubscribe(job_id, queue)


async def _wait_for_notice(queue: asyncio.Queue[Any] | None, hub: LiveHub | None) -> bool:
    """True when a notice arrived (or it is time to poll); False on a heartbeat interval without one."""
    listening = queue is not None and hub is not None and hub.connected
    timeout = HEARTBEAT_S if listening else POLL_WITHOUT_LISTENER_S
    if queue is None:
        await asyncio.sleep(timeout)
        return True
    try:
        await asyncio.wait_for(queue.get(), timeout)
    except TimeoutError:
        return not listening
    while not queue.empty():  # coalesce a burst into one re-read
        queue.get_nowait()
    return True


@get(
    "/v1/jobs/{job_id:uuid}/events",
    opt={"requires": "read"},
    tags=["jobs"],
    media_type="text/event-stream",
    responses=problems.responses(400, 401, 403, 404, 429, 500),
)
async def job_events_sse(
    jobs: JobService,
    live: LiveHubOf,
    request: Request[Any, Any, Any],
    job_id: Annotated[UUID, PathParameter(description="job id")],
    # A string, as EventSource sends back the id it last received; not nullable, as a header has no null.
    last_event_id: Annotated[
        str,
        HeaderParameter(
            name="Last-Event-ID",
            pattern=whole("[0-9]{1,15}"),
            required=False,
            description="the id of the last event received: the stream continues after it",
        ),
    ] = "0",
) -> ServerSentEvent:
    """Server-sent events of a job's progress (the fallback of the WebSocket ``/v1/jobs/{id}/live``)."""
    principal = principal_of(request)
    stream = job_stream(jobs, live, principal, str(job_id), int(last_event_id))
    first = await anext(stream)  # NotFoundError surfaces as a 404 problem before the stream starts

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        LIVE_SUBSCRIBERS.labels(SERVICE, "sse").inc()
        try:
            async for item in _prepend(first, stream):
                if item.type == "heartbeat":
                    yield ServerSentEventMessage(comment="heartbeat")
                    continue
                yield ServerSentEventMessage(
                    data=_json.encode(item.data).decode(),
                    event=item.type,
                    id=str(item.id) if item.id is not None else None,
                )
        finally:
            LIVE_SUBSCRIBERS.labels(SERVICE, "sse").dec()
            await stream.aclose()

    return ServerSentEvent(events(), headers={"cache-control": "no-store", "x-accel-buffering": "no"})


async def _prepend(first: StreamItem, rest: AsyncIterator[StreamItem]) -> AsyncGenerator[StreamItem, None]:
    yield first
    async for item in rest:
        yield item


@websocket("/v1/jobs/{job_id:uuid}/live", opt={"requires": "read"})
async def job_live_ws(
    socket: WebSocket[Any, Any, Any],
    jobs: JobService,
    live: LiveHubOf,
    job_id: Annotated[UUID, PathParameter(description="job id")],
) -> None:
    """A job's progress over a WebSocket: JSON messages ``{type, id, data}``, closed when it finishes."""
    principal = principal_of(socket)
    stream = job_stream(jobs, live, principal, str(job_id))
    try:
        first = await anext(stream)
    except Exception:
        await socket.close(code=4404, reason="no such job")
        return
    await socket.accept()
    LIVE_SUBSCRIBERS.labels(SERVICE, "websocket").inc()
    watcher = asyncio.create_task(_until_disconnect(socket))
    items = _prepend(first, stream)
    try:
        while True:
            following = asyncio.ensure_future(anext(items))
            await asyncio.wait({following, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not following.done():  # the client went away while we waited for news
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await following
                return
            try:
                item = following.result()
            except StopAsyncIteration:
                break
            await socket.send_data(_json.encode(item).decode(), mode="text")
        await socket.close(code=1000, reason="job finished")
    except WebSocketDisconnect:
        return
    finally:
        LIVE_SUBSCRIBERS.labels(SERVICE, "websocket").dec()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
        await items.aclose()
        await stream.aclose()


async def _until_disconnect(socket: WebSocket[Any, Any, Any]) -> None:
    """Consume (and ignore) client messages until the client goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await socket.receive_data(mode="text")


@websocket("/v1/health/live-stream", opt={"requires": "read"})
async def health_live_ws(socket: WebSocket[Any, Any, Any], health: HealthChecks, settings: Settings) -> None:
    """System health every ``GATEWAY_HEALTH_INTERVAL_S`` seconds until the client disconnects."""
    await socket.accept()
    LIVE_SUBSCRIBERS.labels(SERVICE, "health").inc()
    watcher = asyncio.create_task(_until_disconnect(socket))
    try:
        while not watcher.done():
            report = await health.system_health()
            await socket.send_data(_json.encode(StreamItem(type="health", data=report)).decode(), mode="text")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(watcher), settings.gateway.health_interval_s)
    except WebSocketDisconnect:
        return
    finally:
        LIVE_SUBSCRIBERS.labels(SERVICE, "health").dec()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
