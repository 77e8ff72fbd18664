"""The queue counts what it stored in Prometheus's unit too: one per exposed sample line.

``omni_exporter_samples_written_total`` counts rows (a histogram row is one); comparing with
Prometheus's ``prometheus_tsdb_head_samples_appended_total`` needs every bucket, ``_count``
and ``_sum`` counted as the text format exposes them.
"""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from collectors.exposition import TargetConverter
from exporters.delivery import DeliveryOptions, DeliveryQueue, RetryPolicy

BODY = """\
# TYPE requests_total counter
requests_total{code="200"} 10
requests_total{code="500"} 2
# TYPE temperature gauge
temperature 21.5
# TYPE latency_seconds histogram
latency_seconds_bucket{route="/a",le="0.1"} 1
latency_seconds_bucket{route="/a",le="1"} 3
latency_seconds_bucket{route="/a",le="+Inf"} 4
latency_seconds_sum{route="/a"} 2.5
latency_seconds_count{route="/a"} 4
latency_seconds_bucket{route="/b",le="0.1"} 0
latency_seconds_bucket{route="/b",le="1"} 0
latency_seconds_bucket{route="/b",le="+Inf"} 1
latency_seconds_sum{route="/b"} 7
latency_seconds_count{route="/b"} 1
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.2
rpc_seconds{quantile="0.99"} 0.9
rpc_seconds_sum 12
rpc_seconds_count 40
"""


def _batch(body: str) -> MetricsData:
    converted = TargetConverter().convert(body, "text/plain; version=0.0.4", 1_700_000_000_000_000_000)
    assert converted.dropped == 0
    scope = InstrumentationScope("omni-telemetry", "1.0")
    return MetricsData([ResourceMetrics(Resource({"service.name": "t"}), [ScopeMetrics(scope, converted.metrics, "")], "")])


def test_stored_samples_are_counted_one_per_exposed_sample_line(chdb_store, self_metrics, registry):
    sample_lines = sum(1 for line in BODY.splitlines() if line and not line.startswith("#"))
    queue = DeliveryQueue(
        chdb_store.writer(), DeliveryOptions(batch_max_age_s=0, retry=RetryPolicy(initial_interval_s=0.01)),
        metrics=self_metrics,
    )
    try:
        queue.export(_batch(BODY))
        queue.export(_batch(BODY))
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    written = registry.get_sample_value("omni_exporter_exposition_samples_written_total", {"sink": "clickhouse"})
    rows = registry.get_sample_value("omni_exporter_samples_written_total", {"sink": "clickhouse"})
    assert written == 2 * sample_lines
    assert rows == 2 * (2 + 1 + 2 + 1)  # points: two counters, a gauge, two histograms, a summary


def test_a_batch_the_store_refuses_is_not_counted_as_written(self_metrics, registry, recording_sink):
    from omni_core.sink import WriteOutcome

    sink = recording_sink(then=WriteOutcome.REFUSED)
    queue = DeliveryQueue(sink, DeliveryOptions(batch_max_age_s=0), metrics=self_metrics)
    try:
        queue.export(_batch(BODY))
        queue.force_flush(5_000)
    finally:
        queue.shutdown()
    assert sink.calls
    assert not registry.get_sample_value("omni_exporter_exposition_samples_written_total", {"sink": "clickhouse"})
