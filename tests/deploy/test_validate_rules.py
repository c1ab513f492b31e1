"""deploy/validate's Kafka durability rules and custom-resource table fail on weaker or unknown input.

scripts/k8s-validate.sh runs them over the real files (tests/deploy/test_k8s_validate.py); here each rule is
shown to reject what it must, on copies of the checked-in files made weaker one setting at a time.
"""

from __future__ import annotations

import copy
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "deploy" / "validate"))

import crds  # noqa: E402 - the validator's modules live beside validate.py, not in a package
import kafka_durability  # noqa: E402

FACTS = crds.Facts(partitions=6, single_broker=False)


def _topic() -> dict[str, Any]:
    text = (REPO / "deploy/k8s/components/kafka-topics/topics.yaml").read_text()
    return next(d for d in yaml.safe_load_all(text) if d)


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "docker-compose.yml").read_text()))


def test_the_checked_in_files_pass() -> None:
    topic = _topic()
    crd = crds.crd_of(topic)
    assert crd is not None
    assert crds.schema_problems(topic, crd) == []
    assert crds.rule_problems(topic, crd, FACTS) == []
    assert kafka_durability.compose_problems(_compose(), REPO) == []


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("spec", "replicas"), 2, "replication factor 2 is below 3"),
        (("spec", "config", "min.insync.replicas"), "1", "min.insync.replicas 1 is below 2"),
        (("spec", "config", "min.insync.replicas"), "3", "leaves no replica to lose"),
        (
            ("spec", "config", "unclean.leader.election.enable"),
            "true",
            "unclean.leader.election.enable must be",
        ),
        (("spec", "partitions"), 12, "partitions 12 differ from KAFKA_PARTITIONS 6"),
    ],
)
def test_a_weaker_kafka_topic_fails(path: tuple[str, ...], value: Any, expected: str) -> None:
    topic = copy.deepcopy(_topic())
    node = topic
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    crd = crds.crd_of(topic)
    assert crd is not None
    problems = crds.rule_problems(topic, crd, FACTS)
    assert any(expected in p for p in problems), problems


def test_kafka_topic_schema_is_strict() -> None:
    topic = copy.deepcopy(_topic())
    topic["spec"]["replicationFactor"] = 3
    del topic["metadata"]["labels"]["strimzi.io/cluster"]
    crd = crds.crd_of(topic)
    assert crd is not None
    problems = crds.schema_problems(topic, crd)
    assert any("spec: Additional properties are not allowed ('replicationFactor'" in p for p in problems)
    assert any("metadata.labels: 'strimzi.io/cluster' is a required property" in p for p in problems)


def test_a_crd_kind_outside_the_table_is_not_known() -> None:
    assert crds.crd_of({"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaUser"}) is None
    assert crds.crd_of({"apiVersion": "kafka.strimzi.io/v1alpha1", "kind": "KafkaTopic"}) is None


def test_services_settings_and_producer_acks() -> None:
    assert kafka_durability.config_map_problems("ConfigMap/c", {"KAFKA_REPLICATION_FACTOR": "1"}, True) == []
    assert kafka_durability.config_map_problems("ConfigMap/c", {"KAFKA_REPLICATION_FACTOR": "2"}, False) == [
        "ConfigMap/c: KAFKA_REPLICATION_FACTOR=2 is below 3"
    ]
    assert kafka_durability.config_map_problems("ConfigMap/c", {"KAFKA_ACKS": "1"}, True) == [
        "ConfigMap/c: KAFKA_ACKS=1 may lose acknowledged events; use all (the default)"
    ]
    assert kafka_durability.acks_problems("x", {"KAFKA_ACKS": "all"}) == []


def test_weaker_compose_settings_fail(tmp_path: Path) -> None:
    compose = _compose()
    kafka = compose["services"]["kafka"]["environment"]
    kafka["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] = "true"
    compose["services"]["generator"]["environment"]["KAFKA_ACKS"] = "0"
    compose["services"]["scraper"]["environment"]["KAFKA_REPLICATION_FACTOR"] = "3"
    (tmp_path / "deploy/kafka").mkdir(parents=True)
    script = (REPO / kafka_durability.TOPIC_SCRIPT).read_text()
    (tmp_path / kafka_durability.TOPIC_SCRIPT).write_text(
        script.replace("etsygen.trends.scored.v1 6 1 ", "etsygen.trends.scored.v1 6 3 ", 1)
    )
    assert kafka_durability.compose_problems(compose, tmp_path) == [
        "docker-compose.yml: kafka: unclean.leader.election.enable must be false (got 'true')",
        "docker-compose.yml: scraper KAFKA_REPLICATION_FACTOR=3; 1 broker(s) allow and need 1",
        "docker-compose.yml: generator: KAFKA_ACKS=0 may lose acknowledged events; use all (the default)",
        f"{kafka_durability.TOPIC_SCRIPT}: etsygen.trends.scored.v1: 3 replicas but only 1 broker(s)",
    ]


def test_three_compose_brokers_need_replication_three(tmp_path: Path) -> None:
    compose = _compose()
    for n in (2, 3):
        compose["services"][f"kafka-{n}"] = copy.deepcopy(compose["services"]["kafka"])
    shutil.copytree(REPO / "deploy/kafka", tmp_path / "deploy/kafka")
    problems = kafka_durability.compose_problems(compose, tmp_path)
    assert "docker-compose.yml: kafka: replication factor 1 is below 3 (3 broker(s))" in problems
    assert "docker-compose.yml: kafka: min.insync.replicas 1 is below 2 with 1 replicas" in problems
    assert any("etsygen.deadletter.v1: replication factor 1 is below 3" in p for p in problems)
