"""The platform's physical Kafka topics as declared resources: name, partitions, replication and configs.

The names are what the services create at start (their events, the dead-letter topic and each consumer
group's retry topics ``<topic>.<group>.retry.N``); retention comes from the topic registry
(:data:`etsygen_common.contracts.TOPICS`), a retry topic sharing its topic's. ``etsygen deploy topics``
renders these into the Strimzi KafkaTopic component and docker-compose.yml's topic-creation script.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from etsygen_common.contracts import TOPICS, Topic


@dataclass(frozen=True, slots=True)
class Durability:
    """Replication of a deployment's topics: a write is acknowledged once ``min_insync`` replicas have it."""

    replicas: int
    min_insync: int

    def __post_init__(self) -> None:
        if not 1 <= self.min_insync <= self.replicas:
            raise ValueError(f"min.insync.replicas {self.min_insync} must be within 1..{self.replicas}")


DURABLE = Durability(replicas=3, min_insync=2)
"""Three replicas, two in sync: a write survives one broker lost, and one broker may be down for upkeep."""
SINGLE_BROKER = Durability(replicas=1, min_insync=1)
"""All one broker allows (development only: losing its disk loses the data)."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One physical topic as it is declared."""

    name: str
    partitions: int
    replicas: int
    configs: dict[str, str]


def registry_topic(name: str) -> Topic:
    """The registry entry of a topic or of one of its retry topics.

    Raises:
        KeyError: ``name`` is neither a registered topic nor ``<registered topic>.<group>.retry.N``.
    """
    if name in TOPICS:
        return TOPICS[name]
    for topic, entry in TOPICS.items():
        rest = name.removeprefix(topic + ".")
        group, _, attempt = rest.rpartition(".retry.")
        if rest != name and group and attempt.isdigit():
            return entry
    raise KeyError(f"{name} is not a registered topic (etsygen_common.contracts.TOPICS) or a retry topic")


def durability_of(replicas: int) -> Durability:
    """The durability a replication factor allows: two in sync from three replicas up, else one."""
    return Durability(replicas, DURABLE.min_insync if replicas >= DURABLE.replicas else 1)


def topic_configs(name: str, durability: Durability) -> dict[str, str]:
    """The configs a topic is declared with: its registry retention and ``durability``.

    Raises:
        KeyError: ``name`` is not a registered topic or retry topic.
    """
    return {
        "retention.ms": str(registry_topic(name).retention_ms),
        "min.insync.replicas": str(durability.min_insync),
        # A replica that was out of sync never becomes leader: it would silently drop acked writes.
        "unclean.leader.election.enable": "false",
    }


def topic_specs(names: Iterable[str], *, partitions: int, durability: Durability) -> list[TopicSpec]:
    """Specs of ``names`` (deduplicated, sorted), each with its retention and ``durability``."""
    return [
        TopicSpec(name, partitions, durability.replicas, topic_configs(name, durability))
        for name in sorted(set(names))
    ]
