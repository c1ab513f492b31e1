"""``etsygen``: run services and the local stack, migrate, export schemas.

Every command reads its configuration from the environment (and ``.env``); a missing or invalid variable
stops it with exit status 2 and a message naming the variable.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from etsygen_cli.services import SERVICES
from etsygen_common.settings import SettingsError
from etsygen_gateway.cli import dead_letters_app, users_app

app = typer.Typer(
    help="Etsy-Gen: find product opportunities on Etsy and turn them into listing drafts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
schemas_app = typer.Typer(help="Event contract schemas.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration helpers.", no_args_is_help=True)
metrics_app = typer.Typer(help="The metrics catalogue (docs/metrics.md).", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
app.add_typer(users_app, name="users")
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(dead_letters_app, name="dlq", help="Alias of dead-letters.")
app.add_typer(config_app, name="config")
app.add_typer(metrics_app, name="metrics")


def fail(message: str, code: int = 2) -> None:
    """Print an error for people and exit."""
    typer.secho(f"etsygen: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _load(service: str) -> tuple[Any, Any]:
    if service not in SERVICES:
        fail(f"unknown service {service!r}; choose one of: {', '.join(SERVICES)} or all")
    module = SERVICES[service].bootstrap()
    try:
        settings = module.load_settings()
    except SettingsError as exc:
        fail(f"{service}: {exc}")
    return module, settings


@app.command()
def run(service: Annotated[str, typer.Argument(help="scraper, analyzer, generator, gateway or all")]) -> None:
    """Run one service (or all four as child processes) until SIGTERM or Ctrl-C."""
    if service == "all":
        from etsygen_cli.supervisor import Supervisor, install_stop_handlers, python_argv

        flag = [False]
        install_stop_handlers(flag)
        sup = Supervisor()
        for name in SERVICES:
            sup.spawn(name, python_argv("run", name), os.environ)
        died = sup.wait_any(flag)
        sup.stop_all()
        if died is not None:
            fail(f"service {died} exited with status {sup.procs[died].returncode}; stopped the others", 1)
        return
    module, settings = _load(service)
    from etsygen_common.runtime import setup_process

    setup_process(service, settings.common)
    runtime = module.build_app(settings)
    asyncio.run(runtime.run_forever())


@app.command()
def migrate(
    service: Annotated[str, typer.Argument(help="a service name or all")] = "all",
) -> None:
    """Apply pending migrations of one service's schema, or of all four."""
    names = list(SERVICES) if service == "all" else [service]
    for name in names:
        module, settings = _load(name)
        runtime = module.build_app(settings)
        applied = asyncio.run(runtime.migrate())
        typer.echo(f"{name}: {len(applied)} applied" + (f" ({', '.join(applied)})" if applied else ""))


@app.command()
def dev(
    data_dir: Annotated[
        Path, typer.Option(help="where embedded PostgreSQL and Redis keep their data")
    ] = Path(".data"),
    gateway_port: Annotated[int, typer.Option(help="port of the gateway")] = 8000,
) -> None:
    """Start the whole platform locally: embedded Kafka/PostgreSQL/Redis unless their URLs are set."""
    from etsygen_cli.devrun import run_dev

    sys.exit(run_dev(data_dir, gateway_port))


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[Path, typer.Option(help="output folder")] = Path("schemas/events"),
) -> None:
    """Write the JSON Schema of every event contract into the repository."""
    from etsygen_cli.asyncapi import render
    from etsygen_common.schemas import export

    for path in export(directory):
        typer.echo(str(path))
    asyncapi = directory.parent / "asyncapi.json"
    asyncapi.write_text(render())
    typer.echo(str(asyncapi))


@schemas_app.command("check")
def schemas_check(
    directory: Annotated[Path, typer.Option(help="folder of checked-in schemas")] = Path("schemas/events"),
) -> None:
    """Fail when a contract changed incompatibly, or compatibly without being exported."""
    from etsygen_cli.asyncapi import render
    from etsygen_common.schemas import check

    problems = check(directory)
    asyncapi = directory.parent / "asyncapi.json"
    if not asyncapi.exists() or asyncapi.read_text() != render():
        problems.append(f"{asyncapi}: AsyncAPI document is stale (run `etsygen schemas export`)")
    for p in problems:
        typer.echo(p, err=True)
    if problems:
        fail(f"{len(problems)} schema problem(s)", 1)
    typer.echo("schemas ok")


@metrics_app.command("catalogue")
def metrics_catalogue(
    output: Annotated[Path, typer.Option(help="file to write")] = Path("docs/metrics.md"),
) -> None:
    """Write the metrics catalogue from the metric declarations of every service."""
    from etsygen_cli.metricsdoc import UndeclaredMetricError, render

    try:
        text = render()
    except UndeclaredMetricError as exc:
        fail(str(exc), 1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    typer.echo(str(output))


@metrics_app.command("check")
def metrics_check(
    path: Annotated[Path, typer.Option(help="the checked-in catalogue")] = Path("docs/metrics.md"),
) -> None:
    """Fail when the checked-in catalogue differs from what the code declares."""
    from etsygen_cli.metricsdoc import UndeclaredMetricError, render

    try:
        text = render()
    except UndeclaredMetricError as exc:
        fail(str(exc), 1)
    if not path.exists() or path.read_text() != text:
        fail(f"{path} is stale: run `etsygen metrics catalogue` (or `make metrics-doc`) and commit it", 1)
    typer.echo("metrics catalogue ok")


@metrics_app.command("rules")
def metrics_rules(
    alerts: Annotated[Path, typer.Option(help="the alert rules (the one source)")] = Path(
        "deploy/prometheus/alerts.yml"
    ),
    output: Annotated[Path, typer.Option(help="the PrometheusRule to write")] = Path(
        "deploy/k8s/components/prometheus-rules/prometheus-rule.yaml"
    ),
) -> None:
    """Write the Kubernetes PrometheusRule from the alert rules of deploy/prometheus/alerts.yml."""
    from etsygen_cli.alertrules import render

    if not alerts.exists():
        fail(f"{alerts} not found: run this from the repository root or pass --alerts")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(alerts.read_text()))
    typer.echo(str(output))


@config_app.command("template")
def config_template(
    output: Annotated[Path, typer.Option(help="file to write")] = Path(".env.template"),
) -> None:
    """Write ``.env.template`` documenting every variable of every service."""
    from etsygen_cli.envtemplate import render_template

    output.write_text(render_template())
    typer.echo(str(output))


def main() -> None:
    """Entry point of the ``etsygen`` script."""
    app()


if __name__ == "__main__":
    main()
