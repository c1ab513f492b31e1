"""Retention of the generator's schema: its outbox and inbox. Products, AI usage and publications stay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from etsygen_common.retention import Removal, prune_outbox_inbox
from etsygen_generator.settings import GeneratorSettings


async def apply_retention(
    pool: Any, settings: GeneratorSettings, *, now: datetime, dry_run: bool
) -> list[Removal]:
    """Every retention step of the generator, cutoffs relative to ``now``."""
    return await prune_outbox_inbox(pool, settings.common.retention, now=now, dry_run=dry_run)
