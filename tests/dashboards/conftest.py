"""A store filled by the demo's own replay targets and sources, shared by the dashboard tests.

The demo's scenarios run through the real pipeline (HTTP replay targets on 127.0.0.1 ->
sources -> conversion -> delivery queue -> ClickHouse writer -> chDB), with the collector's
own /metrics scraped as the ``omni`` source, for a dozen one-second cycles. Each scenario is
started at the point of its story where something changes (a 5xx burst, a proxy going
offline, a VM failing, a rebuild, a migration, an invalid HTTPProxy), so a short run shows
transitions instead of a flat line.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from collectors import CollectionLoop, ScrapeTarget, Scraper
from exporters.clickhouse import ClickHouseMetricExporter, ClickHouseWriter, SchemaOptions, apply_schema, close_embedded_engines, connect
from omni_telemetry.demo import demo_scenarios
from omni_telemetry.demo._replay import ReplayServer
from omni_telemetry.demo._selftelemetry import SelfTelemetry

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
    scraper = Scraper(cluster=CLUSTER, metrics=telemetry.collector_metrics)
    scenarios = [Shifted(s, STORY_OFFSETS.get(s.name, 0.0)) for s in demo_scenarios(60.0)]
    with ReplayServer(scenarios) as server:
        targets = [
            ScrapeTarget(url=s.url, source=s.scenario.source, job=s.scenario.source, instance=s.scenario.name,
                         timeout_s=5.0, resource={"k8s.node.name": getattr(s.scenario, "node", "")} if getattr(s.scenario, "node", "") else {},
                         options=dict(getattr(s.scenario, "options", {}) or {}))
            for s in server.served
        ]
        targets.append(telemetry.start(5.0))
        loop = CollectionLoop(scraper, exporter, targets, interval_s=1.0)

        async def run() -> None:
            try:
                await loop.run(duration_s=CYCLES)
            finally:
                await scraper.aclose()

        try:
            asyncio.run(run())
        finally:
            exporter.shutdown()
            telemetry.close()
    close_embedded_engines()
    return DemoStore(dsn, DATABASE, len(targets))


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    return _fill(tmp_path_factory.mktemp("dashboards-demo-store"))
