"""What the queue delivers to: any BatchSink, an SDK exporter through its adapter, and a
writer opened on demand; whatever they answer, the queue keeps moving."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

from exporters.delivery import DeliveryOptions, DeliveryQueue, ReconnectingWriter, RetryPolicy
from omni_core.errors import StorageError
from omni_core.sink import MetricExporterSink, WriteOutcome

FAST_RETRY = RetryPolicy(initial_interval_s=0.01, max_interval_s=0.05)


class _ScriptedExporter(MetricExporter):
    def __init__(self, results: list[MetricExportResult]) -> None:
        super().__init__()
        self.results = results

    def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
        return self.results.pop(0)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        pass


def test_an_sdk_exporter_answers_stored_on_success_and_retry_on_failure(make_gauge_batch):
    sink = MetricExporterSink(_ScriptedExporter([MetricExportResult.FAILURE, MetricExportResult.SUCCESS]))
    assert sink.write_batch(make_gauge_batch(1), insert_token="t").outcome is WriteOutcome.RETRY
    assert sink.write_batch(make_gauge_batch(1), insert_token="t").outcome is WriteOutcome.STORED


def test_a_sink_that_raises_does_not_stall_the_batches_behind(recording_sink, make_gauge_batch, self_metrics,
                                                              registry):
    stored = recording_sink()

    class BrokenForOneBatch:
        def write_batch(self, metrics_data, *, insert_token):
            if metrics_data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points[0].attributes["batch"] == "0":
                raise RuntimeError("a bug in the sink")
            return stored.write_batch(metrics_data, insert_token=insert_token)

    queue = DeliveryQueue(BrokenForOneBatch(), DeliveryOptions(batch_max_age_s=0, batch_max_points=1, retry=FAST_RETRY),
                          metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(3, batch=0))
        queue.export(make_gauge_batch(5, batch=1))
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    assert [points for _, points in stored.calls] == [5]
    assert registry.get_sample_value("omni_exporter_samples_dropped_total",
                                     {"sink": "clickhouse", "reason": "refused"}) == 3


def test_a_store_that_cannot_be_opened_is_retried_whatever_the_error(chdb_store, make_gauge_batch):
    attempts = []

    def open_writer():
        attempts.append(1)
        if len(attempts) == 1:
            raise StorageError("ClickHouse rejected a statement while connecting: Code: 516. AUTHENTICATION_FAILED")
        return chdb_store.writer()

    writer = ReconnectingWriter(open_writer)
    first = writer.write_batch(make_gauge_batch(4), insert_token="t")
    second = writer.write_batch(make_gauge_batch(4), insert_token="t")
    assert (first.outcome, second.outcome) == (WriteOutcome.RETRY, WriteOutcome.STORED)
    assert "AUTHENTICATION_FAILED" in first.detail
    assert chdb_store.rows() == 4
