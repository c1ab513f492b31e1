"""Admin operations: dead letters (stored byte for byte, once), replay through the outbox, breakers."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import asgi_client, running_gateway
from gateway_testkit import TestUser, make_user

from etsygen_gateway.adapters import deadletters as repo
from etsygen_gateway.api.app import create_app
from etsygen_gateway.gateway import Gateway
from etsygen_gateway.handlers import DeadLetterStore

pytestmark = pytest.mark.integration

UNDECODABLE = b"\xff\xfe{not json"
FAILURE_HEADERS = {
    "ce_id": "evt-1",
    "ce_type": "etsygen.trends.scored.v1",
    "content-type": "application/json",
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "x-dlq-original-topic": "etsygen.trends.scored.v1",
    "x-dlq-original-partition": "1",
    "x-dlq-original-offset": "17",
    "x-dlq-consumer-group": "etsygen-generator",
    "x-dlq-exception-type": "msgspec.DecodeError",
    "x-dlq-exception-message": "invalid JSON",
    "x-dlq-attempts": "1",
    "x-retry-attempt": "3",
}


@dataclass
class FakeRecord:
    headers: list[tuple[str, bytes]]
    value: bytes
    key: bytes | None = b"job/mug"
    partition: int = 0
    offset: int = 5


@dataclass
class FakeMessage:
    """What the dead-letter subscriber uses of FastStream's KafkaMessage."""

    raw_message: FakeRecord
    acks: list[str] = field(default_factory=list)

    async def ack(self) -> None:
        self.acks.append("ack")

    async def nack(self) -> None:
        self.acks.append("nack")


def dead_letter(
    headers: dict[str, str] = FAILURE_HEADERS, body: bytes = UNDECODABLE, offset: int = 5
) -> FakeMessage:
    return FakeMessage(FakeRecord([(k, v.encode()) for k, v in headers.items()], body, offset=offset))


async def stored_letter(gateway: Gateway, message: FakeMessage | None = None) -> int:
    store = DeadLetterStore(gateway.pool)
    message = message or dead_letter()
    await store(message)  # type: ignore[arg-type]
    assert message.acks == ["ack"]
    async with gateway.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT max(id) FROM dead_letters"))


async def test_a_dead_letter_is_stored_once_and_byte_for_byte(gateway: Gateway) -> None:
    store = DeadLetterStore(gateway.pool)
    first, redelivered = dead_letter(), dead_letter(offset=6)  # the same failure read twice from the DLQ
    await store(first)  # type: ignore[arg-type]
    await store(redelivered)  # type: ignore[arg-type]
    assert first.acks == redelivered.acks == ["ack"]
    async with gateway.pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM dead_letters")
    assert len(rows) == 1
    assert bytes(rows[0]["body"]) == UNDECODABLE
    assert rows[0]["headers"]["x-dlq-exception-type"] == "msgspec.DecodeError"
    assert (rows[0]["original_topic"], rows[0]["original_partition"], rows[0]["original_offset"]) == (
        "etsygen.trends.scored.v1",
        1,
        17,
    )


async def test_a_database_outage_leaves_the_record_uncommitted(gateway: Gateway) -> None:
    await gateway.pool.close()  # every insert now fails
    message = dead_letter()
    await DeadLetterStore(gateway.pool)(message)  # type: ignore[arg-type]
    assert message.acks == ["nack"]


async def test_admins_list_inspect_and_filter_dead_letters(
    client: Any, gateway: Gateway, admin: TestUser
) -> None:
    letter_id = await stored_letter(gateway)
    other = {**FAILURE_HEADERS, "x-dlq-original-offset": "18", "x-dlq-consumer-group": "etsygen-analyzer"}
    await stored_letter(gateway, dead_letter(other, body=b'{"ok": true}'))

    page = (await client.get("/v1/admin/dead-letters", headers=admin.headers)).json()
    assert len(page["items"]) == 2
    group = await client.get(
        "/v1/admin/dead-letters", params={"consumer_group": "etsygen-generator"}, headers=admin.headers
    )
    assert [d["id"] for d in group.json()["items"]] == [letter_id]

    detail = (await client.get(f"/v1/admin/dead-letters/{letter_id}", headers=admin.headers)).json()
    assert base64.b64decode(detail["body_base64"]) == UNDECODABLE
    assert detail["body_text"] is None
    assert detail["headers"]["x-dlq-attempts"] == "1"
    missing = await client.get("/v1/admin/dead-letters/999999", headers=admin.headers)
    assert missing.status_code == 404
    # A cursor past the largest id a bigint holds lists from the newest, as a cursor past the newest does.
    far = await client.get("/v1/admin/dead-letters", params={"cursor": "9" * 30}, headers=admin.headers)
    assert far.status_code == 200
    assert len(far.json()["items"]) == 2


async def test_replay_republishes_the_original_bytes_through_the_outbox(
    client: Any, gateway: Gateway, admin: TestUser
) -> None:
    letter_id = await stored_letter(gateway)
    dry = await client.post(
        f"/v1/admin/dead-letters/{letter_id}/replay", params={"dry_run": "true"}, headers=admin.headers
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert dry.json()["headers"]["x-replay-of"] == str(letter_id)
    async with gateway.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0

    for expected_count in (1, 2):
        replayed = await client.post(f"/v1/admin/dead-letters/{letter_id}/replay", headers=admin.headers)
        assert replayed.status_code == 200
        assert replayed.json()["replay_count"] == expected_count
    async with gateway.pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM outbox ORDER BY id")
    assert [r["topic"] for r in rows] == ["etsygen.trends.scored.v1"] * 2
    assert bytes(rows[0]["payload"]) == UNDECODABLE
    assert bytes(rows[0]["key"]) == b"job/mug"
    headers = rows[1]["headers"]
    assert headers["ce_id"] == "evt-1"
    assert headers["traceparent"] == FAILURE_HEADERS["traceparent"]
    assert (headers["x-replay-of"], headers["x-replay-count"]) == (str(letter_id), "2")
    assert not [h for h in headers if h.startswith("x-dlq-") or h.startswith("x-retry-")]

    discarded = await client.post(f"/v1/admin/dead-letters/{letter_id}/discard", headers=admin.headers)
    assert discarded.json()["status"] == "discarded"
    refused = await client.post(f"/v1/admin/dead-letters/{letter_id}/replay", headers=admin.headers)
    assert refused.status_code == 409


async def test_replays_are_rate_limited(settings_factory: Any, pg_url: str) -> None:
    async with running_gateway(settings_factory(rate={"replay_limit": 2}), pg_url, listen=False) as gw:
        root = await make_user(gw, "root@example.com", role="admin")
        letter_id = await stored_letter(gw)
        async with asgi_client(create_app(gw)) as client:
            statuses = [
                (
                    await client.post(f"/v1/admin/dead-letters/{letter_id}/replay", headers=root.headers)
                ).status_code
                for _ in range(3)
            ]
    assert statuses == [200, 200, 429]


async def test_old_dead_letters_are_pruned(gateway: Gateway) -> None:
    await stored_letter(gateway)
    async with gateway.pool.acquire() as conn:
        await conn.execute("UPDATE dead_letters SET received_at = now() - interval '31 days'")
        await stored_letter(gateway, dead_letter({**FAILURE_HEADERS, "x-dlq-original-offset": "99"}))
        cutoff = datetime.now(UTC) - timedelta(days=30)
        assert await repo.prune(gateway.pool, cutoff, batch_rows=1, dry_run=True) == 1
        assert await repo.prune(gateway.pool, cutoff, batch_rows=1) == 1
        assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 1


async def test_breaker_states_are_read_from_redis(client: Any, gateway: Gateway, admin: TestUser) -> None:
    prefix = gateway.settings.common.redis.key_prefix
    await gateway.redis.hset(
        f"{prefix}breaker:generator:ai-provider",
        mapping={"state": "open", "changed_at": "2026-01-01T00:00:00Z", "failures": "5"},
    )
    await gateway.redis.hset(
        f"{prefix}breaker:scraper:etsy-api", mapping={"state": "closed", "failures": "0"}
    )
    response = await client.get("/v1/admin/breakers", headers=admin.headers)
    assert response.json() == {
        "items": [
            {
                "service": "generator",
                "name": "ai-provider",
                "state": "open",
                "changed_at": "2026-01-01T00:00:00Z",
                "failures": 5,
            },
            {"service": "scraper", "name": "etsy-api", "state": "closed", "changed_at": None, "failures": 0},
        ],
        "available": True,
    }
