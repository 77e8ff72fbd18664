"""omni_health_requests_total counts every HTTP request by the route template the router
matched (bounded labels) and the status code the client got, errors included."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import create_app

from api_server import served
from health_store import HealthStore


@pytest.fixture
def store(tmp_path):
    return HealthStore(tmp_path / "store")


def _counts(metrics_text: str) -> dict[tuple[str, str], float]:
    families = {f.name: f for f in text_string_to_metric_families(metrics_text)}
    return {(s.labels["route"], s.labels["code"]): s.value for s in families["omni_health_requests"].samples
            if s.name == "omni_health_requests_total"}


def test_requests_are_counted_by_route_template_and_code(store):
    store.gauge_now("envoy_server_live", 0, job="envoy", instance="envoy-b")  # overall critical: /health is 503
    app = create_app(store.monitor(), background=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a handler bug")

    with served(app) as url:
        codes = [httpx.get(f"{url}{path}", params=params).status_code for path, params in [
            ("/health", {}), ("/health", {}), ("/health", {"at": "yesterday"}),
            ("/health/envoy", {}), ("/health/nginx", {}), ("/health/envoy/proxy/envoy-b", {}),
            ("/health/envoy/proxy/nope", {}), ("/livez", {}), ("/no/such/path", {}), ("/boom", {}),
        ]]
        text = httpx.get(f"{url}/metrics").text
    assert codes == [503, 503, 422, 200, 404, 200, 404, 200, 404, 500]
    assert _counts(text) == {
        ("/health", "503"): 2,
        ("/health", "422"): 1,
        ("/health/{component}", "200"): 1,
        ("/health/{component}", "404"): 1,
        ("/health/{component}/{entity:path}", "200"): 1,
        ("/health/{component}/{entity:path}", "404"): 1,
        ("/livez", "200"): 1,
        ("unmatched", "404"): 1,
        ("/boom", "500"): 1,
        # the scrape itself is counted once its answer has gone out
    }
