"""The analyzer's composition root."""

from __future__ import annotations

from pathlib import Path

from etsygen_analyzer.adapters import repository
from etsygen_analyzer.domain.config import default_config, load_scoring_config
from etsygen_analyzer.handlers import ListingsScrapedHandler
from etsygen_analyzer.metrics import SERVICE
from etsygen_analyzer.settings import AnalyzerSettings
from etsygen_common import contracts
from etsygen_common.runtime import ServiceRuntime

DEFAULT_PORT = 8102
MIGRATIONS = Path(__file__).parent / "migrations"


def load_settings() -> AnalyzerSettings:
    """Read the analyzer's settings from the environment."""
    return AnalyzerSettings.from_env()


def build_app(settings: AnalyzerSettings) -> ServiceRuntime:
    """Wire the analyzer: scoring configuration (validated now, so a bad file stops the start), consumer."""
    path = settings.analyzer.scoring_config
    config = load_scoring_config(path) if path else default_config()
    runtime = ServiceRuntime(
        name=SERVICE,
        settings=settings.common,
        migrations_dir=MIGRATIONS,
        default_port=DEFAULT_PORT,
        group="etsygen-analyzer",
        waiting_stage="analyze",
    )
    assert runtime.consumer is not None
    runtime.consumer.subscribe(
        contracts.LISTINGS_SCRAPED,
        contracts.ListingsScraped,
        ListingsScrapedHandler(config, settings.analyzer.history_limit),
        replay_redrives=True,  # a re-drive re-emits the keyword's stored score (same trend id)
    )
    runtime.extra_topics.append(contracts.TRENDS_SCORED)

    async def started(rt: ServiceRuntime) -> None:
        async with rt.pool.acquire() as conn:
            await repository.ensure_partitions(conn)

    runtime.on_start.append(started)
    return runtime
