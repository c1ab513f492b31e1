"""Serve the gateway's HTTP API from the environment, without Kafka: one worker process of a multi-process
test. ``python gateway_launcher.py --port N --schema S`` with DATABASE_URL, REDIS_URL, GATEWAY_* set.

The API needs only Postgres and Redis (it writes events to the outbox; relaying them is another process's
job), so the processes share exactly what production replicas share.
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn

from etsygen_common.db import create_pool
from etsygen_common.migrations import migrate_service
from etsygen_common.runtime import setup_process
from etsygen_gateway.api.app import create_app
from etsygen_gateway.bootstrap import MIGRATIONS, build_gateway, start_gateway, stop_gateway
from etsygen_gateway.settings import GatewaySettings


async def serve(port: int, schema: str) -> None:
    settings = GatewaySettings.from_env()
    setup_process("gateway", settings.common)
    await migrate_service(settings.common.postgres.url, schema, MIGRATIONS)
    pool = await create_pool(settings.common.postgres, schema, application_name=f"gateway-worker-{port}")
    gw = build_gateway(settings, schema=schema)
    await start_gateway(gw, pool)
    config = uvicorn.Config(
        create_app(gw), host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        await stop_gateway(gw)
        await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--schema", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.schema))
