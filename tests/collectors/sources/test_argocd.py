"""Argo CD's application controller through the argocd source, and on into chDB and back."""

from __future__ import annotations

import asyncio

import pytest

from collectors import ScrapeTarget, Scraper, metrics_data
from collectors.discovery import default_rules
from collectors.exposition import parse_exposition
from collectors.sources import get_source
from collectors.sources.argocd import ArgoCdSource
from exporters.clickhouse import ClickHouseWriter, MetricKind, SchemaOptions, apply_schema, connect, qualified
from http_targets import Answer, http_target

CONTROLLER = "argocd/application_controller_metrics_synthesized.prom"


def controller_body(data_dir) -> bytes:
    return (data_dir / CONTROLLER).read_bytes()


def test_the_controller_scrape_converts_with_types_and_labels_kept(data_dir, scrape_once, points_of):
    with http_target(Answer(controller_body(data_dir))) as server:
        result = scrape_once(get_source("argocd"), ScrapeTarget(f"{server.url}/metrics", source="argocd"))
    assert result.up and result.warnings == ()
    metrics = {m.name: m for s in result.resource_metrics.scope_metrics for m in s.metrics}
    assert metrics["argocd_app_sync_total"].data.is_monotonic
    assert type(metrics["argocd_app_reconcile"].data).__name__ == "Histogram"
    info = {a["name"]: (a["health_status"], a["sync_status"], a["project"]) for a, _ in points_of(result, "argocd_app_info")}
    assert info == {
        "mayastor": ("Healthy", "Synced", "platform"),
        "kubevirt": ("Degraded", "Synced", "platform"),
        "contour": ("Progressing", "OutOfSync", "platform"),
        "shop-checkout": ("Missing", "OutOfSync", "apps"),
        "kuma": ("Unknown", "Unknown", "platform"),
    }
    failed = sorted((a["name"], a["phase"], v) for a, v in points_of(result, "argocd_app_sync_total")
                    if a["phase"] in ("Failed", "Error"))
    assert failed == [("kubevirt", "Failed", 2.0), ("shop-checkout", "Error", 1.0)]
    assert result.resource_metrics.resource.attributes["service.name"] == "argocd"


def test_a_scrape_of_something_else_warns_but_an_idle_controller_does_not(data_dir):
    envoy = parse_exposition((data_dir / "envoy/contour_envoy_stats_synthesized.prom").read_bytes())
    assert ArgoCdSource().missing_families(envoy) == sorted(ArgoCdSource.expected_families)
    # A controller with no applications yet still reports its cluster cache.
    idle = parse_exposition(
        b"# HELP argocd_cluster_info Information about cluster.\n# TYPE argocd_cluster_info gauge\n"
        b'argocd_cluster_info{k8s_version="1.31",name="in-cluster",server="https://kubernetes.default.svc"} 1\n'
    )
    assert ArgoCdSource().missing_families(idle) == []


def test_discovery_scrapes_every_controller_pod_behind_the_metrics_service():
    (rule,) = default_rules(["argocd"])
    assert (rule.role, rule.namespaces, rule.port, rule.path) == ("endpoints", ("argocd",), 8082, "/metrics")
    assert "argocd-metrics" in rule.services


@pytest.mark.slow
def test_the_fixture_through_the_writer_on_chdb_reads_back_with_values_and_attributes(data_dir, tmp_path):
    client = connect(f"chdb://{tmp_path / 'db'}")
    options = SchemaOptions(database="gitops")
    apply_schema(client, options)
    scraper = Scraper(cluster="lab", sources={"argocd": ArgoCdSource()})

    async def scrape(url):
        try:
            return await scraper.scrape(ScrapeTarget(url, source="argocd"))
        finally:
            await scraper.aclose()

    with http_target(Answer(controller_body(data_dir))) as server:
        result = asyncio.run(scrape(f"{server.url}/metrics"))
    assert result.up, result.error
    ClickHouseWriter(client, options).write(metrics_data([result]))

    def query(kind, tail):
        return client.query(tail.format(table=qualified(options, kind))).result_rows

    degraded = query(
        MetricKind.GAUGE,
        "SELECT Attributes['name'], Attributes['dest_namespace'], Value FROM {table} "
        "WHERE MetricName = 'argocd_app_info' AND Attributes['health_status'] IN ('Degraded', 'Missing') ORDER BY 1",
    )
    assert degraded == [("kubevirt", "kubevirt", 1.0), ("shop-checkout", "shop", 1.0)]
    syncs = query(
        MetricKind.SUM,
        "SELECT Attributes['phase'], sum(Value) FROM {table} WHERE MetricName = 'argocd_app_sync_total' "
        "AND IsMonotonic GROUP BY 1 ORDER BY 1",
    )
    assert syncs == [("Error", 1.0), ("Failed", 2.0), ("Succeeded", 15.0)]
    reconcile = query(
        MetricKind.HISTOGRAM,
        "SELECT Attributes['dest_server'], Count, Sum, ExplicitBounds, BucketCounts FROM {table} "
        "WHERE MetricName = 'argocd_app_reconcile' ORDER BY 1",
    )
    assert reconcile[1] == ("https://kubernetes.default.svc", 1503, 1187.25, [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0],
                            [412, 391, 387, 232, 69, 9, 2, 1])
    assert reconcile[0][1:3] == (158, 301.5)
    clusters = query(
        MetricKind.GAUGE,
        "SELECT Attributes['server'], Attributes['k8s_version'], Value FROM {table} "
        "WHERE MetricName = 'argocd_cluster_connection_status' ORDER BY 1",
    )
    assert clusters == [("https://10.20.0.1:6443", "1.30", 0.0), ("https://kubernetes.default.svc", "1.31", 1.0)]
    services = query(MetricKind.GAUGE, "SELECT DISTINCT ServiceName, ResourceAttributes['k8s.cluster.name'] FROM {table}")
    assert services == [("argocd", "lab")]
