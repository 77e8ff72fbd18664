"""What ``offer`` answers: with ``durable`` and a spool, an accepted batch is stored or on the
fsynced spool by the time of the answer; a batch that can never fit is TOO_LARGE; a full
buffer is BUSY or UNAVAILABLE with a Retry-After. Memory is bounded in bytes as well as points."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import Gauge, Metric, MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from exporters.delivery import DeliveryOptions, DeliveryQueue, RetryPolicy
from omni_core.admission import Admission
from omni_core.datamodel import FlaggedNumberDataPoint
from omni_core.sink import WriteOutcome

FAST_RETRY = RetryPolicy(initial_interval_s=0.01, max_interval_s=0.05)
SLOW_RETRY = RetryPolicy(initial_interval_s=60.0, max_interval_s=60.0)


def _spooled_points(spool_dir) -> int:
    return sum(int(path.name.split("-")[1]) for path in spool_dir.glob("*.otlp"))


def _fat_batch(points: int, attribute_bytes: int, batch: int = 0) -> MetricsData:
    """Few points carrying large attribute values: cheap in points, expensive in memory."""
    gauge = Gauge([
        FlaggedNumberDataPoint({"blob": "x" * attribute_bytes, "i": f"{batch}-{i}"}, 0, 1_700_000_000_000_000_000, 1.0)
        for i in range(points)
    ])
    scope = ScopeMetrics(InstrumentationScope("test"), [Metric("fat", "", "", gauge)], "")
    return MetricsData([ResourceMetrics(Resource({"service.name": "fat"}), [scope], "")])


def test_durable_offer_answers_stored_once_the_rows_are_in_the_store(chdb_store, make_gauge_batch, tmp_path,
                                                                      self_metrics):
    options = DeliveryOptions(spool_dir=tmp_path / "spool", batch_max_age_s=3600, retry=FAST_RETRY)
    queue = DeliveryQueue(chdb_store.writer(), options, metrics=self_metrics)
    try:
        answer = queue.offer(make_gauge_batch(12), durable=True)
        assert answer.admission is Admission.STORED
        assert chdb_store.rows() == 12
    finally:
        queue.shutdown()


def test_durable_offer_while_the_store_fails_answers_spooled_with_the_batch_on_disk(
        recording_sink, make_gauge_batch, tmp_path, self_metrics, wait_for):
    spool_dir = tmp_path / "spool"
    sink = recording_sink(then=WriteOutcome.RETRY)
    queue = DeliveryQueue(sink, DeliveryOptions(spool_dir=spool_dir, batch_max_age_s=0, retry=SLOW_RETRY),
                          metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(3, batch=0))
        wait_for(lambda: not queue.sink_available, what="a failed attempt")
        answer = queue.offer(make_gauge_batch(12, batch=1), durable=True)
        assert answer.admission is Admission.SPOOLED
        assert _spooled_points(spool_dir) == 15
        assert queue.status().spool_points == 15  # and the bound sees it
    finally:
        queue.shutdown(timeout_millis=50)


def test_durable_offer_to_a_hanging_store_is_spooled_when_its_time_is_up(recording_sink, make_gauge_batch, tmp_path,
                                                                           chdb_store, self_metrics, wait_for):
    spool_dir = tmp_path / "spool"
    sink = recording_sink(hold=True, store=chdb_store.writer())
    queue = DeliveryQueue(sink, DeliveryOptions(spool_dir=spool_dir, batch_max_age_s=3600, retry=FAST_RETRY),
                          metrics=self_metrics)
    try:
        answer = queue.offer(make_gauge_batch(12), durable=True, timeout_s=0.2)
        assert answer.admission is Admission.SPOOLED
        assert _spooled_points(spool_dir) == 12
        sink.release.set()
        assert queue.force_flush(20_000)
    finally:
        sink.release.set()
        queue.shutdown()
    assert chdb_store.rows() == 12
    assert _spooled_points(spool_dir) == 0  # stored, so its spool copy is gone: no replay, no duplicate


def test_without_a_spool_durable_offer_can_only_queue(chdb_store, make_gauge_batch, self_metrics):
    queue = DeliveryQueue(chdb_store.writer(), DeliveryOptions(batch_max_age_s=3600), metrics=self_metrics)
    try:
        assert queue.offer(make_gauge_batch(5), durable=True).admission is Admission.QUEUED
    finally:
        queue.shutdown()


def test_a_batch_larger_than_the_buffer_is_too_large_even_when_the_queue_is_empty(recording_sink, make_gauge_batch,
                                                                                   self_metrics):
    queue = DeliveryQueue(recording_sink(), DeliveryOptions(max_memory_points=10, max_memory_bytes=50_000),
                          metrics=self_metrics)
    try:
        by_points = queue.offer(make_gauge_batch(11))
        by_bytes = queue.offer(_fat_batch(2, 100_000))
        fits = queue.offer(make_gauge_batch(10))
    finally:
        queue.shutdown()
    assert by_points.admission is Admission.TOO_LARGE and "queue_max_samples=10" in by_points.detail
    assert by_bytes.admission is Admission.TOO_LARGE and "queue_max_bytes=50000" in by_bytes.detail
    assert fits.admission is Admission.QUEUED


def test_a_full_buffer_with_a_working_store_answers_busy_with_retry_after(recording_sink, make_gauge_batch,
                                                                           self_metrics, wait_for):
    sink = recording_sink(hold=True)  # the store works, slowly: the buffer fills behind the insert
    queue = DeliveryQueue(sink, DeliveryOptions(max_memory_points=20, batch_max_age_s=0, retry=SLOW_RETRY),
                          metrics=self_metrics)
    try:
        assert queue.offer(make_gauge_batch(10, batch=0)).accepted
        sink.entered.wait(10)
        assert queue.offer(make_gauge_batch(10, batch=1)).accepted
        busy = queue.offer(make_gauge_batch(10, batch=2))
    finally:
        sink.release.set()
        queue.shutdown()
    assert busy.admission is Admission.BUSY and busy.retry_after_s and busy.retry_after_s > 0


def test_memory_is_bounded_in_bytes_when_points_are_few_and_fat(recording_sink, self_metrics, registry, wait_for):
    sink = recording_sink(then=WriteOutcome.RETRY)
    one_mib = 1024 * 1024
    options = DeliveryOptions(max_memory_points=1_000_000, max_memory_bytes=4 * one_mib, batch_max_age_s=0,
                              retry=SLOW_RETRY)
    queue = DeliveryQueue(sink, options, metrics=self_metrics)
    try:
        for i in range(10):
            queue.export(_fat_batch(1, one_mib, batch=i))  # 10 points against a bound of a million
        status = queue.status()
        refused = queue.offer(_fat_batch(1, one_mib, batch=99))
    finally:
        queue.shutdown(timeout_millis=50)
    dropped = registry.get_sample_value("omni_exporter_samples_dropped_total",
                                        {"sink": "clickhouse", "reason": "queue_full"})
    assert status.memory_points <= 4
    assert dropped >= 6
    assert refused.admission in (Admission.BUSY, Admission.UNAVAILABLE) and refused.retry_after_s
