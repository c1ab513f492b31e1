"""Kafka wiring on FastStream: broker factory, acknowledged publishing, topics, and reliable consumers.

Consumers never use FastStream's default acknowledgement: every subscriber is registered with
``AckPolicy.MANUAL`` and :class:`EventConsumer` commits the offset only after the handler's database
transaction (inbox insert first, effects, outbox rows) has committed, or after a failed record was handed to
a retry topic or the dead-letter topic and the broker acknowledged that publish.

The package's modules, by reason to change:

* :mod:`.broker`: the broker factory, :class:`KafkaPublisher`, topic creation.
* :mod:`.context`, :mod:`.errors`: what handlers see (:class:`HandlerContext`) and raise.
* :mod:`.policy`: the failure policy as pure functions (retry topics, due times, dead-letter headers,
  which failures are fatal); :mod:`.handoff` publishes what it decides.
* :mod:`.consumer`: the loop (:class:`EventConsumer`), with :mod:`.prepare` (decode, ``prepare`` step),
  :mod:`.settle` (transactions), :mod:`.pausing` (rewind, pause, resume) and :mod:`.offsets` (inbox read,
  commit, lag).
"""

from etsygen_common.envelope import Envelope
from etsygen_common.kafka.broker import KafkaPublisher, create_broker, ensure_topics
from etsygen_common.kafka.consumer import EventConsumer
from etsygen_common.kafka.context import Handler, HandlerContext, take_locks
from etsygen_common.kafka.errors import FatalError, PauseConsumption
from etsygen_common.kafka.policy import RETRY_DELAYS_S, retry_topic

__all__ = [
    "RETRY_DELAYS_S",
    "Envelope",
    "EventConsumer",
    "FatalError",
    "Handler",
    "HandlerContext",
    "KafkaPublisher",
    "PauseConsumption",
    "create_broker",
    "ensure_topics",
    "retry_topic",
    "take_locks",
]
