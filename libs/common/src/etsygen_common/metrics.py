"""Prometheus metrics shared by every service.

Metric objects are module-level (Prometheus collectors are process-global by design); each carries a
``service`` label so one registry scrape tells the services apart when run together in ``etsygen run all``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_PUBLISHED = Counter(
    "etsygen_outbox_published_total", "Outbox rows published to Kafka", ["service", "topic"]
)
OUTBOX_PENDING = Gauge("etsygen_outbox_pending", "Outbox rows waiting to be published", ["service"])
OUTBOX_PUBLISH_ERRORS = Counter(
    "etsygen_outbox_publish_errors_total", "Relay batches that failed to publish", ["service"]
)
OUTBOX_BATCH_SECONDS = Histogram(
    "etsygen_outbox_batch_seconds", "Time to publish and mark one relay batch", ["service"]
)
EVENTS_CONSUMED = Counter(
    "etsygen_events_consumed_total", "Events handled by consumers", ["service", "topic", "outcome"]
)
HANDLER_SECONDS = Histogram(
    "etsygen_handler_seconds",
    "Time spent in a consumer handler including its transaction",
    ["service", "topic"],
)
DEADLETTERS = Counter(
    "etsygen_deadletters_total", "Records sent to the dead-letter topic", ["service", "topic", "reason"]
)
RETRIES = Counter("etsygen_retries_total", "Records sent to a retry topic", ["service", "topic", "attempt"])
CONSUMER_PAUSES = Counter(
    "etsygen_consumer_pauses_total",
    "Times a consumer rewound and paused its partitions: a dependency reported down (an open breaker), the "
    "database unreachable, or an unexpected error in a batch",
    ["service", "cause"],
)
BREAKER_STATE = Gauge(
    "etsygen_circuit_breaker_state",
    "Circuit breaker state (0 closed, 1 half-open, 2 open)",
    ["service", "breaker"],
)
BREAKER_TRANSITIONS = Counter(
    "etsygen_circuit_breaker_transitions_total", "Breaker state changes", ["service", "breaker", "to"]
)
BREAKER_CALLS = Counter(
    "etsygen_circuit_breaker_calls_total",
    "Calls through a breaker by outcome",
    ["service", "breaker", "outcome"],
)
READY = Gauge("etsygen_ready", "1 when every dependency of the service answers", ["service"])
REDRIVE_REPLAYS = Counter(
    "etsygen_redrive_replays_total",
    "Re-driven keywords a stage answered from its stored output instead of redoing its work",
    ["service", "topic"],
)
BROKER_LOSSES = Counter(
    "etsygen_broker_losses_total",
    "Times the broker was found to have lost acknowledged records (restarted empty, topic recreated)",
    ["service"],
)
RETENTION_REMOVED = Counter(
    "etsygen_retention_removed_rows",
    "Rows retention removed from a service's schema: deleted, dropped with their partition, or (jobs) moved "
    "to the archive tables; step is one of the service's fixed retention steps. A dry run counts nothing",
    ["service", "step"],
    unit="rows",
)
