"""Kafka durability rules (issue 21): an acknowledged event survives losing a broker.

Where there are at least 3 brokers: replication factor >= 3, ``min.insync.replicas`` >= 2 and below the
replication factor (a write needs two copies; one broker may be down), unclean leader election off, and
producers with ``acks=all`` (``KAFKA_ACKS``' default; setting it weaker fails). A single development broker
allows replication 1 and ``min.insync.replicas`` 1 only; that is accepted where the build or compose file
has just one broker, never silently elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPLICAS = 3
MIN_INSYNC = 2
TOPIC_SCRIPT = "deploy/kafka/create-topics.sh"
_SCRIPT_TOPICS = re.compile(r"<<'TOPICS'\n(.*?)\nTOPICS\n", re.DOTALL)


def _false(value: Any) -> bool:
    return str(value).strip().lower() == "false"


def replication_problems(where: str, replicas: int, min_insync: int, unclean: Any, brokers: int) -> list[str]:
    """One topic's (or a broker default's) replication against the number of brokers it can use."""
    problems = []
    wanted = min(REPLICAS, brokers)
    if replicas < wanted:
        problems.append(f"{where}: replication factor {replicas} is below {wanted} ({brokers} broker(s))")
    insync = MIN_INSYNC if wanted >= REPLICAS else 1
    if min_insync < insync:
        problems.append(
            f"{where}: min.insync.replicas {min_insync} is below {insync} with {replicas} replicas"
        )
    if replicas >= REPLICAS and min_insync >= replicas:
        problems.append(
            f"{where}: min.insync.replicas {min_insync} leaves no replica to lose (replication {replicas})"
        )
    if not _false(unclean):
        problems.append(f"{where}: unclean.leader.election.enable must be false (got {unclean!r})")
    return problems


def acks_problems(where: str, env: Mapping[str, Any]) -> list[str]:
    """KAFKA_ACKS may be absent (its default is all) or all."""
    acks = env.get("KAFKA_ACKS")
    if acks is not None and str(acks) != "all":
        return [f"{where}: KAFKA_ACKS={acks} may lose acknowledged events; use all (the default)"]
    return []


def kafka_topic_problems(doc: dict[str, Any], facts: Any) -> list[str]:
    """A Strimzi KafkaTopic: durable replication, and the partition count the autoscalers assume."""
    spec = doc.get("spec") or {}
    config = spec.get("config") or {}
    where = f"KafkaTopic/{(doc.get('metadata') or {}).get('name')}"
    brokers = 1 if facts.single_broker else REPLICAS
    problems = replication_problems(
        where,
        int(spec.get("replicas", 0)),
        int(config.get("min.insync.replicas", 1)),  # Kafka's default when unset
        config.get("unclean.leader.election.enable", "unset"),
        brokers,
    )
    if "retention.ms" not in config:
        problems.append(f"{where}: config retention.ms is required (the registry's retention)")
    if spec.get("partitions") != facts.partitions:
        problems.append(
            f"{where}: partitions {spec.get('partitions')} differ from KAFKA_PARTITIONS {facts.partitions}"
        )
    return problems


def config_map_problems(where: str, data: Mapping[str, Any], single_broker: bool) -> list[str]:
    """The services' own settings: replication of the topics they create, and producer acks."""
    problems = acks_problems(where, data)
    rf = data.get("KAFKA_REPLICATION_FACTOR")
    if rf is not None and not single_broker and int(rf) < REPLICAS:
        problems.append(f"{where}: KAFKA_REPLICATION_FACTOR={rf} is below {REPLICAS}")
    return problems


def compose_problems(compose: dict[str, Any], root: Path) -> list[str]:
    """docker-compose.yml: its brokers' defaults, the topic script, the services' settings."""
    services = compose.get("services") or {}
    brokers = {
        name: svc.get("environment") or {}
        for name, svc in services.items()
        if "broker" in str((svc.get("environment") or {}).get("KAFKA_PROCESS_ROLES", ""))
    }
    if not brokers:
        return ["docker-compose.yml: no Kafka broker (KAFKA_PROCESS_ROLES with broker)"]
    count = len(brokers)
    problems = []
    for name, env in brokers.items():
        where = f"docker-compose.yml: {name}"
        problems += replication_problems(
            where,
            int(env.get("KAFKA_DEFAULT_REPLICATION_FACTOR", 1)),
            int(env.get("KAFKA_MIN_INSYNC_REPLICAS", 1)),
            env.get("KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE", "unset"),
            count,
        )
        for var in (
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        ):
            if int(env.get(var, 1)) < min(REPLICAS, count):
                problems.append(f"{where}: {var} is below {min(REPLICAS, count)}")
    for name, svc in services.items():
        env = svc.get("environment") or {}
        if "KAFKA_BOOTSTRAP_SERVERS" not in env:
            continue
        problems += acks_problems(f"docker-compose.yml: {name}", env)
        rf = int(env.get("KAFKA_REPLICATION_FACTOR", 1))
        if rf != min(REPLICAS, count):
            problems.append(
                f"docker-compose.yml: {name} KAFKA_REPLICATION_FACTOR={rf}; {count} broker(s) allow and need "
                f"{min(REPLICAS, count)}"
            )
    problems += script_problems(root, count)
    init = services.get("kafka-init") or {}
    if not any(str(v).startswith(f"./{TOPIC_SCRIPT}:") for v in init.get("volumes") or []):
        problems.append(f"docker-compose.yml: kafka-init must mount and run ./{TOPIC_SCRIPT}")
    return problems


def script_problems(root: Path, brokers: int) -> list[str]:
    """The generated topic script's lines: ``name partitions replicas key=value,...``."""
    path = root / TOPIC_SCRIPT
    if not path.is_file():
        return [f"{TOPIC_SCRIPT} is missing (run `etsygen deploy topics`)"]
    match = _SCRIPT_TOPICS.search(path.read_text())
    if match is None:
        return [f"{TOPIC_SCRIPT}: no topic list (<<'TOPICS' ... TOPICS)"]
    problems = []
    for line in match.group(1).splitlines():
        name, _, replicas, configs = line.split(" ")
        config = dict(kv.split("=", 1) for kv in configs.split(","))
        problems += replication_problems(
            f"{TOPIC_SCRIPT}: {name}",
            int(replicas),
            int(config.get("min.insync.replicas", 1)),
            config.get("unclean.leader.election.enable", "unset"),
            brokers,
        )
        if int(replicas) > brokers:
            problems.append(f"{TOPIC_SCRIPT}: {name}: {replicas} replicas but only {brokers} broker(s)")
        if "retention.ms" not in config:
            problems.append(f"{TOPIC_SCRIPT}: {name}: retention.ms is required")
    return problems
