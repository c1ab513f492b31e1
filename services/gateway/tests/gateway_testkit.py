"""Readable builders for the gateway tests: settings, users with API keys, pipeline events, projecting."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from etsygen_common.contracts import (
    DesignPrompt,
    Evidence,
    FactorScore,
    ListingsScraped,
    Money,
    PriceBand,
    PriceSuggestion,
    ProductConcept,
    ProductGenerated,
    ProductRejected,
    ProviderUsage,
    TrendScored,
    ValidationReport,
)
from etsygen_common.contracts import Event as ContractEvent
from etsygen_common.envelope import wrap
from etsygen_common.kafka import HandlerContext
from etsygen_common.outbox import enqueue
from etsygen_common.settings import (
    CommonSettings,
    KafkaSettings,
    OutboxSettings,
    PostgresSettings,
    RedisSettings,
    ServiceSettings,
    TelemetrySettings,
)
from etsygen_gateway.adapters import accounts as accounts_repo
from etsygen_gateway.domain.accounts import ROLE_SCOPES, Principal
from etsygen_gateway.gateway import Gateway
from etsygen_gateway.handlers import GROUP, Projections
from etsygen_gateway.service_layer.api_keys import create_api_key
from etsygen_gateway.settings import CacheSection, GatewaySection, GatewaySettings, RateLimitSection

PASSWORD = "correct horse battery staple"
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}


def gateway_settings(
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    *,
    kafka_bootstrap: str = "127.0.0.1:9",
    topic_prefix: str = "",
    gateway: dict[str, Any] | None = None,
    rate: dict[str, Any] | None = None,
    cache: dict[str, Any] | None = None,
) -> GatewaySettings:
    """Settings for a test gateway: fast password hashing, open sign-up, overridable per section."""
    common = CommonSettings(
        postgres=PostgresSettings(url=pg_url, pool_min=1, pool_max=10),
        redis=RedisSettings(url=redis_url, key_prefix=redis_prefix),
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix, partitions=3),
        telemetry=TelemetrySettings(log_level="WARNING"),
        outbox=OutboxSettings(poll_interval_s=0.2, max_backoff_s=1.0),
        service=ServiceSettings(port=0, shutdown_grace_s=5.0),
    )
    return GatewaySettings(
        common=common,
        gateway=GatewaySection(**{"signup_mode": "open", **FAST_ARGON2, **(gateway or {})}),
        rate=RateLimitSection(**(rate or {})),
        cache=CacheSection(**(cache or {})),
    )


class TestUser(msgspec.Struct, frozen=True, kw_only=True):
    """A user the test created, with an API key."""

    __test__ = False  # not a test class, despite the name

    id: str
    email: str
    role: str
    api_key: str
    key_id: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        """Headers authenticating as this user with the API key."""
        return {"X-API-Key": self.api_key}


async def make_user(
    gw: Gateway, email: str, *, role: str = "operator", scopes: list[str] | None = None
) -> TestUser:
    """Create a user and an API key with ``scopes`` (default: everything the role allows)."""
    hashed = await gw.passwords.hash(PASSWORD)
    user = await accounts_repo.insert_user(gw.pool, email=email, password_hash=hashed, role=role)
    assert user is not None
    principal = Principal(user_id=user.id, email=email, role=role, method="session")  # type: ignore[arg-type]
    key = await create_api_key(
        gw.pool,
        principal,
        name="test key",
        scopes=scopes or sorted(ROLE_SCOPES[role]),  # type: ignore[index]
        expires_in_days=None,
    )
    return TestUser(id=user.id, email=email, role=role, api_key=key.key, key_id=key.id)


async def project(
    gw: Gateway, event: ContractEvent, *, headers: dict[str, str] | None = None
) -> HandlerContext:
    """Apply one event the way the consumer does: one transaction, inbox row first, then the projection."""
    projections = Projections(gw.cache)
    handler = {
        "ListingsScraped": projections.listings_scraped,
        "TrendScored": projections.trend_scored,
        "ProductGenerated": projections.product_generated,
        "ProductRejected": projections.product_rejected,
        "ListingPublished": projections.listing_published,
        "KeywordWaiting": projections.keyword_waiting,
    }[type(event).__name__]
    envelope = wrap(event, source="test")
    all_headers = {**envelope.headers, **(headers or {})}
    async with gw.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO inbox (consumer_group, event_id, topic) VALUES ($1, $2, $3)",
            GROUP,
            all_headers["ce_id"],
            envelope.topic,
        )
        ctx = HandlerContext(conn=conn, headers=all_headers, topic=envelope.topic, source="gateway")
        await handler(ctx, event)  # type: ignore[operator]
        await enqueue(conn, ctx.emitted)
    return ctx


async def new_job(client: Any, user: TestUser, keywords: list[str]) -> str:
    """Submit a job of ``keywords`` through the API; its id."""
    response = await client.post("/v1/jobs", json={"keywords": keywords}, headers=user.headers)
    assert response.status_code == 202
    return str(response.json()["id"])


async def job_detail(client: Any, user: TestUser, job_id: str) -> dict[str, Any]:
    """GET /v1/jobs/{job_id} as ``user``."""
    response = await client.get(f"/v1/jobs/{job_id}", headers=user.headers)
    assert response.status_code == 200
    return dict(response.json())


def scraped(job_id: str, owner: str, keyword: str, *, ok: bool = True) -> ListingsScraped:
    """The scraper's result for one keyword."""
    return ListingsScraped(
        job_id=job_id,
        owner_id=owner,
        keyword=keyword,
        status="ok" if ok else "failed",
        error=None if ok else "marketplace unreachable",
        total_count=1234,
    )


def scored(
    job_id: str,
    owner: str,
    keyword: str,
    *,
    score: float = 0.72,
    risk: str = "low",
    ok: bool = True,
    snapshot_id: str | None = None,
) -> TrendScored:
    """The analyzer's score for one keyword, with three factors."""
    return TrendScored(
        job_id=job_id,
        owner_id=owner,
        keyword=keyword,
        status="ok" if ok else "failed",
        error=None if ok else "not enough listings",
        score=score,
        confidence=0.8,
        risk=risk,  # type: ignore[arg-type]
        factors=[
            FactorScore(
                name="demand", value=0.9, weight=0.4, input=320.0, input_label="est. sales per month"
            ),
            FactorScore(
                name="competition", value=0.5, weight=0.35, input=1234.0, input_label="active listings"
            ),
            FactorScore(
                name="price", value=0.7, weight=0.25, input=24.0, input_label="median price", measured=False
            ),
        ],
        price_band=PriceBand(p25=18.0, median=24.0, p75=31.0),
        top_tags=["custom mug", "gift for her"],
        listing_count=100,
        total_count=1234,
        snapshot_id=snapshot_id or str(uuid.uuid4()),
    )


def generated(
    job_id: str,
    owner: str,
    keyword: str,
    *,
    index: int = 0,
    expected: int = 1,
    title: str = "Custom Name Mug",
) -> ProductGenerated:
    """One concept of the generator."""
    return ProductGenerated(
        job_id=job_id,
        owner_id=owner,
        keyword=keyword,
        product_id=str(uuid.uuid4()),
        concept=ProductConcept(
            title=title,
            tags=["custom mug", "name mug", "gift for her"],
            description="A mug with your name.",
            materials=["ceramic"],
        ),
        price=PriceSuggestion(
            price=Money(amount=24.5), band=PriceBand(p25=18.0, median=24.0, p75=31.0), rationale="median"
        ),
        design=DesignPrompt(prompt="a mug", alt_text="a white mug"),
        validation=ValidationReport(valid=True),
        evidence=Evidence(keyword=keyword, score=0.72, risk="low"),
        usage=ProviderUsage(provider="builtin", model="template"),
        concept_index=index,
        expected_concepts=expected,
    )


def rejected(
    job_id: str,
    owner: str,
    keyword: str,
    reason: str,
    *,
    index: int = 0,
    expected: int = 1,
    detail: str = "",
    existing_product_id: str | None = None,
) -> ProductRejected:
    """One concept the generator did not produce (``existing_product_id``: it duplicates that product)."""
    return ProductRejected(
        job_id=job_id,
        owner_id=owner,
        keyword=keyword,
        reason=reason,  # type: ignore[arg-type]
        detail=detail,
        concept_index=index,
        expected_concepts=expected,
        existing_product_id=existing_product_id,
    )


class WebSocketSession:
    """A minimal in-process WebSocket client for an ASGI app (runs in the test's event loop)."""

    def __init__(
        self,
        app: Any,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        query: str = "",
        client_ip: str = "203.0.113.7",
    ) -> None:
        import asyncio

        self._app = app
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "wss",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [
                (k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **(headers or {})}.items()
            ],
            "client": (client_ip, 50000),
            "server": ("testserver", 443),
            "subprotocols": [],
        }
        self.accepted = False
        self.close_code: int | None = None

    async def __aenter__(self) -> WebSocketSession:
        import asyncio

        self._task = asyncio.create_task(self._app(self._scope, self._inbox.get, self._outbox.put))
        await self._inbox.put({"type": "websocket.connect"})
        first = await asyncio.wait_for(self._outbox.get(), 10)
        self.accepted = first["type"] == "websocket.accept"
        if not self.accepted:
            self.close_code = first.get("code")
        return self

    async def receive(self, timeout: float = 10) -> dict[str, Any] | None:
        """The next JSON message, or None once the server closed the connection."""
        import asyncio
        import json

        message = await asyncio.wait_for(self._outbox.get(), timeout)
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            return None
        return dict(json.loads(message.get("text") or message["bytes"]))

    async def __aexit__(self, *exc: object) -> None:
        import asyncio
        import contextlib

        await self._inbox.put({"type": "websocket.disconnect", "code": 1000})
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._task, 10)
