"""Live job progress over WebSocket and Server-Sent Events, and the health stream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gateway_testkit import TestUser, WebSocketSession, generated, project, scored, scraped

from etsygen_common.testing.plugin import wait_until
from etsygen_gateway.gateway import Gateway

pytestmark = pytest.mark.integration


async def new_job(client: Any, user: TestUser) -> str:
    response = await client.post("/v1/jobs", json={"keywords": ["mug"]}, headers=user.headers)
    return str(response.json()["id"])


async def finish(gateway: Gateway, job_id: str, owner: str) -> None:
    await project(gateway, scraped(job_id, owner, "mug"))
    await project(gateway, scored(job_id, owner, "mug"))
    await project(gateway, generated(job_id, owner, "mug"))


async def test_a_websocket_follows_a_job_until_it_finishes(
    app: Any, client: Any, gateway: Gateway, alice: TestUser
) -> None:
    job_id = await new_job(client, alice)
    await wait_until(lambda: gateway.live is not None and gateway.live.connected, what="the listener")
    async with WebSocketSession(app, f"/v1/jobs/{job_id}/live", query=f"api_key={alice.api_key}") as ws:
        assert ws.accepted
        first = await ws.receive()
        assert first is not None
        assert (first["type"], first["data"]["status"]) == ("job", "queued")
        accepted = await ws.receive()
        assert accepted is not None
        assert accepted["data"]["kind"] == "job.accepted"
        await finish(gateway, job_id, alice.id)
        kinds = []
        while (message := await ws.receive()) is not None:
            kinds.append(message["data"].get("kind") if message["type"] == "timeline" else message["type"])
        assert ws.close_code == 1000
    assert "scrape.succeeded" in kinds
    assert "job.finished" in kinds
    assert kinds[-1] == "end"


async def test_websockets_refuse_strangers_and_foreign_origins(
    app: Any, client: Any, gateway: Gateway, alice: TestUser, bob: TestUser
) -> None:
    job_id = await new_job(client, alice)
    async with WebSocketSession(app, f"/v1/jobs/{job_id}/live") as anonymous:
        assert not anonymous.accepted
    async with WebSocketSession(app, f"/v1/jobs/{job_id}/live", headers={"x-api-key": bob.api_key}) as other:
        assert not other.accepted  # bob's key is valid, alice's job is not his
    login = await client.post("/v1/auth/login", json={"email": alice.email, "password": alice.password})
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    assert login.status_code == 200
    foreign = {"cookie": cookie, "origin": "https://evil.example"}
    async with WebSocketSession(app, f"/v1/jobs/{job_id}/live", headers=foreign) as hijack:
        assert not hijack.accepted
    same_site = {"cookie": cookie, "origin": "https://testserver"}
    async with WebSocketSession(app, f"/v1/jobs/{job_id}/live", headers=same_site) as own:
        assert own.accepted


async def test_server_sent_events_stream_a_job_and_resume_after_the_last_event(
    client: Any, gateway: Gateway, alice: TestUser
) -> None:
    job_id = await new_job(client, alice)
    await wait_until(lambda: gateway.live is not None and gateway.live.connected, what="the listener")
    stream = asyncio.create_task(client.get(f"/v1/jobs/{job_id}/events", headers=alice.headers))
    await finish(gateway, job_id, alice.id)
    response = await asyncio.wait_for(stream, 20)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = [
        dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        for block in response.text.split("\r\n\r\n")
    ]
    events = [b["event"] for b in blocks if "event" in b]
    assert events[0] == "job"
    assert events[-1] == "end"
    timeline_ids = [int(b["id"]) for b in blocks if b.get("event") == "timeline"]
    assert len(timeline_ids) >= 4  # accepted, scraped, scored, generated, finished

    # Reconnecting with Last-Event-ID sends only what came after it.
    resumed = await client.get(
        f"/v1/jobs/{job_id}/events", headers={**alice.headers, "Last-Event-ID": str(timeline_ids[1])}
    )
    again = [
        dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        for block in resumed.text.split("\r\n\r\n")
    ]
    assert [int(b["id"]) for b in again if b.get("event") == "timeline"] == timeline_ids[2:]


async def test_the_health_stream_sends_reports(app: Any, alice: TestUser) -> None:
    async with WebSocketSession(app, "/v1/health/live-stream", headers=alice.headers) as ws:
        report = await ws.receive()
    assert report is not None
    assert report["type"] == "health"
    assert 0 <= report["data"]["score"] <= 1
