"""The services as wired by their composition roots, built with placeholder settings (nothing connects).

Documents generated from the code (the AsyncAPI document, the declared Kafka topics) read each service's
consumer routes and the topics it creates from here, so they describe what actually runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from etsygen_cli.services import SERVICES
from etsygen_common.runtime import ServiceRuntime

_PLACEHOLDER_ENV = {
    "DATABASE_URL": "postgresql://placeholder@localhost/etsygen",
    "REDIS_URL": "redis://localhost:6379/0",
    "KAFKA_BOOTSTRAP_SERVERS": "localhost:9092",
    "ETSY_API_KEY": "placeholder:placeholder",
    "ETSYGEN_ENV_FILE": os.devnull,
}


@contextmanager
def _placeholder_environment() -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(_PLACEHOLDER_ENV)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def runtimes() -> dict[str, ServiceRuntime]:
    """Every service's runtime, built (not started) from placeholder settings."""
    out: dict[str, ServiceRuntime] = {}
    with _placeholder_environment():
        for name, info in SERVICES.items():
            module = info.bootstrap()
            out[name] = module.build_app(module.load_settings())
    return out


def created_topics(runtime: ServiceRuntime) -> list[str]:
    """The logical topics a service creates at start (see ServiceRuntime.start)."""
    return list(runtime.extra_topics) + (runtime.consumer.topics if runtime.consumer else [])
