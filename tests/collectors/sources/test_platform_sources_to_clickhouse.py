"""Platform sources end to end: local target -> source -> conversion -> chDB -> SELECT."""

from __future__ import annotations

import asyncio

import pytest

from collectors import ScrapeTarget, Scraper, metrics_data
from collectors.sources.envoy import EnvoySource
from collectors.sources.kubevirt import KubeVirtSource
from collectors.sources.kuma_api import KumaApiSource
from exporters.clickhouse import ClickHouseWriter, MetricKind, SchemaOptions, apply_schema, connect, qualified
from http_targets import Answer, http_target

pytestmark = pytest.mark.slow


@pytest.fixture
def store(tmp_path):
    client = connect(f"chdb://{tmp_path / 'db'}")
    options = SchemaOptions(database="platform")
    apply_schema(client, options)
    return client, options


def scrape_into(store, targets_and_sources):
    client, options = store
    sources = {target.source: source for target, source in targets_and_sources}
    scraper = Scraper(cluster="lab", sources=sources)

    async def run():
        try:
            return [await scraper.scrape(target) for target, _ in targets_and_sources]
        finally:
            await scraper.aclose()

    results = asyncio.run(run())
    assert all(r.up for r in results), [r.error for r in results]
    ClickHouseWriter(client, options).write(metrics_data(results))


def query(store, kind, sql_tail):
    client, options = store
    return client.query(f"SELECT {sql_tail.format(table=qualified(options, kind))}").result_rows


def test_envoy_kuma_and_kubevirt_series_are_stored_with_their_derived_attributes(store, data_dir):
    envoy_body = (data_dir / "envoy/contour_envoy_stats_synthesized.prom").read_bytes()
    controller_body = (data_dir / "kubevirt/virt_controller_metrics_synthesized.prom").read_bytes()
    overview = (data_dir / "kuma/kuma_api_dataplanes_insights_list.golden.json").read_bytes()

    def kuma(path):
        if path.startswith("/meshes/mesh1/dataplanes/_overview"):
            return Answer(overview, 200, "application/json")
        return Answer(b'{"title":"Not found"}', 404, "application/json")

    with http_target(Answer(envoy_body)) as envoy, http_target(Answer(controller_body)) as controller, \
            http_target(kuma) as kuma_api:
        scrape_into(store, [
            (ScrapeTarget(f"{envoy.url}/stats/prometheus", source="envoy"), EnvoySource()),
            (ScrapeTarget(f"{controller.url}/metrics", source="kubevirt"), KubeVirtSource()),
            (ScrapeTarget(kuma_api.url, source="kuma-api", options={"meshes": "mesh1"}), KumaApiSource()),
        ])

    upstream_5xx = query(
        store, MetricKind.SUM,
        "Attributes['namespace'], Attributes['service'], Value FROM {table} "
        "WHERE MetricName = 'envoy_cluster_upstream_rq_xx' AND Attributes['envoy_response_code_class'] = '5' "
        "AND Attributes['cluster_kind'] = 'service' ORDER BY Value DESC",
    )
    assert upstream_5xx == [("shop", "checkout-api", 77.0), ("default", "kuard", 3.0), ("kube-system", "metrics-server", 0.0)]
    units = query(store, MetricKind.HISTOGRAM, "DISTINCT MetricName, MetricUnit FROM {table} ORDER BY MetricName")
    assert ("envoy_cluster_upstream_rq_time", "ms") in units
    offline = query(
        store, MetricKind.GAUGE,
        "Attributes['name'] FROM {table} WHERE MetricName = 'kuma_dataplane_status' "
        "AND Attributes['status'] = 'offline' AND Value = 1",
    )
    assert offline == [("dp-no-insights",)]
    phases = query(
        store, MetricKind.GAUGE,
        "Attributes['phase'], sum(Value) FROM {table} WHERE MetricName = 'kubevirt_vmi_phase_count' "
        "GROUP BY 1 ORDER BY 1",
    )
    assert phases == [("failed", 1.0), ("running", 3.0)]
    services = query(store, MetricKind.GAUGE, "DISTINCT ServiceName FROM {table} ORDER BY 1")
    assert services == [("envoy",), ("kubevirt",), ("kuma-api",)]
