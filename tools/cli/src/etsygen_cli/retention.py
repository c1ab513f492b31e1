"""``etsygen retention run``: each service's retention in its own schema, one line per step for people.

The steps live with the services (``<service>.service_layer.retention.apply_retention``); this module
only runs them one service after another in each one's schema, with one ``now`` (a dry run and a
real run given the same instant use the same cutoffs), and keeps going when one service's database fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from etsygen_cli.services import SERVICES
from etsygen_common.logging import get_logger
from etsygen_common.migrations import MigrationError
from etsygen_common.retention import Removal, run_for_service

log = get_logger(__name__)


def describe(dry_run: bool) -> str:
    """The verb of a line: what the count means."""
    return "would remove" if dry_run else "removed"


def line(service: str, removal: Removal, *, dry_run: bool) -> str:
    """``gateway    jobs_archived      removed 12 (with 30 keywords and 210 timeline entries)``."""
    detail = f" ({removal.detail})" if removal.detail else ""
    return f"{service:<10} {removal.step:<18} {describe(dry_run)} {removal.removed}{detail}"


def run_services(
    loaded: Sequence[tuple[str, Any, Any]],
    *,
    now: datetime,
    dry_run: bool,
    echo: Callable[[str], Any],
) -> list[str]:
    """Run each service's retention for ``(name, bootstrap module, settings)``; the names that failed."""
    failed: list[str] = []
    for name, module, settings in loaded:
        use_case = SERVICES[name].retention()

        def steps(pool: Any, use_case: Any = use_case, settings: Any = settings) -> Any:
            return use_case.apply_retention(pool, settings, now=now, dry_run=dry_run)

        work = run_for_service(name, settings.common, module.MIGRATIONS, steps, dry_run=dry_run)
        try:
            removals: list[Removal] = asyncio.run(work)
        except MigrationError as exc:  # the message names the fix; a stack would bury it
            log.error("retention failed", extra={"retention_service": name, "error": str(exc)})  # noqa: TRY400
            echo(f"{name:<10} failed: {exc}")
            failed.append(name)
            continue
        except Exception as exc:  # one service's database down must not stop the others' retention
            log.exception("retention failed", extra={"retention_service": name, "error": repr(exc)})
            echo(f"{name:<10} failed: {type(exc).__name__}: {exc}")
            failed.append(name)
            continue
        for removal in removals:
            echo(line(name, removal, dry_run=dry_run))
    return failed
