"""Topics a service creates at start carry the configs they are declared with (retention, durability)."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from etsygen_common import contracts
from etsygen_common.kafka import ensure_topics, retry_topic
from etsygen_common.settings import KafkaSettings

pytestmark = pytest.mark.integration


async def test_ensure_topics_sets_retention_and_durability(kafka_bootstrap: str, topic_prefix: str) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix)
    retry = retry_topic(contracts.LISTINGS_SCRAPED, "etsygen-analyzer", 1)
    await ensure_topics(settings, [contracts.DEADLETTER, retry])
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, settings.topic(n))
                for n in (contracts.DEADLETTER, retry)
            ]
        )
    finally:
        await admin.close()
    found = {
        name: {entry[0]: entry[1] for entry in entries}
        for response in responses
        for _code, _message, _type, name, entries in response.resources
    }
    assert found[settings.topic(contracts.DEADLETTER)] == {
        "retention.ms": str(contracts.RETENTION_DEADLETTER_MS),
        "min.insync.replicas": "1",  # replication factor 1 (the setting's default) allows no more
        "unclean.leader.election.enable": "false",
    }
    assert found[settings.topic(retry)]["retention.ms"] == str(contracts.RETENTION_DEFAULT_MS)
