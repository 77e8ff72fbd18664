"""kuma-cp's diagnostics /metrics (:5680) through the kuma-cp source."""

from __future__ import annotations

from collectors import ScrapeTarget
from collectors.sources.kuma_cp import KumaControlPlaneSource
from http_targets import Answer, http_target


def test_control_plane_metrics_keep_the_zone_label_and_histograms(data_dir, scrape_once, points_of):
    body = (data_dir / "kuma/kuma_cp_metrics_synthesized.prom").read_bytes()
    with http_target(Answer(body)) as server:
        result = scrape_once(KumaControlPlaneSource(), ScrapeTarget(f"{server.url}/metrics", source="kuma-cp"))
    assert result.up and result.warnings == ()
    assert points_of(result, "leader") == [({"zone": "default"}, 1.0)]
    nacks = [v for a, v in points_of(result, "xds_requests_received") if a["confirmation"] == "NACK"]
    assert nacks == [2.0]
    metrics = {m.name: m for s in result.resource_metrics.scope_metrics for m in s.metrics}
    histogram = metrics["xds_delivery"].data.data_points[0]
    assert histogram.count == 814 and list(histogram.explicit_bounds) == [0.05, 0.1, 0.5, 1.0]


def test_envoy_stats_on_the_control_plane_port_raise_the_wrong_source_warning(data_dir, scrape_once):
    body = (data_dir / "kuma/kuma_dp_envoy_counters_gauges_merged.prom").read_bytes()
    with http_target(Answer(body)) as server:
        result = scrape_once(KumaControlPlaneSource(), ScrapeTarget(f"{server.url}/metrics", source="kuma-cp"))
    assert any("cp_info" in w and "leader" in w for w in result.warnings)
