"""A stand-alone outbox relay process for crash tests: ``python -m etsygen_common.testing.relay_worker``.

With ``--kill-after-publish N`` it SIGKILLs itself after the N-th batch was acknowledged by Kafka and before
the batch is marked sent: the exact window in which a crash makes the relay publish the batch again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Sequence

from etsygen_common.db import create_pool
from etsygen_common.kafka import KafkaPublisher, create_broker
from etsygen_common.outbox import OutboxRelay
from etsygen_common.settings import KafkaSettings, OutboxSettings, PostgresSettings


async def main(args: argparse.Namespace) -> None:
    kafka = KafkaSettings(bootstrap_servers=args.bootstrap, topic_prefix=args.prefix, partitions=3)
    pool = await create_pool(PostgresSettings(url=args.dsn, pool_min=1, pool_max=3), args.schema)
    broker = create_broker(kafka, client_id="relay-worker")
    await broker.connect()
    batches = 0

    async def after_publish(_ids: Sequence[int]) -> None:
        nonlocal batches
        batches += 1
        if args.kill_after_publish and batches >= args.kill_after_publish:
            os.kill(os.getpid(), signal.SIGKILL)

    publisher = KafkaPublisher(broker, kafka)
    relay = OutboxRelay(
        pool,
        args.schema,
        publisher,
        OutboxSettings(batch_size=args.batch_size, poll_interval_s=0.2, max_backoff_s=1.0),
        service="relay-worker",
        after_publish=after_publish,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    relay.start()
    await stop.wait()
    await relay.stop(flush=False)
    await publisher.close()
    await broker.stop()
    await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--kill-after-publish", type=int, default=0)
    asyncio.run(main(parser.parse_args()))
