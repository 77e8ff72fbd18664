"""``omni-telemetry demo``: the whole pipeline on the embedded store, against replay targets."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from collectors import CycleReport, ScrapeTarget
from exporters.clickhouse import MetricKind, engine_lock, qualified, qualified_logs

from .._wiring import build_demo, open_demo_store
from ..settings import OmniSettings
from ._previews import PREVIEW_DIR, write_demo_previews
from ._replay import ReplayScenario, ReplayServer
from ._selftelemetry import SelfTelemetry
from ._view import health_table, latest_pools, platform_rows, platform_table, pool_table
from .scenarios_argocd import ARGOCD_SCENARIOS
from .scenarios_events import EVENT_NAMESPACES, KubernetesEventsApiScenario
from .scenarios_mayastor import mayastor_scenarios

__all__ = ["DemoSummary", "demo_scenarios", "run_demo"]



@dataclass(frozen=True)
class DemoSummary:
    cycles: int
    rows_by_table: dict[str, int]
    pools: int
    failed_scrapes: int
    log_records: int = 0


def demo_scenarios(fill_s: float) -> list[ReplayScenario]:
    scenarios: list[ReplayScenario] = list(mayastor_scenarios(fill_s)) + list(ARGOCD_SCENARIOS)
    from .scenarios_platform import PLATFORM_SCENARIOS

    scenarios += list(PLATFORM_SCENARIOS)
    # Dashboards: Kuma sidecars and control plane, virt-handler, CDI, Contour.
    from .scenarios_sidecars import sidecar_scenarios

    scenarios += sidecar_scenarios()
    # health API: Contour's own metrics with an HTTPProxy going invalid, for the HTTPProxy rule
    from .scenarios_contour import CONTOUR_SCENARIOS

    return scenarios + list(CONTOUR_SCENARIOS)


def _events_api(url: str) -> Any:
    """A Kubernetes API client for the demo's replay events API."""
    from collectors.discovery import KubernetesAccess, kubernetes_api_client

    return kubernetes_api_client(KubernetesAccess(mode="url", api_url=url))


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
    store = open_demo_store(settings)
    client: Any = store.client
    options = store.options
    # Self-telemetry (Pipeline dashboard): the store behind a delivery queue, our /metrics scraped as `omni`.
    self_telemetry = SelfTelemetry()
    cycles = 0
    failed = 0
    pools = 0

    # health API: served from this process (the embedded store is single-process)
    from .._serve import start_background_api

    api = start_background_api(settings, scrape_interval_s=interval_s, dashboards_dir=PREVIEW_DIR)
    console.print(f"health API: [bold]{api.url}/health[/bold] (also /health/<component>, /readyz, /metrics, /docs)")
    # dashboard previews, served by the same API: written once early (cycle 3, ~2 s in a thread,
    # each query under the engine lock) so /dashboards/ answers while the demo runs, and again at the end
    console.print(f"dashboard previews: [bold]{api.url}/dashboards/[/bold] (from cycle 3, refreshed at the end)")
    early_previews: list[threading.Thread] = []

    with ReplayServer(demo_scenarios(fill_s)) as server, ReplayServer([KubernetesEventsApiScenario()]) as events_api:
        targets = [_target(s.url, s.scenario, settings) for s in server.served]
        targets.append(self_telemetry.start(settings.scrape_timeout_s))
        console.print(
            f"[bold]omni-telemetry demo[/bold]: {len(targets)} replay targets on 127.0.0.1, "
            f"store {settings.storage_display}, every {interval_s:g}s"
            + (f" for {duration_s:g}s" if duration_s else " (Ctrl-C to stop)")
        )
        # A terminal gets the tables redrawn in place every cycle; piped output (CI logs, `| tee`)
        # gets one line per cycle and the tables once, at the end, instead of a copy per cycle.
        live = Live(console=console, auto_refresh=False) if console.is_terminal else None
        last_view: Group | None = None

        def show(report: CycleReport) -> None:
            nonlocal cycles, failed, pools, last_view
            cycles += 1
            failed += sum(1 for r in report.results if not r.up)
            with engine_lock(client):
                rows = latest_pools(client, options)
                platform = platform_rows(client, options)
            pools = max(pools, len(rows))
            if cycles == 3 and not early_previews:
                early = threading.Thread(target=write_demo_previews, args=(client, options.database, console),
                                         name="early-previews", daemon=True)
                early.start()
                early_previews.append(early)
            view = Group(
                pool_table(rows, f"Mayastor pools (latest stored values, cycle {cycles})"),
                platform_table(platform),
                health_table(api.monitor.latest(), api.url),
                _status_table(report),
            )
            if live is not None:
                live.update(view, refresh=True)
            else:
                last_view = view
                up = sum(1 for r in report.results if r.up)
                console.print(f"cycle {cycles}: {up}/{len(report.results)} targets up, {len(rows)} pools stored",
                              highlight=False)

        api_url = events_api.served[0].url.removesuffix(KubernetesEventsApiScenario.path)
        process = build_demo(
            settings, store, targets, interval_s=interval_s, on_cycle=show,
            events_api=_events_api(api_url), event_namespaces=EVENT_NAMESPACES,
            wrap_sink=self_telemetry.wrap, collector_metrics=self_telemetry.collector_metrics,
        )
        loop, exporter = process.loop, process.exporter
        if process.events is not None:
            process.events.start()
        try:
            if live is not None:
                with live:
                    asyncio.run(loop.run(duration_s=duration_s))
            else:
                asyncio.run(loop.run(duration_s=duration_s))
        except KeyboardInterrupt:
            console.print("stopped")
        finally:
            if process.events is not None:
                process.events.stop(timeout_s=10)
            exporter.shutdown()
            self_telemetry.close()
            if live is None and last_view is None:  # stopped before a cycle ended: the rollup alone
                console.print(health_table(api.monitor.latest() or api.monitor.evaluate(), api.url))
            api.stop()
        if live is None and last_view is not None:
            console.print(last_view)

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
    with engine_lock(client):
        logs = client.query(
            f"SELECT ServiceName, SeverityText, count() FROM {qualified_logs(options)} GROUP BY 1, 2 ORDER BY 1, 2"
        ).result_rows
    console.print(_logs_table(logs))
    for early in early_previews:
        early.join()
    # Dashboards: the same panel SQL rendered offline from this store.
    preview_dir = write_demo_previews(client, options.database, console)
    if preview_dir is not None:
        console.print(f"dashboard previews: {preview_dir}")
    return DemoSummary(cycles, counts, pools, failed, sum(int(n) for *_key, n in logs))


def _logs_table(rows: list[Any]) -> Table:
    """Log records stored (the Kubernetes events) per reporting component and severity."""
    table = Table(title="log records stored in otel_logs (service.name x severity)", title_justify="left")
    for column in ("service.name", "severity", "records"):
        table.add_column(column)
    for service, severity, count in rows:
        table.add_row(service, severity, f"{int(count):,}")
    return table


def _stored_table(by_job: dict[str, dict[str, int]]) -> Table:
    """Rows stored per source (service.name) and metric table: every source must show up."""
    table = Table(title="rows stored (service.name x table)", title_justify="left")
    table.add_column("service.name")
    for kind in MetricKind:
        table.add_column(kind.value, justify="right")
    for job in sorted(by_job):
        table.add_row(job, *(f"{by_job[job].get(kind.value, 0):,}" for kind in MetricKind))
    return table
