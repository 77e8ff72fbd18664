"""A store filled by the demo's own replay targets and sources, shared by the dashboard tests.

The demo's scenarios run through the real pipeline (HTTP replay targets on 127.0.0.1 ->
sources -> conversion -> delivery queue -> ClickHouse writer -> chDB), with the collector's
own /metrics scraped as the ``omni`` source, for a dozen one-second cycles. Each scenario is
started at the point of its story where something changes (a 5xx burst, a proxy going
offline, a VM failing, a rebuild, a migration, an invalid HTTPProxy, an Argo CD application
drifting), so a short run shows transitions instead of a flat line.

As in the demo, each cycle also stores the store's own state (``omni_store_*``, service
``clickhouse``), and the kubernetes-events source watches the demo's replay API server, its
records written to ``otel_logs`` when the run ends.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from collectors import CollectionLoop, ScrapeTarget, Scraper
from collectors.discovery import KubernetesAccess, kubernetes_api_client
from collectors.events import KubernetesEventsSource
from collectors.store import StoreStateReader
from exporters.clickhouse import (
    ClickHouseLogWriter,
    ClickHouseMetricExporter,
    ClickHouseWriter,
    SchemaOptions,
    apply_schema,
    close_embedded_engines,
    connect,
    engine_lock,
)
from omni_telemetry._store_state import WithStoreState
from omni_telemetry.demo import demo_scenarios
from omni_telemetry.demo._replay import ReplayServer
from omni_telemetry.demo._selftelemetry import SelfTelemetry
from omni_telemetry.demo.scenarios_events import EVENT_NAMESPACES, KubernetesEventsApiScenario

CLUSTER = "demo-cluster"
DATABASE = "otel"
CYCLES = 12

#: Seconds into each story the replay starts at (see the scenarios' docstrings): about 5 s
#: before each change, so a 12 s run has points before and well inside it.
STORY_OFFSETS = {
    "mayastor-volume-rebuild": 150.0,
    "kuma-dataplane-offline": 55.0,
    "kubevirt-vm-failed": 145.0,
    "envoy-5xx-burst": 115.0,
    "envoy-replica-2": 115.0,
    "cdi-datavolume-import": 15.0,
    "cdi-deployment": 15.0,
    "kuma-dp-web-1": 145.0,
    "kuma-dp-web-2": 145.0,
    "kuma-dp-backend-1": 145.0,
    "virt-handler-worker-1": 55.0,
    "virt-handler-worker-2": 55.0,
    "contour": 195.0,
}


class Shifted:
    """A scenario whose story starts ``offset_s`` seconds in."""

    def __init__(self, scenario: Any, offset_s: float) -> None:
        self._scenario = scenario
        self._offset_s = offset_s

    def __getattr__(self, name: str) -> Any:
        if name == "render_path":
            inner = self._scenario.render_path
            return lambda path, elapsed_s: inner(path, elapsed_s + self._offset_s)
        return getattr(self._scenario, name)

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        return self._scenario.render(elapsed_s + self._offset_s)


@dataclass(frozen=True)
class DemoStore:
    dsn: str
    database: str
    targets: int
    cluster: str = CLUSTER

    def client(self) -> Any:
        return connect(self.dsn)


def _fill(path: Path) -> DemoStore:
    dsn = f"chdb://{path}"
    client = connect(dsn)
    options = SchemaOptions(database=DATABASE)
    apply_schema(client, options)
    telemetry = SelfTelemetry()
    exporter = telemetry.wrap(ClickHouseMetricExporter(ClickHouseWriter(client, options)))

    def query(sql: str) -> Any:
        with engine_lock(client):
            return client.query(sql).result_rows

    store_state = StoreStateReader(query, databases=(DATABASE,), cluster=CLUSTER)
    sink = WithStoreState(exporter, lambda: store_state.read().metrics_data)
    scraper = Scraper(cluster=CLUSTER, metrics=telemetry.collector_metrics)
    scenarios = [Shifted(s, STORY_OFFSETS.get(s.name, 0.0)) for s in demo_scenarios(60.0)]
    # The events are stamped from a moment just after the first scrape, so each lies inside the stored range.
    events_api = KubernetesEventsApiScenario(started=datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=2))
    records: list[Any] = []
    stop_events = threading.Event()
    with ReplayServer(scenarios) as server, ReplayServer([events_api]) as events_server:
        api_url = events_server.served[0].url.removesuffix(KubernetesEventsApiScenario.path)
        events = KubernetesEventsSource(kubernetes_api_client(KubernetesAccess(mode="url", api_url=api_url)),
                                        EVENT_NAMESPACES, cluster=CLUSTER)
        events.run(records.extend, stop_events)
        targets = [
            ScrapeTarget(url=s.url, source=s.scenario.source, job=s.scenario.source, instance=s.scenario.name,
                         timeout_s=5.0, resource={"k8s.node.name": getattr(s.scenario, "node", "")} if getattr(s.scenario, "node", "") else {},
                         options=dict(getattr(s.scenario, "options", {}) or {}))
            for s in server.served
        ]
        targets.append(telemetry.start(5.0))
        loop = CollectionLoop(scraper, sink, targets, interval_s=1.0)

        async def run() -> None:
            try:
                await loop.run(duration_s=CYCLES)
            finally:
                await scraper.aclose()

        try:
            asyncio.run(run())
        finally:
            stop_events.set()
            exporter.shutdown()
            telemetry.close()
        ClickHouseLogWriter(client, options).write(list(records))
    close_embedded_engines()
    return DemoStore(dsn, DATABASE, len(targets))


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    return _fill(tmp_path_factory.mktemp("dashboards-demo-store"))
