"""``etsygen``: run services and the local stack, migrate, apply retention, export schemas.

Every command reads its configuration from the environment (and ``.env``); a missing or invalid variable
stops it with exit status 2 and a message naming the variable. Admin commands (``migrate``, ``users``,
``dlq``) take what the environment does not give from the running ``etsygen dev`` stack, if one runs.
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
from etsygen_common.stackfile import DATA_DIR_VARIABLE, DEFAULT_DATA_DIR, load_with_dev_stack
from etsygen_gateway.cli import dead_letters_app, users_app

app = typer.Typer(
    help="Etsy-Gen: find product opportunities on Etsy and turn them into listing drafts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
schemas_app = typer.Typer(help="Event contract schemas.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration helpers.", no_args_is_help=True)
deploy_app = typer.Typer(help="Deployment files generated from the code.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention: remove what is older than its window.", no_args_is_help=True)
metrics_app = typer.Typer(help="The metrics catalogue (docs/metrics.md).", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
app.add_typer(deploy_app, name="deploy")
app.add_typer(retention_app, name="retention")
app.add_typer(users_app, name="users")
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(dead_letters_app, name="dlq", help="Alias of dead-letters.")
app.add_typer(config_app, name="config")
app.add_typer(metrics_app, name="metrics")


def fail(message: str, code: int = 2) -> None:
    """Print an error for people and exit."""
    typer.secho(f"etsygen: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _load(service: str, *, from_dev_stack: bool = False) -> tuple[Any, Any]:
    """A service's bootstrap module and settings; ``from_dev_stack`` fills gaps from a running dev stack.

    ``run`` does not look for a dev stack: a service started by hand is configured by hand.
    """
    if service not in SERVICES:
        fail(f"unknown service {service!r}; choose one of: {', '.join(SERVICES)} or all")
    module = SERVICES[service].bootstrap()
    try:
        settings = load_with_dev_stack(module.load_settings) if from_dev_stack else module.load_settings()
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
        module, settings = _load(name, from_dev_stack=True)
        runtime = module.build_app(settings)
        applied = asyncio.run(runtime.migrate())
        typer.echo(f"{name}: {len(applied)} applied" + (f" ({', '.join(applied)})" if applied else ""))


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what a run would remove now; remove nothing")
    ] = False,
    service: Annotated[str, typer.Option(help="a service name or all")] = "all",
    metrics_file: Annotated[
        Path | None,
        typer.Option(help="also write the run's metrics to this file in Prometheus text format"),
    ] = None,
) -> None:
    """Remove (or archive) in every service's schema what is past its window; one line per step."""
    from datetime import UTC, datetime

    from etsygen_cli.retention import run_services

    names = list(SERVICES) if service == "all" else [service]
    loaded = [(name, *_load(name)) for name in names]  # every setting is checked before anything is removed
    from etsygen_common.runtime import setup_process

    setup_process("retention", loaded[0][2].common)
    failed = run_services(loaded, now=datetime.now(UTC), dry_run=dry_run, echo=typer.echo)
    if metrics_file is not None:
        from prometheus_client import REGISTRY, write_to_textfile

        write_to_textfile(str(metrics_file), REGISTRY)
    if failed:
        fail(f"retention failed for {', '.join(failed)}; the other services' steps ran (see the log)", 1)


@app.command()
def dev(
    data_dir: Annotated[
        Path,
        typer.Option(
            help="where embedded PostgreSQL and Redis keep their data, and the stack its record",
            envvar=DATA_DIR_VARIABLE,
        ),
    ] = DEFAULT_DATA_DIR,
    gateway_port: Annotated[int, typer.Option(help="port of the gateway")] = 8000,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log",
            help="log every request the marketplace simulator serves (also SIMULATOR_ACCESS_LOG=1)",
        ),
    ] = False,
) -> None:
    """Start the whole platform locally: embedded Kafka/PostgreSQL/Redis unless their URLs are set."""
    from etsygen_cli.devrun import run_dev

    sys.exit(run_dev(data_dir, gateway_port, simulator_access_log=access_log))


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


@deploy_app.command("topics")
def deploy_topics(
    check: Annotated[bool, typer.Option("--check", help="only compare the checked-in files")] = False,
    root: Annotated[Path, typer.Option(help="repository root")] = Path(),
) -> None:
    """Write the Kafka topics (Strimzi KafkaTopics, compose's creation script) from the topic registry."""
    from etsygen_cli import deploytopics

    if not check:
        for path in deploytopics.write(root):
            typer.echo(str(path))
        return
    problems = deploytopics.check(root)
    for p in problems:
        typer.echo(p, err=True)
    if problems:
        fail(f"{len(problems)} deployment file(s) out of date", 1)
    typer.echo("deploy topics ok")


def main() -> None:
    """Entry point of the ``etsygen`` script."""
    app()


if __name__ == "__main__":
    main()
