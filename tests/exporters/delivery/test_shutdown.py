"""Shutdown and crashes: the batch in flight is accounted for once, and during an outage a
SIGKILL finds everything accepted already on the spool."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import textwrap

import pytest

from exporters.delivery import DeliveryOptions, DeliveryQueue, RetryPolicy
from omni_core.sink import WriteOutcome

FAST_RETRY = RetryPolicy(initial_interval_s=0.01, max_interval_s=0.05)


def _dropped_total(registry) -> float:
    return sum(
        sample.value
        for metric in registry.collect() if metric.name == "omni_exporter_samples_dropped"
        for sample in metric.samples if sample.name.endswith("_total")
    )


@pytest.mark.parametrize("answer", [WriteOutcome.RETRY, WriteOutcome.REFUSED])
def test_a_batch_still_in_flight_at_shutdown_is_counted_as_dropped_once(recording_sink, make_gauge_batch,
                                                                        self_metrics, registry, answer):
    sink = recording_sink(hold=True, then=answer)
    queue = DeliveryQueue(sink, DeliveryOptions(batch_max_age_s=0, retry=FAST_RETRY), metrics=self_metrics)
    queue.export(make_gauge_batch(7))
    assert sink.entered.wait(10)
    queue.shutdown(timeout_millis=50)  # the attempt is still running when the timeout is up
    sink.release.set()  # ... and ends afterwards, with the sink's answer
    queue._worker.join(10)  # the worker has handled that answer
    assert not queue._worker.is_alive()
    assert _dropped_total(registry) == 7


def test_a_batch_still_in_flight_at_shutdown_is_spooled_and_forgotten_once_it_lands(
        recording_sink, make_gauge_batch, tmp_path, chdb_store, self_metrics, registry):
    spool_dir = tmp_path / "spool"
    sink = recording_sink(hold=True, store=chdb_store.writer())
    queue = DeliveryQueue(sink, DeliveryOptions(spool_dir=spool_dir, batch_max_age_s=0, retry=FAST_RETRY),
                          metrics=self_metrics)
    queue.export(make_gauge_batch(7))
    assert sink.entered.wait(10)
    queue.shutdown(timeout_millis=50)
    assert [int(path.name.split("-")[1]) for path in spool_dir.glob("*.otlp")] == [7]
    sink.release.set()
    queue._worker.join(10)
    assert chdb_store.rows() == 7
    assert list(spool_dir.glob("*.otlp")) == []  # stored, so nothing is replayed
    assert _dropped_total(registry) == 0


_OUTAGE_PRODUCER = textwrap.dedent(
    """
    import sys, time
    from opentelemetry.sdk.metrics.export import Gauge, Metric, MetricsData, ResourceMetrics, ScopeMetrics
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from exporters.clickhouse import ClickHouseWriter, SchemaOptions, connect
    from exporters.delivery import DeliveryOptions, DeliveryQueue, ReconnectingWriter, RetryPolicy
    from omni_core.datamodel import FlaggedNumberDataPoint

    spool_dir, refused_dsn, batches, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    writer = ReconnectingWriter(lambda: ClickHouseWriter(connect(refused_dsn), SchemaOptions()))
    # Default memory bound and coalescing: nothing but the outage pushes batches to disk.
    queue = DeliveryQueue(writer, DeliveryOptions(spool_dir=spool_dir, retry=RetryPolicy(30, 30)))

    def batch(b):
        gauge = Gauge([FlaggedNumberDataPoint({"batch": str(b), "series": str(i)}, 0, 1_700_000_000_000_000_000 + b, 1.0)
                       for i in range(points)])
        return MetricsData([ResourceMetrics(Resource({"service.name": "outage"}), [
            ScopeMetrics(InstrumentationScope("probe"), [Metric("queue_probe", "", "", gauge)], "")], "")])

    queue.export(batch(0))
    queue.force_flush(0)  # do not wait for the batch to age: try the store now
    while queue.sink_available:
        time.sleep(0.01)
    for b in range(1, batches):
        queue.export(batch(b))
    while not (queue.status().memory_points == 0 and queue.status().spool_points == batches * points):
        time.sleep(0.01)
    print("ON DISK", flush=True)
    time.sleep(600)
    """
)


@pytest.mark.slow
def test_sigkill_during_an_outage_loses_nothing_accepted(tmp_path, refused_dsn, chdb_store, self_metrics):
    spool_dir = tmp_path / "spool"
    batches, points = 5, 10
    producer = subprocess.Popen(
        [sys.executable, "-c", _OUTAGE_PRODUCER, str(spool_dir), refused_dsn, str(batches), str(points)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert producer.stdout is not None
        # selectors, not select.select: a long test run holds more than FD_SETSIZE (1024) descriptors.
        with selectors.DefaultSelector() as waiting:
            waiting.register(producer.stdout, selectors.EVENT_READ)
            ready = waiting.select(120)
        assert ready, "the producer never reported its batches on disk"
        assert producer.stdout.readline().strip() == "ON DISK"
    finally:
        os.kill(producer.pid, signal.SIGKILL)
        producer.wait(timeout=30)

    queue = DeliveryQueue(chdb_store.writer(), DeliveryOptions(spool_dir=spool_dir, retry=FAST_RETRY),
                          metrics=self_metrics)
    try:
        assert queue.force_flush(30_000)
    finally:
        queue.shutdown()
    assert chdb_store.rows() == batches * points
