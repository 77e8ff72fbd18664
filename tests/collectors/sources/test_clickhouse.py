"""ClickHouse's own :9363 /metrics through the clickhouse source."""

from __future__ import annotations

from collectors import ScrapeTarget
from collectors.exposition import parse_exposition
from collectors.sources import get_source
from collectors.sources.clickhouse import ClickHouseSource
from http_targets import Answer, http_target

BODY = "clickhouse/clickhouse_prometheus_endpoint_rendered.prom"


def test_the_endpoint_converts_counters_gauges_and_error_counters(data_dir, scrape_once, points_of):
    with http_target(Answer((data_dir / BODY).read_bytes())) as server:
        result = scrape_once(get_source("clickhouse"), ScrapeTarget(f"{server.url}/metrics", source="clickhouse"))
    assert result.up and result.warnings == ()
    metrics = {m.name: m for s in result.resource_metrics.scope_metrics for m in s.metrics}
    assert metrics["ClickHouseProfileEvents_Query"].data.is_monotonic
    assert metrics["ClickHouseErrorMetric_ALL"].data.is_monotonic
    assert points_of(result, "ClickHouseAsyncMetrics_MaxPartCountForPartition") == [({}, 14.0)]
    assert points_of(result, "ClickHouseAsyncMetrics_FilesystemMainPathAvailableBytes") == [({}, 74335617024.0)]
    assert "ClickHouseMetrics_ReadonlyReplica" in metrics
    assert result.resource_metrics.resource.attributes["service.name"] == "clickhouse"


def test_a_scrape_without_clickhouse_families_warns(data_dir):
    argocd = parse_exposition((data_dir / "argocd/application_controller_metrics_synthesized.prom").read_bytes())
    assert ClickHouseSource().missing_families(argocd) == ["ClickHouseMetrics_Query", "ClickHouseProfileEvents_Query"]
    own = parse_exposition((data_dir / BODY).read_bytes())
    assert ClickHouseSource().missing_families(own) == []
