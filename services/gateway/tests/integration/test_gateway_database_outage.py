"""The database goes away under a running gateway: requests get a 503 to retry, and nothing half-done stays.

The gateway's pool reaches the real PostgreSQL through a TCP proxy the test cuts (open connections dropped,
new ones refused). Creating a job meanwhile answers 503 problem+json with ``Retry-After``, not a 500, and
leaves no job behind; once the database is back the same request succeeds and the user has exactly that one
job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
from conftest import asgi_client, running_gateway
from gateway_testkit import make_user

from etsygen_common.testing.netfault import TcpProxy, through
from etsygen_gateway.api.app import create_app
from etsygen_gateway.settings import GatewaySettings

pytestmark = pytest.mark.integration


@pytest.fixture
async def proxy(pg_url: str) -> AsyncIterator[TcpProxy]:
    target = urlsplit(pg_url)
    tcp = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await tcp.start()
    yield tcp
    await tcp.close()


async def test_a_database_outage_is_a_503_and_leaves_nothing_behind(
    settings_factory: Callable[..., GatewaySettings], pg_url: str, proxy: TcpProxy
) -> None:
    settings = settings_factory()
    postgres = msgspec.structs.replace(settings.common.postgres, url=through(proxy, pg_url))
    settings = msgspec.structs.replace(
        settings, common=msgspec.structs.replace(settings.common, postgres=postgres)
    )
    async with running_gateway(settings, pg_url, listen=False) as gw:
        user = await make_user(gw, "outage@example.com", role="operator")
        body: dict[str, Any] = {"keywords": ["soy candle"], "generation": {"concepts_per_niche": 1}}
        async with asgi_client(create_app(gw)) as client:
            # Once known, the key is checked from memory: the refusal below comes from creating the job.
            assert (await client.get("/v1/jobs", headers=user.headers)).status_code == 200
            await proxy.cut()
            refused = await client.post("/v1/jobs", json=body, headers=user.headers)
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.headers["retry-after"] == "5"
            problem = refused.json()
            assert problem["type"].endswith("/dependency-unavailable")
            assert problem["retry_after"] == 5

            await proxy.restore()
            accepted = await client.post("/v1/jobs", json=body, headers=user.headers)
            assert accepted.status_code == 202, accepted.text
            jobs = (await client.get("/v1/jobs", headers=user.headers)).json()
            assert [job["id"] for job in jobs["items"]] == [accepted.json()["id"]]
    assert proxy.connections > 0  # the gateway really talked to the database through the proxy
