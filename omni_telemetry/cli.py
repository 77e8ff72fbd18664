"""``omni-telemetry``: the command line. Builds settings once and wires the packages together."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from omni_core.errors import ConfigError, OmniError, StorageError
from .settings import OmniSettings, TargetSettings, load_settings

app = typer.Typer(
    help="Scrape Mayastor, Envoy, Kuma and KubeVirt into ClickHouse in the OpenTelemetry Collector's schema.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
schema_app = typer.Typer(help="Create or print the ClickHouse metric tables.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")

# Piped output (CI logs, `make demo | tee`) gets a width that fits the tables instead of 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=170)
err_console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=170)

ConfigOption = Annotated[
    Optional[Path], typer.Option("--config", "-c", help="YAML settings file (keys as in OMNI_* env names, lower case)")
]
DsnOption = Annotated[
    Optional[str],
    typer.Option("--dsn", help="storage DSN: chdb:///path or http(s)://user:pass@host:port/db [env OMNI_STORAGE_DSN]"),
]
LogOption = Annotated[str, typer.Option("--log-level", help="debug, info, warning or error")]

F = TypeVar("F", bound=Callable[..., Any])


def _reports_errors(command: F) -> F:
    """Turn the error tree into exit codes and one readable line; 2 = bad config, 1 = runtime."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            err_console.print(f"[red]configuration error[/red]: {exc}", highlight=False)
            raise typer.Exit(2) from None
        except StorageError as exc:
            err_console.print(f"[red]storage error[/red]: {exc}", highlight=False)
            raise typer.Exit(1) from None
        except OmniError as exc:
            err_console.print(f"[red]error[/red]: {exc}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _logging(level: str) -> None:
    numeric = getattr(logging, level.upper(), None)
    if not isinstance(numeric, int):
        raise ConfigError(f"unknown log level {level!r}; use debug, info, warning or error", field="--log-level")
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _settings(config: Path | None, **overrides: Any) -> OmniSettings:
    return load_settings(config, **overrides)


# --- schema ---------------------------------------------------------------------------------


@schema_app.command("apply")
@_reports_errors
def schema_apply(config: ConfigOption = None, dsn: DsnOption = None) -> None:
    """Create the database and the five metric tables if they do not exist (idempotent)."""
    from exporters.clickhouse import apply_schema, connect, verify_schema

    from ._wiring import schema_options

    settings = _settings(config, storage_dsn=dsn)
    options = schema_options(settings)
    client = connect(settings.storage_dsn)
    apply_schema(client, options)
    verify_schema(client, options)
    console.print(f"schema ready in database [bold]{options.database}[/bold] at {settings.storage_dsn}")


@schema_app.command("show")
@_reports_errors
def schema_show(
    config: ConfigOption = None,
    cluster: Annotated[Optional[str], typer.Option("--cluster", help="render ON CLUSTER DDL for this cluster")] = None,
) -> None:
    """Print the DDL that ``schema apply`` runs."""
    from exporters.clickhouse import render_schema

    from ._wiring import schema_options

    settings = _settings(config, storage_cluster=cluster)
    for statement in render_schema(schema_options(settings)):
        typer.echo(statement.rstrip() + ";\n")


# --- scrape -----------------------------------------------------------------------------------


@app.command()
@_reports_errors
def scrape(
    url: Annotated[str, typer.Argument(help="target URL, e.g. http://10.0.0.5:9502/metrics")],
    source: Annotated[str, typer.Option("--source", "-s", help="source name (see `omni-telemetry sources`)")] = "prometheus",
    json_output: Annotated[bool, typer.Option("--json", help="print the OTLP JSON of the resulting MetricsData")] = False,
    bearer_token_file: Annotated[Optional[str], typer.Option("--bearer-token-file")] = None,
    ca_file: Annotated[Optional[str], typer.Option("--ca-file")] = None,
    insecure_skip_verify: Annotated[bool, typer.Option("--insecure-skip-verify")] = False,
    config: ConfigOption = None,
    log_level: LogOption = "warning",
) -> None:
    """Scrape one target once and show what would be stored. Exit 1 when the target is down."""
    from collectors import metrics_data

    from ._wiring import build_scraper, target_from_settings

    _logging(log_level)
    settings = _settings(config)
    target_settings = TargetSettings(
        url=url,
        source=source,
        bearer_token_file=bearer_token_file,
        ca_file=ca_file,
        insecure_skip_verify=insecure_skip_verify,
    ) if _valid_url(url) else None
    target = target_from_settings(target_settings, settings)  # type: ignore[arg-type]
    scraper = build_scraper(settings)

    async def once() -> Any:
        try:
            return await scraper.scrape(target)
        finally:
            await scraper.aclose()

    result = asyncio.run(once())
    if json_output:
        from exporters.otlp import metrics_data_to_json

        typer.echo(metrics_data_to_json(metrics_data([result])))
    else:
        _print_scrape(result)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning[/yellow]: {warning}", highlight=False)
    if not result.up:
        err_console.print(f"[red]up=0[/red]: {result.error}", highlight=False)
        raise typer.Exit(1)


def _valid_url(url: str) -> bool:
    try:
        TargetSettings(url=url)
    except Exception as exc:
        raise ConfigError(str(exc).splitlines()[-1].strip(), field="URL") from None
    return True


def _print_scrape(result: Any) -> None:
    table = Table(title=f"{result.target.url} ({result.target.source})", title_justify="left")
    for column in ("metric", "type", "points", "first point"):
        table.add_column(column)
    for scope in result.resource_metrics.scope_metrics:
        for metric in scope.metrics:
            points = list(metric.data.data_points)
            first = points[0] if points else None
            shown = ""
            if first is not None:
                attrs = ",".join(f"{k}={v}" for k, v in dict(first.attributes or {}).items())
                value = getattr(first, "value", None)
                if value is None:
                    value = f"count={getattr(first, 'count', '?')}"
                shown = f"{{{attrs}}} {value}"
            table.add_row(metric.name, type(metric.data).__name__, str(len(points)), shown[:100])
    console.print(table)
    attributes = dict(result.resource_metrics.resource.attributes)
    console.print("resource: " + ", ".join(f"{k}={v}" for k, v in attributes.items()), highlight=False)


# --- collect ----------------------------------------------------------------------------------


@app.command()
@_reports_errors
def collect(
    config: ConfigOption = None,
    target: Annotated[list[str], typer.Option("--target", "-t", help="ad-hoc target URL (repeatable)")] = [],
    source: Annotated[list[str], typer.Option("--source", "-s", help="source of the --target at the same position")] = [],
    once: Annotated[bool, typer.Option("--once", help="scrape every target once, store, and exit")] = False,
    dsn: DsnOption = None,
    interval: Annotated[Optional[float], typer.Option("--interval", help="seconds between scrapes")] = None,
    log_level: LogOption = "info",
) -> None:
    """Run the scrape loop, writing to the configured store (or OTLP endpoint)."""
    from collectors import CollectionLoop, CollectorMetrics

    from ._wiring import build_discovery, build_exporter, build_scraper, scrape_targets

    _logging(log_level)
    settings = _settings(config, storage_dsn=dsn, scrape_interval_s=interval)
    if len(source) > len(target):
        raise ConfigError("more --source than --target options; give one --source per --target", field="--source")
    extra = [
        TargetSettings(url=url, source=source[i] if i < len(source) else "prometheus")
        for i, url in enumerate(target)
    ]
    targets = scrape_targets(settings, extra)
    if not targets and not settings.discovery_enabled:
        raise ConfigError(
            "no targets: add `targets:` to the config file, pass --target URL --source NAME, "
            "or set discovery_enabled: true",
            field="targets",
        )
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()  # one per run: the process's own telemetry, nothing global
    scraper = build_scraper(settings, metrics=CollectorMetrics(registry))
    discovered = build_discovery(settings, targets, scraper)
    exporter = build_exporter(settings, registry)
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, addr="0.0.0.0", registry=registry)

    def log_cycle(report: Any) -> None:
        up = sum(1 for r in report.results if r.up)
        samples = sum(r.samples for r in report.results)
        logging.getLogger("omni_telemetry.collect").info(
            "cycle: %d/%d targets up, %d samples, export %s, %.2fs",
            up, len(report.results), samples, report.export_result.name, report.duration_s,
        )

    loop = CollectionLoop(
        scraper, exporter, discovered or targets, interval_s=settings.scrape_interval_s, on_cycle=log_cycle
    )
    try:
        report = asyncio.run(_collect(loop, discovered, once))
        exporter.force_flush(timeout_millis=settings.otlp_timeout_s * 1000 * 3)
        if report is not None:
            for result in report.results:
                state = "up" if result.up else f"DOWN: {result.error}"
                console.print(f"{result.target.job} {result.target.url}: {result.samples} samples, {state}", highlight=False)
    except KeyboardInterrupt:
        pass
    finally:
        exporter.shutdown()


async def _collect(loop: Any, discovered: Any, once: bool) -> Any:
    """Run discovery beside the scrape loop; the first refresh finishes before the first scrape."""
    stop = asyncio.Event()
    refresher = None
    if discovered is not None:
        await discovered.refresh()
        if not once:
            refresher = asyncio.create_task(discovered.run(stop, refresh_first=False))
    try:
        if once:
            return await loop.run_once()
        await loop.run(stop=stop)
        return None
    finally:
        stop.set()
        if refresher is not None:
            await refresher
        await loop.scraper.aclose()


# --- ingest -----------------------------------------------------------------------------------


@app.command()
@_reports_errors
def ingest(
    host: Annotated[Optional[str], typer.Option("--host", help="address to listen on [env OMNI_INGEST_HOST]")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="port to listen on (OTLP/HTTP default 4318)")] = None,
    dsn: DsnOption = None,
    token_file: Annotated[Optional[str], typer.Option("--token-file", help="require this bearer token")] = None,
    config: ConfigOption = None,
    log_level: LogOption = "info",
) -> None:
    """Receive OTLP/HTTP metrics (POST /v1/metrics, protobuf or JSON) and store them in ClickHouse."""
    from exporters.ingest import IngestSettings, run_ingest

    from ._wiring import delivery_options, schema_options

    _logging(log_level)
    settings = _settings(
        config, ingest_host=host, ingest_port=port, storage_dsn=dsn, ingest_token_file=token_file
    )
    run_ingest(
        settings.ingest_host,
        settings.ingest_port,
        dsn=settings.storage_dsn,
        token_file=settings.ingest_token_file,
        settings=IngestSettings(max_body_bytes=settings.ingest_max_body_bytes),
        schema=schema_options(settings),
        delivery=delivery_options(settings, "ingest"),
        log_level=log_level,
    )


# --- demo -------------------------------------------------------------------------------------


@app.command()
@_reports_errors
def demo(
    duration: Annotated[Optional[float], typer.Option("--duration", help="stop after this many seconds")] = None,
    interval: Annotated[float, typer.Option("--interval", help="seconds between scrapes")] = 5.0,
    fill: Annotated[float, typer.Option("--fill-seconds", help="how long pool-on-node-2 takes to fill up")] = 180.0,
    dsn: DsnOption = None,
    config: ConfigOption = None,
    log_level: LogOption = "error",
) -> None:
    """Run the pipeline against local replay targets, store in embedded ClickHouse, show the pools."""
    from .demo import run_demo

    _logging(log_level)
    settings = _settings(config, storage_dsn=dsn, scrape_interval_s=max(interval, 1.0), scrape_timeout_s=min(interval, 5.0))
    summary = run_demo(settings, duration_s=duration, interval_s=interval, fill_s=fill, console=console)
    if summary.pools == 0:
        err_console.print("[red]no pool metrics were stored[/red]")
        raise typer.Exit(1)


# --- sources ----------------------------------------------------------------------------------


@app.command()
def sources() -> None:
    """List the source names a target can use, with what each expects."""
    from collectors import SOURCES

    table = Table(title="sources", title_justify="left")
    table.add_column("name")
    table.add_column("what")
    table.add_column("expected families")
    for name, cls in sorted(SOURCES.items()):
        table.add_row(name, cls.description, ", ".join(sorted(cls.expected_families)) or "-")
    console.print(table)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
