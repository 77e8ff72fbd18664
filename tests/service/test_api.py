"""The HTTP API on a real port: status codes per overall status, ?at=, 404s that list valid
names, entity details, probes and own metrics, an old snapshot, and a store that goes away."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporters.clickhouse import close_embedded_engines
from service import create_app

from api_server import served
from health_store import HealthStore

DP_STATES = ("online", "partially_degraded", "offline")


def _healthy_platform(store: HealthStore) -> None:
    """One ok entity in every component."""
    store.gauge_now("diskpool_status", 1, {"name": "pool-a", "node": "n1", "state": "online"}, job="mayastor")
    store.gauge_now("envoy_server_live", 1, job="envoy", instance="envoy-a")
    store.states("kuma_dataplane_status", "status", "online", DP_STATES,
                 {"mesh": "default", "name": "web-1", "service": "web", "zone": "z1"}, job="kuma-api")
    store.gauge_now("kubevirt_vmi_info", 1, {"name": "db-01", "namespace": "vms", "phase": "running"}, job="kubevirt")
    store.gauge_now("up", 1, job="envoy", instance="envoy-a")
    store.gauge_now("argocd_app_info", 1, {"name": "kuma", "namespace": "argocd", "project": "platform",
                                           "health_status": "Healthy", "sync_status": "Synced"}, job="argocd")


@pytest.fixture
def store(tmp_path):
    return HealthStore(tmp_path / "store")


@pytest.mark.parametrize(
    ("fault", "overall", "code"),
    [(None, "ok", 200), ("invalid_proxy", "degraded", 200), ("not_live", "critical", 503), ("no_data", "unknown", 200)],
)
def test_health_http_status_follows_the_overall_status(store, fault, overall, code):
    if fault != "no_data":
        _healthy_platform(store)
    if fault == "invalid_proxy":
        store.gauge_now("contour_httpproxy_invalid", 1, {"namespace": "shop", "vhost": "checkout.example.com"}, job="contour")
    if fault == "not_live":
        store.gauge_now("envoy_server_live", 0, job="envoy", instance="envoy-b")
    with served(create_app(store.monitor(), background=False)) as url:
        answer = httpx.get(f"{url}/health")
    assert answer.status_code == code
    body = answer.json()
    assert body["status"] == overall
    assert [c["name"] for c in body["components"]] == ["mayastor", "envoy", "kuma", "kubevirt", "argocd", "pipeline"]
    if overall == "critical":
        [reason] = [r for r in body["reasons"] if r["status"] == "critical"]
        assert reason["entity"] == "envoy/proxy/envoy-b" and reason["rule"] == "envoy.server_live"
        envoy = next(c for c in body["components"] if c["name"] == "envoy")
        assert [e["id"] for e in envoy["entities"]] == ["proxy/envoy-b"]
        assert envoy["counts"]["critical"] == 1 and envoy["counts"]["ok"] == 1


def test_critical_http_status_is_configurable(store):
    store.gauge_now("envoy_server_live", 0, job="envoy", instance="envoy-b")
    with served(create_app(store.monitor(), critical_http_status=200, background=False)) as url:
        answer = httpx.get(f"{url}/health")
    assert answer.status_code == 200 and answer.json()["status"] == "critical"


def test_at_in_the_past_answers_the_past_and_bad_at_is_422_naming_the_parameter(store):
    for seconds, live in ((600, 0), (570, 0), (30, 1), (5, 1)):
        store.gauge("envoy_server_live", [(store.ago(seconds), live)], job="envoy", instance="envoy-a")
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    with served(create_app(store.monitor(), background=False)) as url:
        now = httpx.get(f"{url}/health/envoy/proxy/envoy-a").json()
        past = httpx.get(f"{url}/health/envoy/proxy/envoy-a", params={"at": str(store.ago(560).timestamp())})
        past_rfc = httpx.get(f"{url}/health", params={"at": store.ago(560).isoformat().replace("+00:00", "Z")})
        bad = [httpx.get(f"{url}{path}", params={"at": at})
               for path in ("/health", "/health/envoy", "/health/envoy/proxy/envoy-a")
               for at in (future, "yesterday", "2026-13-45T00:00:00Z", "nan", "2026-11-29T03:00:00")]
    assert now["status"] == "ok"
    assert past.status_code == 200 and past.json()["status"] == "critical"
    assert past.json()["reasons"][0]["since"].startswith(store.ago(600).isoformat()[:19])
    assert past_rfc.status_code == 503 and past_rfc.json()["status"] == "critical"
    for answer in bad:
        assert answer.status_code == 422, answer.text
        [problem] = answer.json()["detail"]
        assert problem["loc"] == ["query", "at"] and problem["msg"].startswith("at: ")


def test_unknown_component_or_entity_is_404_listing_the_valid_names(store):
    _healthy_platform(store)
    with served(create_app(store.monitor(), background=False)) as url:
        component = httpx.get(f"{url}/health/nginx")
        entity = httpx.get(f"{url}/health/envoy/proxy/nope")
    assert component.status_code == 404
    assert component.json()["valid"] == ["argocd", "envoy", "kubevirt", "kuma", "mayastor", "pipeline"]
    assert entity.status_code == 404 and entity.json()["valid"] == ["proxy/envoy-a"]


@pytest.mark.parametrize("entity", ["%0Aproxy%2Fenvoy-a", "proxy%2Fenvoy-a%0A", "%0A"])
def test_an_entity_id_with_a_newline_is_an_unknown_entity_not_a_bare_404_or_another_entity(store, entity):
    store.gauge_now("envoy_server_live", 1, job="envoy", instance="envoy-a")
    with served(create_app(store.monitor(), background=False)) as url:
        answer = httpx.get(f"{url}/health/envoy/{entity}")
    assert answer.status_code == 404
    assert answer.json()["valid"] == ["proxy/envoy-a"]


def test_component_lists_every_entity_and_entity_detail_shows_recent_values(store):
    for seconds, used in ((40, 700), (25, 850), (10, 950)):
        t = store.ago(seconds)
        store.gauge("diskpool_total_size_bytes", [(t, 1000)], {"name": "pool-a", "node": "n1"})
        store.gauge("diskpool_used_size_bytes", [(t, used)], {"name": "pool-a", "node": "n1"})
    store.gauge_now("diskpool_status", 1, {"name": "pool-b", "node": "n2", "state": "online"})
    with served(create_app(store.monitor(), background=False)) as url:
        component = httpx.get(f"{url}/health/mayastor").json()
        detail = httpx.get(f"{url}/health/mayastor/pool/pool-a").json()
    assert {e["id"]: e["status"] for e in component["entities"]} == {"pool/pool-a": "critical", "pool/pool-b": "ok"}
    assert {r["id"]: r["outcome"] for r in component["rules"]}["mayastor.pool_usage"] == "evaluated"
    assert detail["labels"] == {"node": "n1"}
    usage = [(v["value"]) for v in detail["recent"] if v["rule"] == "mayastor.pool_usage"]
    assert usage == pytest.approx([0.95, 0.85, 0.7])
    assert detail["reasons"][0]["since"].startswith(store.ago(10).isoformat()[:19])


def test_probes_and_own_metrics(store):
    with served(create_app(store.monitor(), background=False)) as url:
        httpx.get(f"{url}/health")
        httpx.get(f"{url}/health", params={"at": "0"})
        livez, readyz = httpx.get(f"{url}/livez"), httpx.get(f"{url}/readyz")
        text = httpx.get(f"{url}/metrics").text
    assert livez.status_code == 200 and readyz.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    durations = {s.labels["kind"] for s in families["omni_health_evaluation_duration_seconds"].samples}
    assert durations == {"background", "at"}
    requests = {(s.labels["route"], s.labels["code"]): s.value for s in families["omni_health_requests"].samples
                if s.name == "omni_health_requests_total"}
    assert requests[("/health", "200")] == 2
    assert "omni_health_snapshot_age_seconds" in families
    assert "omni_health_evaluation_errors" in families


def test_a_snapshot_older_than_its_bound_answers_unknown(store):
    _healthy_platform(store)
    monitor = store.monitor()
    monitor.max_age_s = 0.0
    with served(create_app(monitor, background=False)) as url:
        answer = httpx.get(f"{url}/health").json()
    assert answer["status"] == "unknown"
    assert answer["reasons"][0]["rule"] == "service.snapshot_age"


def test_a_store_that_goes_away_while_serving_gives_503_with_a_reason_never_500(store, tmp_path):
    _healthy_platform(store)
    monitor = store.monitor()
    with served(create_app(monitor, background=False)) as url:
        assert httpx.get(f"{url}/health").status_code == 200
        close_embedded_engines()
        path = store.dsn.removeprefix("chdb://")
        os.rename(path, f"{path}.gone")
        with open(path, "w") as blocker:  # the data directory is now a file: the store cannot be opened
            blocker.write("")
        monitor.evaluate()  # what the background thread does every few seconds
        answers = {p: httpx.get(f"{url}{p}") for p in
                   ("/health", "/health/mayastor", "/health/pipeline/store/clickhouse", "/readyz", "/livez")}
        past = httpx.get(f"{url}/health", params={"at": str(store.ago(60).timestamp())})
    health = answers["/health"]
    assert health.status_code == 503
    assert health.json()["status"] == "critical"
    [reason] = [r for r in health.json()["reasons"] if r["status"] == "critical"]
    assert reason["rule"] == "pipeline.store" and path in reason["message"]
    assert answers["/health/mayastor"].json()["status"] == "unknown"
    assert answers["/health/pipeline/store/clickhouse"].json()["status"] == "critical"
    assert answers["/readyz"].status_code == 503 and "not ready" in answers["/readyz"].json()["detail"]
    assert answers["/livez"].status_code == 200
    assert past.status_code == 503
    assert all(a.status_code != 500 for a in answers.values())
