"""Prometheus metrics shared by every service (declared in :mod:`etsygen_common.catalogue`).

Metric objects are module-level (Prometheus collectors are process-global by design); each carries a
``service`` label, set by the code, so one registry scrape tells the services apart when several run in one
process (the tests do).
"""

from __future__ import annotations

from typing import Final

from etsygen_common.catalogue import SERVICES, counter, gauge, histogram

TOPIC: Final = "a logical topic of etsygen_common.contracts (no deployment prefix)"
CONSUMED_TOPIC: Final = f"{TOPIC}, or one of its retry topics (TOPIC.GROUP.retry.N, N = 1, 2, 3)"
BREAKER: Final = "etsy-api (scraper), ai-PROVIDER (generator: ai-builtin, ai-openai_compat, ai-anthropic)"
APPEARS_ON_EVENT: Final = "Series appear with the first event of their labels."

OUTBOX_PUBLISHED = counter(
    "etsygen_outbox_published",
    "Outbox rows published to Kafka",
    unit="rows",
    owners=SERVICES,
    labels={"topic": TOPIC},
    note=APPEARS_ON_EVENT,
)
OUTBOX_PENDING = gauge(
    "etsygen_outbox_pending",
    "Outbox rows waiting to be published, as last counted by the relay holding the outbox lock",
    unit="rows",
    owners=SERVICES,
)
OUTBOX_OLDEST_PENDING = gauge(
    "etsygen_outbox_oldest_pending_seconds",
    "Age of the oldest outbox row not yet published, measured every 5 s by the relay holding the outbox lock "
    "(0 when none waits, and on replicas that do not hold the lock)",
    unit="seconds",
    owners=SERVICES,
)
OUTBOX_PUBLISH_ERRORS = counter(
    "etsygen_outbox_publish_errors",
    "Relay batches that failed to publish",
    unit="batches",
    owners=SERVICES,
)
OUTBOX_BATCH_SECONDS = histogram(
    "etsygen_outbox_batch_seconds",
    "Time to publish and mark one relay batch",
    unit="seconds",
    owners=SERVICES,
)
EVENTS_CONSUMED = counter(
    "etsygen_events_consumed",
    "Events handled by consumers, by outcome: ok (handled and committed), duplicate (seen before, skipped), "
    "retried (handed to the next retry topic), deadlettered (handed to the dead-letter topic)",
    unit="events",
    owners=SERVICES,
    labels={"topic": TOPIC, "outcome": ("ok", "duplicate", "retried", "deadlettered")},
    note=APPEARS_ON_EVENT,
)
HANDLER_SECONDS = histogram(
    "etsygen_handler_seconds",
    "Time spent in a consumer handler including its transaction",
    unit="seconds",
    owners=SERVICES,
    labels={"topic": TOPIC},
    note=APPEARS_ON_EVENT,
)
DEADLETTERS = counter(
    "etsygen_deadletters",
    "Records sent to the dead-letter topic",
    unit="records",
    owners=SERVICES,
    labels={"topic": TOPIC, "reason": ("fatal", "exhausted")},
    note=APPEARS_ON_EVENT,
)
RETRIES = counter(
    "etsygen_retries",
    "Records sent to a retry topic",
    unit="records",
    owners=SERVICES,
    labels={"topic": TOPIC, "attempt": ("1", "2", "3")},
    note=APPEARS_ON_EVENT,
)
CONSUMER_PAUSES = counter(
    "etsygen_consumer_pauses",
    "Times a consumer rewound and paused its partitions: a dependency reported down (an open breaker), the "
    "database unreachable, or an unexpected error in a batch",
    unit="pauses",
    owners=SERVICES,
    labels={"cause": ("dependency", "database", "error")},
)
CONSUMER_LAG = gauge(
    "etsygen_consumer_lag",
    "Records of a partition not yet handled by the group: the partition's high watermark seen by the "
    "consumer's last fetch minus the offset its last batch reached, updated on each batch",
    unit="records",
    owners=SERVICES,
    labels={
        "group": "the service's consumer group (etsygen-SERVICE)",
        "topic": CONSUMED_TOPIC,
        "partition": "a partition number of the topic (0 to KAFKA_PARTITIONS - 1)",
    },
    note="Series appear with the first batch fetched from the partition.",
)
BREAKER_STATE = gauge(
    "etsygen_circuit_breaker_state",
    "Circuit breaker state (0 closed, 1 half-open, 2 open)",
    unit="state",
    owners=("scraper", "generator"),
    labels={"breaker": BREAKER},
)
BREAKER_TRANSITIONS = counter(
    "etsygen_circuit_breaker_transitions",
    "Breaker state changes",
    unit="transitions",
    owners=("scraper", "generator"),
    labels={"breaker": BREAKER, "to": ("closed", "half-open", "open")},
    note=APPEARS_ON_EVENT,
)
BREAKER_CALLS = counter(
    "etsygen_circuit_breaker_calls",
    "Calls through a breaker by outcome",
    unit="calls",
    owners=("scraper", "generator"),
    labels={"breaker": BREAKER, "outcome": ("success", "failure", "rejected")},
    note=APPEARS_ON_EVENT,
)
READY = gauge(
    "etsygen_ready", "1 when every dependency of the service answers", unit="boolean", owners=SERVICES
)
DB_QUERY_SECONDS = histogram(
    "etsygen_db_query_seconds",
    "Duration of one PostgreSQL statement on the service's pool, as asyncpg's query logger times it",
    unit="seconds",
    owners=SERVICES,
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
REDRIVE_REPLAYS = counter(
    "etsygen_redrive_replays",
    "Re-driven keywords a stage answered from its stored output instead of redoing its work",
    unit="keywords",
    owners=("scraper", "analyzer", "generator"),
    labels={"topic": TOPIC},
    note=APPEARS_ON_EVENT,
)
BROKER_LOSSES = counter(
    "etsygen_broker_losses",
    "Times the broker was found to have lost acknowledged records (restarted empty, a topic recreated)",
    unit="losses",
    owners=SERVICES,
)
RETENTION_REMOVED = counter(
    "etsygen_retention_removed_rows",
    "Rows retention removed from a service's schema: deleted, dropped with their partition, or (jobs) moved "
    "to the archive tables. A dry run counts nothing",
    unit="rows",
    owners=SERVICES,
    labels={"step": "one of the service's fixed retention steps (etsygen retention run prints them)"},
    note="Counted by the `etsygen retention run` process, not by the services.",
)
