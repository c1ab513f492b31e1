"""The platform's services as the CLI knows them: name, module of the composition root, default port."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """Where a service's ``bootstrap`` module lives and which port it listens on by default."""

    name: str
    module: str
    port: int

    def bootstrap(self) -> Any:
        """Import the service's bootstrap module (lazily: the CLI starts fast)."""
        return importlib.import_module(self.module)

    def retention(self) -> Any:
        """Import the service's retention use case (``apply_retention(pool, settings, now, dry_run)``)."""
        return importlib.import_module(self.module.replace(".bootstrap", ".service_layer.retention"))


SERVICES: dict[str, ServiceInfo] = {
    s.name: s
    for s in (
        ServiceInfo("gateway", "etsygen_gateway.bootstrap", 8000),
        ServiceInfo("scraper", "etsygen_scraper.bootstrap", 8101),
        ServiceInfo("analyzer", "etsygen_analyzer.bootstrap", 8102),
        ServiceInfo("generator", "etsygen_generator.bootstrap", 8103),
    )
}
