"""Envoy /stats/prometheus through the envoy source: Contour naming, units, quirks, options."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors import ScrapeTarget
from collectors.exposition import parse_exposition
from collectors.sources._envoy_stats import contour_cluster_attributes
from collectors.sources.envoy import EnvoySource
from http_targets import Answer, http_target

CONTOUR = "envoy/contour_envoy_stats_synthesized.prom"
FRONT_PROXY = "envoy/netdata_envoy_front_proxy.prom"


def serve(data_dir, name):
    return http_target(Answer((data_dir / name).read_bytes()))


def by_cluster(points):
    return {attrs["envoy_cluster_name"]: attrs for attrs, _ in points}


def test_contour_cluster_names_split_into_namespace_service_and_port(data_dir, scrape_once, points_of):
    with serve(data_dir, CONTOUR) as server:
        result = scrape_once(EnvoySource(), ScrapeTarget(f"{server.url}/stats/prometheus", source="envoy"))
    assert result.up, result.error
    clusters = by_cluster(points_of(result, "envoy_cluster_upstream_rq_total"))
    assert clusters["default_kuard_80"] == {
        "envoy_cluster_name": "default_kuard_80",
        "namespace": "default",
        "service": "kuard",
        "port": "80",
        "cluster_kind": "service",
    }
    # '-' is legal in namespace and Service names, '_' is not: the split stays unambiguous.
    metrics_server = clusters["kube-system_metrics-server_443"]
    assert (metrics_server["namespace"], metrics_server["service"], metrics_server["port"]) == (
        "kube-system",
        "metrics-server",
        "443",
    )


def test_contour_bootstrap_clusters_are_marked_internal_and_others_as_other(data_dir, scrape_once, points_of):
    with serve(data_dir, CONTOUR) as server:
        result = scrape_once(EnvoySource(), ScrapeTarget(f"{server.url}/stats/prometheus", source="envoy"))
    clusters = by_cluster(points_of(result, "envoy_cluster_membership_total"))
    assert clusters["projectcontour_contour_8001"]["cluster_kind"] == "internal"
    assert clusters["projectcontour_envoy-admin_9001"]["cluster_kind"] == "internal"
    assert clusters["shop_checkout-api_8443"]["cluster_kind"] == "service"
    # An ExtensionService cluster does not end in a port: not split, not mistaken for a service.
    extension = clusters["extension_projectcontour_ratelimit"]
    assert extension["cluster_kind"] == "other" and "namespace" not in extension


def test_family_split_by_a_repeated_type_line_is_one_metric_with_all_samples(data_dir, scrape_once, points_of):
    with serve(data_dir, CONTOUR) as server:
        result = scrape_once(EnvoySource(), ScrapeTarget(f"{server.url}/stats/prometheus", source="envoy"))
    names = [m.name for s in result.resource_metrics.scope_metrics for m in s.metrics]
    assert names.count("envoy_cluster_upstream_rq_xx") == 1
    points = points_of(result, "envoy_cluster_upstream_rq_xx")
    # 3 clusters x 3 classes in the first part, 1 sample after the second TYPE line.
    assert len(points) == 10
    late = [v for a, v in points if a["envoy_cluster_name"] == "projectcontour_contour_8001"]
    assert late == [41.0]


def test_tag_labels_and_untagged_series_are_kept(data_dir, scrape_once, points_of):
    with serve(data_dir, CONTOUR) as server:
        result = scrape_once(EnvoySource(), ScrapeTarget(f"{server.url}/stats/prometheus", source="envoy"))
    assert points_of(result, "envoy_server_live") == [({}, 1.0)]
    classes = {
        (a["envoy_http_conn_manager_prefix"], a["envoy_response_code_class"]): v
        for a, v in points_of(result, "envoy_http_downstream_rq_xx")
    }
    assert classes[("ingress_https", "5")] == 78.0
    listeners = {a["envoy_listener_address"] for a, _ in points_of(result, "envoy_listener_downstream_cx_total")}
    assert listeners == {"0.0.0.0_8080", "0.0.0.0_8443"}


def test_millisecond_histograms_carry_unit_ms_and_other_metrics_none(data_dir, scrape_once):
    with serve(data_dir, CONTOUR) as server:
        result = scrape_once(EnvoySource(), ScrapeTarget(f"{server.url}/stats/prometheus", source="envoy"))
    units = {m.name: m.unit for s in result.resource_metrics.scope_metrics for m in s.metrics}
    assert units["envoy_cluster_upstream_rq_time"] == "ms"
    assert units["envoy_http_downstream_rq_time"] == "ms"
    assert units["envoy_cluster_upstream_cx_connect_ms"] == "ms"
    assert units["envoy_cluster_upstream_rq_total"] == ""
    assert units["envoy_server_uptime"] == ""


def test_usedonly_and_filter_options_are_sent_as_envoy_query_parameters(data_dir, scrape_once):
    target_options = {"usedonly": "true", "filter": r"^cluster\..*\.upstream_rq"}
    with serve(data_dir, CONTOUR) as server:
        target = ScrapeTarget(f"{server.url}/stats/prometheus", source="envoy", options=target_options)
        result = scrape_once(EnvoySource(), target)
        path = server.requests[0][0]
    assert result.up
    query = parse_qs(urlsplit(path).query, keep_blank_values=True)
    assert query == {"usedonly": [""], "filter": [r"^cluster\..*\.upstream_rq"]}


def test_no_options_means_no_query_string(data_dir, scrape_once):
    with serve(data_dir, CONTOUR) as server:
        scrape_once(EnvoySource(), ScrapeTarget(f"{server.url}/stats/prometheus", source="envoy"))
        path = server.requests[0][0]
    assert urlsplit(path).query == ""


def test_real_front_proxy_capture_converts_every_sample_without_warnings(data_dir, scrape_once, points_of):
    body = (data_dir / FRONT_PROXY).read_bytes()
    exposed = parse_exposition(body, "text/plain; version=0.0.4").sample_count
    with serve(data_dir, FRONT_PROXY) as server:
        result = scrape_once(EnvoySource(), ScrapeTarget(f"{server.url}/stats/prometheus", source="envoy"))
    assert result.up and result.warnings == ()
    assert result.samples == exposed
    # Not Contour's naming (no numeric port at the end): left whole, marked "other".
    rq = points_of(result, "envoy_cluster_upstream_rq_total")
    assert {a["cluster_kind"] for a, _ in rq} == {"other"}
    assert all("service" not in a for a, _ in rq)


def test_cluster_naming_none_leaves_cluster_names_without_derived_attributes(data_dir, scrape_once, points_of):
    with serve(data_dir, CONTOUR) as server:
        target = ScrapeTarget(f"{server.url}/stats/prometheus", source="envoy", options={"cluster_naming": "none"})
        result = scrape_once(EnvoySource(), target)
    for attrs, _ in points_of(result, "envoy_cluster_upstream_rq_total"):
        assert set(attrs) == {"envoy_cluster_name"}


def test_another_sources_metrics_raise_the_wrong_source_warning(data_dir, scrape_once):
    with serve(data_dir, "kuma/kuma_cp_metrics_synthesized.prom") as server:
        result = scrape_once(EnvoySource(), ScrapeTarget(f"{server.url}/metrics", source="envoy"))
    assert result.up
    assert any("envoy_server_live" in w and "wrong" in w for w in result.warnings)
    kuma_cp = parse_exposition((data_dir / "kuma/kuma_cp_metrics_synthesized.prom").read_bytes())
    assert EnvoySource().missing_families(kuma_cp) == ["envoy_server_live", "envoy_server_uptime"]


_dns_label = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z", fullmatch=True)


@settings(max_examples=150)
@given(namespace=_dns_label, service=_dns_label, port=st.integers(1, 65535))
def test_any_kubernetes_service_stat_name_splits_back_into_its_parts(namespace, service, port):
    attributes = contour_cluster_attributes(f"{namespace}_{service}_{port}")
    assert attributes["namespace"] == namespace
    assert attributes["service"] == service
    assert attributes["port"] == str(port)
    expected_kind = "internal" if service in ("contour", "envoy-admin") else "service"
    assert attributes["cluster_kind"] == expected_kind
