"""kuma-dp's merged /metrics (:5670) through the kuma-dp source."""

from __future__ import annotations

from collectors import ScrapeTarget
from collectors.sources.kuma_dp import KumaDataplaneSource
from http_targets import Answer, http_target

COUNTERS = "kuma/kuma_dp_envoy_counters_gauges_merged.prom"
HISTOGRAMS = "kuma/kuma_dp_envoy_histograms_merged.prom"


def scrape(data_dir, scrape_once, name, options=None):
    with http_target(Answer((data_dir / name).read_bytes())) as server:
        target = ScrapeTarget(f"{server.url}/metrics", source="kuma-dp", options=options or {})
        return scrape_once(KumaDataplaneSource(), target)


def test_kuma_cluster_names_get_direction_and_legacy_service_parts(data_dir, scrape_once, points_of):
    result = scrape(data_dir, scrape_once, COUNTERS)
    assert result.up and result.warnings == ()
    clusters = {a["envoy_cluster_name"]: a for a, _ in points_of(result, "envoy_cluster_assignment_stale")}
    assert clusters["localhost_3000"]["cluster_kind"] == "inbound"
    assert clusters["localhost_3000"]["port"] == "3000"
    echo = clusters["echo-server_kuma-test_svc_8080"]
    assert (echo["cluster_kind"], echo["service"], echo["namespace"], echo["port"]) == (
        "outbound",
        "echo-server",
        "kuma-test",
        "8080",
    )
    for internal in ("ads_cluster", "access_log_sink", "kuma_envoy_admin", "inbound_passthrough_ipv4"):
        assert clusters[internal]["cluster_kind"] == "internal"
    # kuma-dp's own traffic marking is kept as exposed.
    assert clusters["demo-client"]["kuma_io_mesh_traffic"] == "true"
    assert "kuma_io_mesh_traffic" not in clusters["kuma_envoy_admin"]


def test_mesh_and_service_options_label_series_that_lack_them(data_dir, scrape_once, points_of):
    result = scrape(data_dir, scrape_once, COUNTERS, {"mesh": "default", "service": "demo-client_kuma-test_svc"})
    live = points_of(result, "envoy_server_live")
    assert live == [({"mesh": "default", "kuma_io_service": "demo-client_kuma-test_svc"}, 1.0)]


def test_series_that_carry_a_mesh_label_keep_their_own_value(scrape_once, points_of):
    body = b'# TYPE envoy_server_live gauge\nenvoy_server_live{mesh="payments",kuma_workload="api"} 1\n'
    with http_target(Answer(body)) as server:
        target = ScrapeTarget(f"{server.url}/metrics", source="kuma-dp", options={"mesh": "default"})
        result = scrape_once(KumaDataplaneSource(), target)
    assert points_of(result, "envoy_server_live") == [({"mesh": "payments", "kuma_workload": "api"}, 1.0)]


def test_histograms_from_a_sidecar_are_in_milliseconds(data_dir, scrape_once):
    result = scrape(data_dir, scrape_once, HISTOGRAMS)
    assert result.up
    metrics = {m.name: m for s in result.resource_metrics.scope_metrics for m in s.metrics}
    histogram = metrics["envoy_cluster_upstream_cx_connect_ms"]
    assert histogram.unit == "ms"
    assert len(histogram.data.data_points) == 10  # one per cluster, after kuma-dp merged the hashed ones
    # This capture holds one histogram family only: the warning says it is not a whole proxy scrape.
    assert any("envoy_server_live" in w for w in result.warnings)
