"""``omni-telemetry demo``: the whole pipeline on the embedded store, against replay targets."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from collectors import CollectionLoop, CycleReport, ScrapeTarget
from exporters.clickhouse import (
    ClickHouseMetricExporter,
    ClickHouseWriter,
    MetricKind,
    apply_schema,
    connect,
    engine_lock,
    qualified,
)

from .._wiring import build_scraper, schema_options
from ..settings import OmniSettings
from ._replay import ReplayScenario, ReplayServer
from ._view import health_table, latest_pools, platform_rows, platform_table, pool_table
from .scenarios_mayastor import mayastor_scenarios

__all__ = ["DemoSummary", "demo_scenarios", "run_demo"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSummary:
    cycles: int
    rows_by_table: dict[str, int]
    pools: int
    failed_scrapes: int


def demo_scenarios(fill_s: float) -> list[ReplayScenario]:
    scenarios: list[ReplayScenario] = list(mayastor_scenarios(fill_s))
    try:
        from .scenarios_platform import PLATFORM_SCENARIOS
    except ImportError:
        return scenarios
    scenarios += list(PLATFORM_SCENARIOS)
    # health API: Contour's own metrics, so the HTTPProxy rule has something to find
    from .scenarios_contour import CONTOUR_SCENARIOS

    return scenarios + list(CONTOUR_SCENARIOS)


def _target(url: str, scenario: ReplayScenario, settings: OmniSettings) -> ScrapeTarget:
    resource = {}
    node = getattr(scenario, "node", None)
    if node:
        resource["k8s.node.name"] = node
    options = dict(getattr(scenario, "options", {}) or {})
    return ScrapeTarget(
        url=url,
        source=scenario.source,
        job=scenario.source,
        instance=scenario.name,
        timeout_s=settings.scrape_timeout_s,
        resource=resource,
        options=options,
    )


def _status_table(report: CycleReport) -> Table:
    table = Table(title="targets", title_justify="left")
    for column in ("job", "instance", "up", "samples", "reason"):
        table.add_column(column)
    for result in report.results:
        table.add_row(
            result.target.job,
            result.target.instance,
            "[green]1[/green]" if result.up else "[red]0[/red]",
            str(result.samples),
            (result.error or "; ".join(result.warnings))[:90],
        )
    return table


def run_demo(
    settings: OmniSettings,
    *,
    duration_s: float | None,
    interval_s: float,
    fill_s: float,
    console: Console,
) -> DemoSummary:
    options = schema_options(settings)
    client: Any = connect(settings.storage_dsn)
    apply_schema(client, options)
    exporter = ClickHouseMetricExporter(ClickHouseWriter(client, options))
    scraper = build_scraper(settings)
    cycles = 0
    failed = 0
    pools = 0

    # health API: served from this process (the embedded store is single-process)
    from .._serve import start_background_api

    api = start_background_api(settings, scrape_interval_s=interval_s)
    console.print(f"health API: [bold]{api.url}/health[/bold] (also /health/<component>, /readyz, /metrics, /docs)")

    with ReplayServer(demo_scenarios(fill_s)) as server:
        targets = [_target(s.url, s.scenario, settings) for s in server.served]
        console.print(
            f"[bold]omni-telemetry demo[/bold]: {len(targets)} replay targets on 127.0.0.1, "
            f"store {settings.storage_dsn}, every {interval_s:g}s"
            + (f" for {duration_s:g}s" if duration_s else " (Ctrl-C to stop)")
        )
        live = Live(console=console, auto_refresh=False) if console.is_terminal else None

        def show(report: CycleReport) -> None:
            nonlocal cycles, failed, pools
            cycles += 1
            failed += sum(1 for r in report.results if not r.up)
            with engine_lock(client):
                rows = latest_pools(client, options)
                platform = platform_rows(client, options)
            pools = max(pools, len(rows))
            view = Group(
                pool_table(rows, f"Mayastor pools (latest stored values, cycle {cycles})"),
                platform_table(platform),
                health_table(api.monitor.latest(), api.url),
                _status_table(report),
            )
            if live is not None:
                live.update(view, refresh=True)
            else:
                console.print(view)

        loop = CollectionLoop(scraper, exporter, targets, interval_s=interval_s, on_cycle=show)
        try:
            if live is not None:
                with live:
                    asyncio.run(loop.run(duration_s=duration_s))
            else:
                asyncio.run(loop.run(duration_s=duration_s))
        except KeyboardInterrupt:
            console.print("stopped")
        finally:
            exporter.shutdown()
            # the last snapshot taken while the pipeline ran (evaluating now would only find stale data)
            console.print(health_table(api.monitor.latest() or api.monitor.evaluate(), api.url))
            api.stop()

    counts: dict[str, int] = {}
    by_job: dict[str, dict[str, int]] = {}
    for kind in MetricKind:
        table = qualified(options, kind)
        with engine_lock(client):
            rows = client.query(
                f"SELECT ServiceName, count() FROM {table} WHERE Flags = 0 GROUP BY ServiceName"
            ).result_rows
        counts[table] = sum(int(n) for _job, n in rows)
        for job, n in rows:
            by_job.setdefault(job, {})[kind.value] = int(n)
    console.print(_stored_table(by_job))
    return DemoSummary(cycles, counts, pools, failed)


def _stored_table(by_job: dict[str, dict[str, int]]) -> Table:
    """Rows stored per source (service.name) and metric table: every source must show up."""
    table = Table(title="rows stored (service.name x table)", title_justify="left")
    table.add_column("service.name")
    for kind in MetricKind:
        table.add_column(kind.value, justify="right")
    for job in sorted(by_job):
        table.add_row(job, *(f"{by_job[job].get(kind.value, 0):,}" for kind in MetricKind))
    return table
