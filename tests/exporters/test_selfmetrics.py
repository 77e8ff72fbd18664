from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY, CollectorRegistry

from exporters._selfmetrics import ExporterMetrics, metrics_asgi_app


def test_one_set_of_metrics_per_registry():
    registry = CollectorRegistry()
    first = ExporterMetrics.for_registry(registry)
    assert ExporterMetrics.for_registry(registry) is first
    assert ExporterMetrics.for_registry(CollectorRegistry()) is not first
    assert ExporterMetrics.for_registry() is ExporterMetrics.for_registry(REGISTRY)


def test_asgi_app_serves_the_registry_in_exposition_format():
    registry = CollectorRegistry()
    ExporterMetrics.for_registry(registry).samples_dropped.labels("clickhouse", "queue_full").inc(7)
    app = metrics_asgi_app(registry)
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}
    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode()
    assert sent[0]["status"] == 200
    assert 'omni_exporter_samples_dropped_total{reason="queue_full",sink="clickhouse"} 7.0' in body
