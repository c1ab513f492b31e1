"""The AsyncAPI 3.0 document of the platform, generated from the services' own wiring.

Each service's ``build_app`` is called with placeholder settings (nothing connects); its consumer routes are
its ``receive`` operations and the topics it creates for its events are its ``send`` operations. Message
payloads are the contracts' JSON Schemas, and the CloudEvents headers are documented once.
"""

from __future__ import annotations

import json
from typing import Any

from etsygen_cli.wiring import runtimes
from etsygen_common.contracts import DEADLETTER, TOPICS
from etsygen_common.schemas import event_schemas

CE_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"],
    "properties": {
        "ce_specversion": {"const": "1.0"},
        "ce_id": {"type": "string", "description": "event id (UUID); consumers deduplicate on it"},
        "ce_source": {"type": "string", "description": "producing service"},
        "ce_type": {"type": "string", "description": "the topic name"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "job id"},
        "content-type": {"const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C trace context"},
        "tracestate": {"type": "string"},
    },
}


def _wiring() -> dict[str, tuple[list[str], list[str]]]:
    """For each service: (topics it consumes, topics it produces)."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for name, runtime in runtimes().items():
        consumes = [r.topic for r in runtime.consumer.routes] if runtime.consumer else []
        produces = [t for t in runtime.extra_topics if t in TOPICS]
        out[name] = (sorted(consumes), sorted(produces))
    return out


def build_document() -> dict[str, Any]:
    """The AsyncAPI document as a dict."""
    schemas = event_schemas()
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in sorted(TOPICS):
        key = topic.replace(".", "_").replace("-", "_")
        payload = schemas.get(
            topic, {"type": "string", "format": "binary", "description": "the failed record, unchanged"}
        )
        messages[key] = {
            "name": topic,
            "contentType": "application/json",
            "headers": CE_HEADERS,
            "payload": payload,
            "summary": TOPICS[topic].description,
        }
        channels[key] = {
            "address": topic,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "description": TOPICS[topic].description,
        }
    operations: dict[str, Any] = {}
    for service, (consumes, produces) in sorted(_wiring().items()):
        for action, topics in (("receive", consumes), ("send", produces)):
            for topic in topics:
                key = topic.replace(".", "_").replace("-", "_")
                operations[f"{service}_{action}_{key}"] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{key}"},
                    "summary": f"{service} {'consumes' if action == 'receive' else 'publishes'} {topic}",
                }
    deadletter_key = DEADLETTER.replace(".", "_")
    operations["any_consumer_send_deadletter"] = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{deadletter_key}"},
        "summary": "every consumer group dead-letters records that failed for good",
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Etsy-Gen events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 over Kafka (binary mode), keyed by job_id/keyword.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> str:
    """Stable text of the document."""
    return json.dumps(build_document(), indent=2, sort_keys=True) + "\n"
