"""``omni-telemetry``: the command line. Builds settings once; ``_wiring`` builds the processes.

Exit codes (the same for every command, listed in the README):
0 done; 1 the work failed at run time (for ``scrape`` and ``collect --once``: every target
down); 2 the configuration cannot work (named, with the fix; nothing was scraped or
written); 3 the store could not be used (nothing, or not everything, was stored).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from omni_core.errors import ConfigError, OmniError, StorageError
from .settings import OmniSettings, TargetSettings, load_settings

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_NOT_STORED = 3

app = typer.Typer(
    help="Scrape Mayastor, Envoy, Kuma and KubeVirt into ClickHouse in the OpenTelemetry Collector's schema.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags print as flags (`--once`, not `--once <bool>`)
)
schema_app = typer.Typer(help="Create or print the ClickHouse metric tables.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(schema_app, name="schema")
from ._dashboards_cli import dashboards_app  # noqa: E402

app.add_typer(dashboards_app, name="dashboards")

# Piped output (CI logs, `make demo | tee`) gets a width that fits the tables instead of 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=170)
err_console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=170)

ConfigOption = Annotated[
    Optional[Path], typer.Option("--config", "-c", metavar="FILE", help="YAML settings file (keys as in OMNI_* env names, lower case)")
]
DsnOption = Annotated[
    Optional[str],
    typer.Option("--dsn", metavar="DSN", help="storage DSN: chdb:///path or http(s)://user:pass@host:port/db [env OMNI_STORAGE_DSN]"),
]
LogOption = Annotated[str, typer.Option("--log-level", metavar="LEVEL", help="debug, info, warning or error")]

F = TypeVar("F", bound=Callable[..., Any])

#: Libraries whose routine lines (one per HTTP request) would drown the collector's own log.
_CHATTY_LOGGERS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "clickhouse_connect": logging.ERROR,  # "Unexpected Http Driver Exception" before our own message
    "urllib3": logging.ERROR,  # its retry line before our own message about an unreachable server
}


def _reports_errors(command: F) -> F:
    """Turn the error tree into exit codes and one readable line (see the module docstring)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            err_console.print(f"[red]configuration error[/red]: {escape(exc.describe())}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_CONFIG) from None
        except StorageError as exc:
            err_console.print(f"[red]storage error[/red]: {escape(exc.describe())}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_NOT_STORED) from None
        except OmniError as exc:
            err_console.print(f"[red]error[/red]: {escape(exc.describe())}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_FAILED) from None

    return wrapper  # type: ignore[return-value]


def _logging(level: str) -> None:
    numeric = getattr(logging, level.upper(), None)
    if not isinstance(numeric, int):
        raise ConfigError(f"unknown log level {level!r}; use debug, info, warning or error", field="--log-level")
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for name, quiet in _CHATTY_LOGGERS.items():
        logging.getLogger(name).setLevel(logging.NOTSET if numeric <= logging.DEBUG else max(numeric, quiet))


def _settings(config: Path | None, **overrides: Any) -> OmniSettings:
    return load_settings(config, **overrides)


def _target_settings(option: str, url: str, **fields: Any) -> TargetSettings:
    """A target given on the command line; a bad URL is a config error naming the option."""
    try:
        return TargetSettings(url=url, **fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(first["msg"].removeprefix("Value error, "), field=option) from None


# --- schema ---------------------------------------------------------------------------------


@schema_app.command("apply")
@_reports_errors
def schema_apply(config: ConfigOption = None, dsn: DsnOption = None, log_level: LogOption = "warning") -> None:
    """Create the database and the five metric tables if they do not exist (idempotent)."""
    from exporters.clickhouse import verify_schema

    from ._wiring import open_store

    _logging(log_level)
    settings = _settings(config, storage_dsn=dsn)
    store = open_store(settings)
    verify_schema(store.client, store.options)
    console.print(
        f"schema ready in database [bold]{store.options.database}[/bold] at {settings.storage_display}", highlight=False
    )


@schema_app.command("show")
@_reports_errors
def schema_show(
    config: ConfigOption = None,
    cluster: Annotated[Optional[str], typer.Option("--cluster", help="render ON CLUSTER DDL for this cluster")] = None,
) -> None:
    """Print the DDL that `schema apply` runs."""
    from exporters.clickhouse import render_schema

    settings = _settings(config, storage_cluster=cluster)
    for statement in render_schema(settings.schema_options()):
        typer.echo(statement.rstrip() + ";\n")


# --- scrape -----------------------------------------------------------------------------------


@app.command()
@_reports_errors
def scrape(
    url: Annotated[str, typer.Argument(metavar="URL", help="target URL, e.g. http://10.0.0.5:9502/metrics")],
    source: Annotated[str, typer.Option("--source", "-s", metavar="NAME", help="source name (see `omni-telemetry sources`)")] = "prometheus",
    json_output: Annotated[bool, typer.Option("--json", help="print the OTLP JSON of the resulting MetricsData")] = False,
    bearer_token_file: Annotated[
        Optional[str], typer.Option("--bearer-token-file", metavar="FILE", help="file holding a bearer token to send (Authorization header)")
    ] = None,
    ca_file: Annotated[Optional[str], typer.Option("--ca-file", metavar="FILE", help="CA bundle (PEM) that verifies an https target")] = None,
    insecure_skip_verify: Annotated[
        bool, typer.Option("--insecure-skip-verify", help="do not verify the target's TLS certificate")
    ] = False,
    timeout: Annotated[Optional[float], typer.Option("--timeout", metavar="SECONDS", help="seconds for the whole scrape [default: 10]")] = None,
    config: ConfigOption = None,
    log_level: LogOption = "warning",
) -> None:
    """Scrape one target once and show what would be stored. Exit 1 when the target is down."""
    from collectors import metrics_data

    from ._wiring import build_scraper, target_from_settings

    _logging(log_level)
    target_settings = _target_settings(
        "URL", url, source=source, bearer_token_file=bearer_token_file, ca_file=ca_file,
        insecure_skip_verify=insecure_skip_verify,
    )
    settings = _settings(config, scrape_timeout_s=timeout, scrape_interval_s=timeout)
    target = target_from_settings(target_settings, settings)
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
        raise typer.Exit(EXIT_FAILED)


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
    target: Annotated[list[str], typer.Option("--target", "-t", metavar="URL", help="ad-hoc target URL (repeatable)")] = [],
    source: Annotated[list[str], typer.Option("--source", "-s", metavar="NAME", help="source of the --target at the same position")] = [],
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="scrape every target once, store, and exit: 0 when stored, 1 when every target is down, "
            "3 when it could not be stored",
        ),
    ] = False,
    dsn: DsnOption = None,
    interval: Annotated[Optional[float], typer.Option("--interval", metavar="SECONDS", help="seconds between scrapes [default: 15]")] = None,
    timeout: Annotated[
        Optional[float], typer.Option("--timeout", metavar="SECONDS", help="seconds per scrape [default: 10, or the interval when shorter]")
    ] = None,
    log_level: LogOption = "info",
) -> None:
    """Run the scrape loop, writing to the configured store (or OTLP endpoint).

    SIGTERM and SIGINT stop scraping, deliver what is queued within shutdown_timeout_s,
    spool the rest (when spool_dir is set) and exit 0.
    """
    from ._wiring import build_collect

    _logging(log_level)
    if len(source) > len(target):
        raise ConfigError("more --source than --target options; give one --source per --target", field="--source")
    extra = [
        _target_settings("--target", url, source=source[i] if i < len(source) else "prometheus")
        for i, url in enumerate(target)
    ]
    settings = _settings(config, storage_dsn=dsn, scrape_interval_s=interval, scrape_timeout_s=timeout)
    log = logging.getLogger("omni_telemetry.collect")

    def log_cycle(report: Any) -> None:
        up = sum(1 for r in report.results if r.up)
        samples = sum(r.samples for r in report.results)
        log.info(
            "cycle: %d/%d targets up, %d samples, export %s, %.2fs",
            up, len(report.results), samples, report.export_result.name, report.duration_s,
        )

    process = build_collect(settings, extra, on_cycle=log_cycle, open_store_first=once)
    if process.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(process.metrics_port, addr="0.0.0.0", registry=process.registry)
    budget_ms = process.shutdown_timeout_s * 1000
    if once:
        if process.events is not None:
            log.info("events_enabled: Kubernetes events are watched by the running collect, not by --once")
        _collect_once(process, budget_ms)
        return
    if process.events is not None:
        log.info("watching Kubernetes events in %s", ", ".join(process.events.source.namespaces))
        process.events.start()
    try:
        asyncio.run(_collect_until_signalled(process))
    finally:
        if process.events is not None:  # log batches are small: a quarter of the budget, the rest for metrics
            process.events.stop(timeout_s=process.shutdown_timeout_s / 4)
        process.exporter.shutdown(timeout_millis=budget_ms)
        _report_left_behind(process.exporter, settings)


def _collect_once(process: Any, budget_ms: float) -> None:
    """One cycle, then the exit code says what happened (module docstring)."""
    try:
        report = asyncio.run(_run_once(process))
        stored = process.exporter.force_flush(timeout_millis=budget_ms)
    finally:
        process.exporter.shutdown(timeout_millis=min(budget_ms, 1000.0))
    for result in report.results:
        state = "up" if result.up else f"DOWN: {result.error}"
        console.print(f"{result.target.job} {result.target.url}: {result.samples} samples, {state}", highlight=False)
    if not stored:
        err_console.print(
            "[red]not stored[/red]: the store did not take this cycle's data within shutdown_timeout_s "
            f"({budget_ms / 1000:g}s); see the log above",
            highlight=False,
        )
        raise typer.Exit(EXIT_NOT_STORED)
    dropped = _dropped_points(process.registry)
    if dropped:
        err_console.print(
            f"[red]not stored[/red]: the store refused {dropped:g} data points; see the log above", highlight=False
        )
        raise typer.Exit(EXIT_NOT_STORED)
    if report.results and not any(result.up for result in report.results):
        err_console.print(f"[red]every target is down[/red] ({len(report.results)} targets)", highlight=False)
        raise typer.Exit(EXIT_FAILED)


def _dropped_points(registry: Any) -> float:
    """Data points the delivery queue gave up on (refused as data, evicted), from its own counter."""
    return sum(
        sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == "omni_exporter_samples_dropped_total"
    )


async def _run_once(process: Any) -> Any:
    """Discovery's first refresh, then one scrape of every target."""
    try:
        if process.discovered is not None:
            await process.discovered.refresh()
        return await process.loop.run_once()
    finally:
        await process.loop.scraper.aclose()


async def _collect_until_signalled(process: Any) -> None:
    """Scrape until SIGTERM or SIGINT, with discovery beside the loop.

    Kubernetes sends SIGTERM on every rollout: it ends the loop after the cycle in progress,
    like Ctrl-C, so the caller can deliver or spool what is queued instead of dying with it.
    """
    stop = asyncio.Event()
    running = asyncio.get_running_loop()
    log = logging.getLogger("omni_telemetry.collect")

    def on_signal(sig: signal.Signals) -> None:
        log.info("received %s: finishing this cycle, then delivering what is queued", sig.name)
        stop.set()
        for other in (signal.SIGTERM, signal.SIGINT):
            running.remove_signal_handler(other)  # a second signal ends the process at once

    for sig in (signal.SIGTERM, signal.SIGINT):
        running.add_signal_handler(sig, on_signal, sig)
    refresher = None
    try:
        if process.discovered is not None:
            await process.discovered.refresh()
            refresher = asyncio.create_task(process.discovered.run(stop, refresh_first=False))
        await process.loop.run(stop=stop)
    finally:
        stop.set()
        if refresher is not None:
            await refresher
        await process.loop.scraper.aclose()


def _report_left_behind(exporter: Any, settings: OmniSettings) -> None:
    status = exporter.status()
    if status.spool_points:
        logging.getLogger("omni_telemetry.collect").warning(
            "%d points left in the spool under %s for the next start", status.spool_points, settings.spool_dir
        )


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
    """Receive OTLP/HTTP metrics (POST /v1/metrics) and logs (POST /v1/logs), protobuf or JSON, and store them in ClickHouse."""
    from ._wiring import build_ingest

    _logging(log_level)
    settings = _settings(
        config, ingest_host=host, ingest_port=port, storage_dsn=dsn, ingest_token_file=token_file
    )
    build_ingest(settings, log_level=log_level).run()


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


# --- serve (health API) -----------------------------------------------------------------------


@app.command()
@_reports_errors
def serve(
    host: Annotated[Optional[str], typer.Option("--host", help="address to listen on [env OMNI_HEALTH_HOST]")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="port to listen on [env OMNI_HEALTH_PORT]")] = None,
    dsn: DsnOption = None,
    rules: Annotated[Optional[str], typer.Option("--rules", help="rules file merged over the defaults")] = None,
    config: ConfigOption = None,
    log_level: LogOption = "info",
) -> None:
    """Serve the on-call health API (/health, /health/{component}/{entity}, /livez, /readyz, /metrics)."""
    from ._serve import run_serve

    _logging(log_level)
    run_serve(_settings(config, health_host=host, health_port=port, storage_dsn=dsn, health_rules_file=rules), log_level)


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
