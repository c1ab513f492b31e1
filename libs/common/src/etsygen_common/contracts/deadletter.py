"""Topic ``etsygen.deadletter.v1``: the failed record unchanged plus failure headers.

The body of a dead letter is the original bytes; this module names the headers that describe the failure.
"""

from __future__ import annotations

from typing import Final

ORIGINAL_TOPIC: Final = "x-dlq-original-topic"
ORIGINAL_PARTITION: Final = "x-dlq-original-partition"
ORIGINAL_OFFSET: Final = "x-dlq-original-offset"
ORIGINAL_TIMESTAMP: Final = "x-dlq-original-timestamp"
CONSUMER_GROUP: Final = "x-dlq-consumer-group"
EXCEPTION_TYPE: Final = "x-dlq-exception-type"
EXCEPTION_MESSAGE: Final = "x-dlq-exception-message"
EXCEPTION_STACK: Final = "x-dlq-exception-stack"
ATTEMPTS: Final = "x-dlq-attempts"
FIRST_FAILURE: Final = "x-dlq-first-failure-time"
LAST_FAILURE: Final = "x-dlq-last-failure-time"
REPLAYED_FROM: Final = "x-replay-of"
REPLAY_COUNT: Final = "x-replay-count"

ALL_HEADERS: Final = (
    ORIGINAL_TOPIC,
    ORIGINAL_PARTITION,
    ORIGINAL_OFFSET,
    ORIGINAL_TIMESTAMP,
    CONSUMER_GROUP,
    EXCEPTION_TYPE,
    EXCEPTION_MESSAGE,
    EXCEPTION_STACK,
    ATTEMPTS,
    FIRST_FAILURE,
    LAST_FAILURE,
)
