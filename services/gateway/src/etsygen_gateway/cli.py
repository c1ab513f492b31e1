"""``etsygen users ...`` and ``etsygen dead-letters ...``: account and dead-letter administration.

The CLI mounts these Typer apps (``app.add_typer(users_app, name="users")``, and likewise
``dead_letters_app`` as ``dead-letters``). Each command reads the gateway's settings from the environment,
filling what it does not give from the running ``etsygen dev`` stack (:mod:`etsygen_common.stackfile`),
applies the gateway's migrations, and works on its schema directly (the gateway need not be running).
"""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from etsygen_common.db import create_pool
from etsygen_common.migrations import migrate_service
from etsygen_common.settings import SettingsError
from etsygen_common.stackfile import load_with_dev_stack
from etsygen_gateway.errors import GatewayError

T = TypeVar("T")

users_app = typer.Typer(help="Gateway accounts.", no_args_is_help=True)
dead_letters_app = typer.Typer(help="Dead letters stored by the gateway.", no_args_is_help=True)


@users_app.callback()
def users() -> None:
    """Gateway accounts (the gateway need not be running)."""


@dead_letters_app.callback()
def dead_letters() -> None:
    """Dead letters stored by the gateway: list, replay, discard, prune."""


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"etsygen: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _settings() -> Any:
    """The gateway's settings (environment first, then the running dev stack), or exit naming the fix."""
    from etsygen_gateway.bootstrap import load_settings

    try:
        return load_with_dev_stack(load_settings)
    except SettingsError as exc:
        _fail(f"gateway: {exc}")
        raise  # unreachable; keeps type checkers informed


def _run(work: Callable[[Any], Awaitable[T]], settings: Any = None) -> T:
    """Run ``work(pool)`` against the gateway's migrated schema."""
    from etsygen_gateway.bootstrap import MIGRATIONS
    from etsygen_gateway.gateway import SCHEMA

    settings = _settings() if settings is None else settings

    async def main() -> T:
        await migrate_service(settings.common.postgres.url, SCHEMA, MIGRATIONS)
        pool = await create_pool(settings.common.postgres, SCHEMA, application_name="etsygen-cli")
        try:
            return await work(pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(main())
    except GatewayError as exc:
        _fail(exc.detail, 1)
        raise


@users_app.command("create-admin")
def create_admin_command(
    email: Annotated[str, typer.Argument(help="the admin's email address")],
    password: Annotated[
        str | None,
        typer.Option(help="the password; default: $ETSYGEN_ADMIN_PASSWORD, else asked interactively"),
    ] = None,
) -> None:
    """Create an admin account (or make an existing account an admin with a new password)."""
    from etsygen_gateway.service_layer.first_admin import create_admin

    settings = _settings()  # before the prompt: a missing setting should not cost two passwords
    secret = password or os.environ.get("ETSYGEN_ADMIN_PASSWORD")
    if not secret:
        secret = getpass.getpass("password: ")
        if secret != getpass.getpass("again: "):
            _fail("the passwords differ")
    assert secret is not None
    user = _run(lambda pool: create_admin(pool, email, secret), settings)
    typer.echo(f"admin {user.email} ({user.id})")


@users_app.command("setup-link")
def setup_link_command(
    base_url: Annotated[
        str, typer.Option(help="where the gateway is reached, e.g. https://etsygen.example.com")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Print a one-time link that creates the first admin in the browser (only while no account exists).

    The link is valid once, for GATEWAY_SETUP_LINK_TTL_S seconds; a new link retires the earlier ones.
    """
    from etsygen_gateway.bootstrap import load_settings
    from etsygen_gateway.service_layer.first_admin import issue_setup_link

    try:
        ttl_s = load_settings().gateway.setup_link_ttl_s
    except SettingsError as exc:
        _fail(f"gateway: {exc}")
        raise
    link = _run(lambda pool: issue_setup_link(pool, ttl_s))
    if link is None:
        _fail(
            "accounts exist already, so there is no setup link: sign in, or make an admin with "
            "`etsygen users create-admin EMAIL`",
            1,
        )
        raise AssertionError  # unreachable; keeps type checkers informed
    minutes = max(1, round(ttl_s / 60))
    typer.echo(f"{base_url.rstrip('/')}/dashboard/setup?token={link.token}")
    typer.echo(f"(works once, for {minutes} minutes: it creates the first admin account)", err=True)


@dead_letters_app.command("list")
def list_dead_letters(
    status: Annotated[str | None, typer.Option(help="pending, replayed or discarded")] = None,
    topic: Annotated[str | None, typer.Option(help="original topic")] = None,
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 50,
) -> None:
    """List stored dead letters."""
    from etsygen_gateway.adapters.deadletters import list_dead_letters as list_letters

    settings = _settings()
    page = _run(
        lambda pool: list_letters(
            pool,
            status=status,
            topic=topic,
            consumer_group=None,
            exception_type=None,
            before_id=None,
            limit=limit,
        ),
        settings,
    )
    if not page.items:
        filters = [f"{name} {value}" for name, value in (("status", status), ("topic", topic)) if value]
        typer.echo("no dead letters" + (f" with {' and '.join(filters)}" if filters else ""))
    for d in page.items:
        typer.echo(
            f"{d.id}\t{d.status}\t{d.original_topic}[{d.original_partition}]@{d.original_offset}\t"
            f"{d.consumer_group}\t{d.exception_type or '-'}\t{(d.exception_message or '')[:80]}"
        )


@dead_letters_app.command("show")
def show_dead_letter(letter_id: Annotated[int, typer.Argument(help="the dead letter's id")]) -> None:
    """Inspect one dead letter: why it failed, its headers and its body."""
    import msgspec

    from etsygen_gateway.service_layer.operations import dead_letter

    detail = _run(lambda pool: dead_letter(pool, letter_id))
    typer.echo(msgspec.json.format(msgspec.json.encode(detail), indent=2).decode())


@dead_letters_app.command("replay")
def replay_dead_letter(
    letter_id: Annotated[int, typer.Argument(help="the dead letter's id (see list)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only show what would be sent")] = False,
) -> None:
    """Re-publish a dead letter's original record to its topic (through the outbox)."""
    from etsygen_gateway.service_layer.operations import replay

    result = _run(lambda pool: replay(pool, letter_id, dry_run=dry_run))
    verb = "would send" if result.dry_run else "queued"
    typer.echo(f"{verb} {result.size} bytes to {result.topic} (replay {result.replay_count})")
    for name, value in sorted(result.headers.items()):
        typer.echo(f"  {name}: {value}")


@dead_letters_app.command("discard")
def discard_dead_letter(letter_id: Annotated[int, typer.Argument(help="the dead letter's id")]) -> None:
    """Mark a dead letter as dealt with (retention removes it later)."""
    from etsygen_gateway.service_layer.operations import discard

    summary = _run(lambda pool: discard(pool, letter_id))
    typer.echo(f"{summary.id} {summary.status}")


@dead_letters_app.command("prune")
def prune_dead_letters(
    days: Annotated[
        int | None, typer.Option(help="keep this many days; default GATEWAY_DEAD_LETTER_RETENTION_DAYS (30)")
    ] = None,
) -> None:
    """Delete dead letters older than the retention window."""
    from datetime import UTC, datetime, timedelta

    from etsygen_gateway.adapters.deadletters import prune

    settings = _settings()
    keep = days if days is not None else settings.gateway.dead_letter_retention_days
    cutoff = datetime.now(UTC) - timedelta(days=keep)
    batch = settings.common.retention.batch_rows
    typer.echo(f"{_run(lambda pool: prune(pool, cutoff, batch_rows=batch), settings)} dead letters deleted")
