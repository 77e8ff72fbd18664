"""Contour's own /metrics (:8000) through the contour source."""

from __future__ import annotations

from collectors import ScrapeTarget
from collectors.exposition import parse_exposition
from collectors.sources.contour import ContourSource
from http_targets import Answer, http_target


def test_contour_metrics_convert_with_types_and_labels_kept(data_dir, scrape_once, points_of):
    body = (data_dir / "envoy/contour_metrics_synthesized.prom").read_bytes()
    with http_target(Answer(body)) as server:
        result = scrape_once(ContourSource(), ScrapeTarget(f"{server.url}/metrics", source="contour"))
    assert result.up and result.warnings == ()
    metrics = {m.name: m for s in result.resource_metrics.scope_metrics for m in s.metrics}
    assert metrics["contour_dagrebuild_total"].data.is_monotonic
    assert points_of(result, "contour_httpproxy_invalid") == [
        ({"namespace": "shop", "vhost": "checkout.example.com"}, 1.0)
    ]
    assert result.resource_metrics.resource.attributes["service.name"] == "contour"


def test_envoy_stats_on_the_contour_port_are_reported_as_the_wrong_source(data_dir):
    envoy = parse_exposition((data_dir / "envoy/contour_envoy_stats_synthesized.prom").read_bytes())
    assert ContourSource().missing_families(envoy) == ["contour_dagrebuild_timestamp", "contour_dagrebuild_total"]
    own = parse_exposition((data_dir / "envoy/contour_metrics_synthesized.prom").read_bytes())
    assert ContourSource().missing_families(own) == []
