"""Envoy and Contour rules: liveness, 5xx shares from counter increases (thresholds and a
counter reset inside the window), upstream membership, HTTPProxy validity."""

from __future__ import annotations

import pytest

from service import Status

from health_store import HealthStore, entity, reasons


@pytest.fixture
def store(tmp_path):
    return HealthStore(tmp_path / "store")


def test_envoy_not_live_is_critical(store):
    store.gauge_now("envoy_server_live", 0, job="envoy", instance="envoy-a")
    store.gauge_now("envoy_server_live", 1, job="envoy", instance="envoy-b")
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "envoy", "proxy/envoy-a").status is Status.CRITICAL
    assert entity(snapshot, "envoy", "proxy/envoy-b").status is Status.OK


def _downstream(store, prefix: str, ok: list[float], errors: list[float]) -> None:
    times = [store.ago(10 + 60 * (len(ok) - 1 - i)) for i in range(len(ok))]
    for code_class, values in (("2", ok), ("5", errors)):
        store.counter("envoy_http_downstream_rq_xx", list(zip(times, values)),
                      {"envoy_http_conn_manager_prefix": prefix, "envoy_response_code_class": code_class},
                      job="envoy", instance="envoy-a")


@pytest.mark.parametrize(
    ("errors", "expected"),
    [(10, Status.OK), (20, Status.DEGRADED), (50, Status.DEGRADED), (60, Status.CRITICAL)],
)
def test_downstream_5xx_share_thresholds_are_strictly_above_1_and_5_percent(store, errors, expected):
    # 1000 requests in the window, `errors` of them 5xx: exactly 1% and 5% are not above the thresholds
    _downstream(store, "ingress_https", ok=[5000, 5000 + 1000 - errors], errors=[7, 7 + errors])
    snapshot = store.evaluator().evaluate()
    listener = entity(snapshot, "envoy", "listener/envoy-a/ingress_https")
    assert listener.status is expected
    if expected is not Status.OK:
        [reason] = reasons(snapshot, "envoy", "listener/envoy-a/ingress_https", "envoy.downstream_5xx_share")
        assert reason.observed == pytest.approx(errors / 1000)
        assert reason.window_s == 300


def test_counter_reset_inside_the_window_counts_the_increase_after_the_reset(store):
    # 5xx: +30, reset to 20 (20 new), +30 = 80; 2xx: +500, reset to 100, +500 = 1100
    _downstream(store, "ingress_http", ok=[1000, 1500, 100, 600], errors=[100, 130, 20, 50])
    snapshot = store.evaluator().evaluate()
    [reason] = reasons(snapshot, "envoy", "listener/envoy-a/ingress_http", "envoy.downstream_5xx_share")
    assert reason.observed == pytest.approx(80 / 1180)
    assert reason.status is Status.CRITICAL
    assert "80 of 1180 requests 5xx" in reason.message


def test_upstream_5xx_share_names_the_failing_cluster(store):
    times = [store.ago(200), store.ago(20)]
    for cluster, errors in (("shop_checkout_8443", [0, 30]), ("shop_cart_8080", [0, 1])):
        for code_class, values in (("2", [0, 970]), ("5", errors)):
            store.counter("envoy_cluster_upstream_rq_xx", list(zip(times, values)),
                          {"envoy_cluster_name": cluster, "namespace": "shop", "service": cluster.split("_")[1],
                           "envoy_response_code_class": code_class}, job="envoy")
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "envoy", "cluster/shop_checkout_8443").status is Status.DEGRADED
    assert entity(snapshot, "envoy", "cluster/shop_cart_8080").status is Status.OK


@pytest.mark.parametrize(("healthy", "expected"), [(2, Status.OK), (1, Status.DEGRADED), (0, Status.CRITICAL)])
def test_upstream_cluster_members(store, healthy, expected):
    labels = {"envoy_cluster_name": "default_kuard_80", "namespace": "default", "service": "kuard"}
    store.gauge_now("envoy_cluster_membership_total", 2, labels, job="envoy")
    store.gauge_now("envoy_cluster_membership_healthy", healthy, labels, job="envoy")
    cluster = entity(store.evaluator().evaluate(), "envoy", "cluster/default_kuard_80")
    assert cluster.status is expected
    if expected is not Status.OK:
        assert f"{healthy} of 2 members healthy" in cluster.reasons[0].message


def test_invalid_and_orphaned_httpproxies_are_degraded(store):
    store.gauge_now("contour_httpproxy_invalid", 1, {"namespace": "shop", "vhost": "checkout.example.com"}, job="contour")
    store.gauge_now("contour_httpproxy_invalid", 0, {"namespace": "shop", "vhost": "cart.example.com"}, job="contour")
    store.gauge_now("contour_httpproxy_orphaned", 2, {"namespace": "staging"}, job="contour")
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "envoy", "httpproxy/shop/checkout.example.com").status is Status.DEGRADED
    assert entity(snapshot, "envoy", "httpproxy/shop/cart.example.com").status is Status.OK
    assert entity(snapshot, "envoy", "namespace/staging").status is Status.DEGRADED
    assert snapshot.components["envoy"].status is Status.DEGRADED
