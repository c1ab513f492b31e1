"""The declared Kafka topics (Strimzi KafkaTopics, compose's creation script) match the topic registry."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from etsygen_cli import deploytopics
from etsygen_cli.wiring import created_topics, runtimes
from etsygen_common.contracts import DEADLETTER, RETENTION_DEADLETTER_MS, RETENTION_DEFAULT_MS, TOPICS
from etsygen_common.kafka import RETRY_DELAYS_S, retry_topic
from etsygen_common.topology import DURABLE, SINGLE_BROKER, Durability, durability_of, registry_topic

REPO = Path(__file__).resolve().parents[2]


def test_checked_in_topic_files_match_the_registry() -> None:
    assert deploytopics.check(REPO) == []


def test_a_stale_file_is_named_with_the_fix(tmp_path: Path) -> None:
    deploytopics.write(tmp_path)
    path = tmp_path / deploytopics.K8S_TOPICS
    path.write_text(path.read_text().replace('retention.ms: "604800000"', 'retention.ms: "1"', 1))
    (tmp_path / deploytopics.COMPOSE_SCRIPT).unlink()
    assert deploytopics.check(tmp_path) == [
        f"{deploytopics.K8S_TOPICS}: differs from the topic registry (run `etsygen deploy topics`)",
        f"{deploytopics.COMPOSE_SCRIPT}: differs from the topic registry (run `etsygen deploy topics`)",
    ]


def test_every_topic_retry_topic_and_the_dead_letter_topic_is_declared_durably() -> None:
    docs = list(yaml.safe_load_all((REPO / deploytopics.K8S_TOPICS).read_text()))
    declared = {d["spec"]["topicName"]: d["spec"] for d in docs if d}
    expected = {DEADLETTER}
    for runtime in runtimes().values():
        if runtime.consumer is not None:
            for route in runtime.consumer.routes:
                expected.add(route.topic)
                expected.update(
                    retry_topic(route.topic, runtime.consumer.group, n + 1)
                    for n in range(len(RETRY_DELAYS_S))
                )
        expected.update(created_topics(runtime))
    assert set(declared) == expected
    assert "etsygen.listings.scraped.v1.etsygen-analyzer.retry.3" in declared
    for name, spec in declared.items():
        assert spec["partitions"] == 6
        assert spec["replicas"] == 3
        assert spec["config"]["min.insync.replicas"] == "2"
        assert spec["config"]["unclean.leader.election.enable"] == "false"
        retention = RETENTION_DEADLETTER_MS if name == DEADLETTER else RETENTION_DEFAULT_MS
        assert spec["config"]["retention.ms"] == str(retention), name


def test_retry_topics_share_their_topic_retention_and_strangers_are_refused() -> None:
    name = retry_topic(DEADLETTER, "etsygen-gateway", 2)
    assert registry_topic(name) is TOPICS[DEADLETTER]
    with pytest.raises(KeyError, match=r"etsygen\.unknown\.v1 is not a registered topic"):
        registry_topic("etsygen.unknown.v1")
    with pytest.raises(KeyError):
        registry_topic(f"{DEADLETTER}.etsygen-gateway.retry.x")
    with pytest.raises(ValueError, match=r"min\.insync\.replicas 3 must be within 1\.\.2"):
        Durability(replicas=2, min_insync=3)


def test_services_create_topics_as_durable_as_their_replication_factor_allows() -> None:
    assert durability_of(1) == SINGLE_BROKER
    assert durability_of(2) == Durability(replicas=2, min_insync=1)
    assert durability_of(3) == DURABLE
    assert durability_of(5) == Durability(replicas=5, min_insync=2)


FAKE_KAFKA_CLI = """#!/usr/bin/env bash
# Stand-in for the Kafka image's CLI (a JVM we do not have here): records its arguments, lists one topic.
echo "$(basename "$0") $*" >>"$CALLS"
if [[ " $* " == *" --list "* ]]; then echo etsygen.deadletter.v1; fi
if [[ " $* " == *" --topic $FAIL_TOPIC "* ]]; then exit 1; fi
exit 0
"""


def _run_script(
    tmp_path: Path, fail_topic: str = "none"
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    for tool in ("kafka-topics.sh", "kafka-configs.sh"):
        (tmp_path / tool).write_text(FAKE_KAFKA_CLI)
        (tmp_path / tool).chmod(0o755)
    calls = tmp_path / "calls.log"
    env = {**os.environ, "KAFKA_BIN": str(tmp_path), "CALLS": str(calls), "FAIL_TOPIC": fail_topic}
    out = subprocess.run(
        ["bash", str(REPO / deploytopics.COMPOSE_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return out, calls.read_text().splitlines()


def test_compose_script_creates_missing_topics_and_updates_existing_ones(tmp_path: Path) -> None:
    out, calls = _run_script(tmp_path)
    assert out.returncode == 0, out.stderr
    creates = [c for c in calls if " --create " in c]
    alters = [c for c in calls if c.startswith("kafka-configs.sh")]
    assert len(creates) == len(deploytopics.physical_topics()) - 1
    assert alters == [
        "kafka-configs.sh --bootstrap-server kafka:9092 --alter --entity-type topics --entity-name "
        "etsygen.deadletter.v1 --add-config "
        f"retention.ms={RETENTION_DEADLETTER_MS},min.insync.replicas=1,unclean.leader.election.enable=false"
    ]
    scraped = next(c for c in creates if "--topic etsygen.listings.scraped.v1 " in c)
    assert scraped.endswith(
        "--partitions 6 --replication-factor 1 --config retention.ms=604800000 "
        "--config min.insync.replicas=1 --config unclean.leader.election.enable=false"
    )


def test_compose_script_fails_when_a_topic_cannot_be_declared(tmp_path: Path) -> None:
    out, _ = _run_script(tmp_path, fail_topic="etsygen.trends.scored.v1")
    assert out.returncode == 1
    assert "some topics could not be declared" in out.stderr
