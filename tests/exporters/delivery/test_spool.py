from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import textwrap

import pytest

from exporters.delivery import DeliveryOptions, DeliveryQueue, RetryPolicy, Spool, SpoolCorrupt
from omni_core.errors import ConfigError
from omni_core.sink import WriteOutcome

FAST_RETRY = RetryPolicy(initial_interval_s=0.01, max_interval_s=0.05)


def test_spooled_batch_reads_back_identical(tmp_path, metrics_data, as_comparable):
    spool = Spool(tmp_path)
    assert spool.open() == []
    entry = spool.write("3f1c2b9e-0000-4000-8000-000000000001", 12, metrics_data)
    assert entry.path.name.endswith("-12-3f1c2b9e-0000-4000-8000-000000000001.otlp")
    assert entry.size_bytes == entry.path.stat().st_size
    assert as_comparable(spool.read(entry)) == as_comparable(metrics_data)
    spool.close()


def test_reopened_spool_lists_batches_oldest_first_and_forgets_unfinished_writes(tmp_path, make_gauge_batch):
    spool = Spool(tmp_path)
    spool.open()
    first = spool.write("a", 1, make_gauge_batch(1))
    second = spool.write("b", 2, make_gauge_batch(2))
    spool.close()
    # A write cut short before its rename leaves only a temporary file.
    (tmp_path / f".incoming-{'9' * 20}-5-c.otlp").write_bytes(b"\x0a\x03")

    reopened = Spool(tmp_path)
    entries = reopened.open()
    assert [(e.batch_id, e.points, e.seq) for e in entries] == [("a", 1, first.seq), ("b", 2, second.seq)]
    assert not list(tmp_path.glob(".incoming-*"))
    third = reopened.write("c", 3, make_gauge_batch(3))
    assert third.seq > second.seq
    reopened.close()


def test_second_opener_of_a_spool_directory_is_refused(tmp_path):
    first = Spool(tmp_path)
    first.open()
    with pytest.raises(ConfigError, match="in use by another process"):
        Spool(tmp_path).open()
    first.close()
    Spool(tmp_path).open()


def test_corrupt_spool_file_is_set_aside(tmp_path, make_gauge_batch):
    spool = Spool(tmp_path)
    spool.open()
    entry = spool.write("a", 1, make_gauge_batch(1))
    entry.path.write_bytes(b"\xff\xff\xff\xff not protobuf")
    with pytest.raises(SpoolCorrupt, match="cannot be read"):
        spool.read(entry)
    assert entry.path.with_name(entry.path.name + ".corrupt").exists()
    spool.close()


_FAILING_PRODUCER = textwrap.dedent(
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
    queue = DeliveryQueue(writer, DeliveryOptions(max_memory_points=1, spool_dir=spool_dir,
                                                  retry=RetryPolicy(0.01, 0.05)))
    for b in range(batches):
        gauge = Gauge([FlaggedNumberDataPoint({"batch": str(b), "series": str(i)}, 0, 1_700_000_000_000_000_000 + b, 1.0)
                       for i in range(points)])
        queue.export(MetricsData([ResourceMetrics(Resource({"service.name": "restart"}), [
            ScopeMetrics(InstrumentationScope("probe"), [Metric("queue_probe", "", "", gauge)], "")], "")]))
    while not (queue.status().spool_batches == batches and queue.status().memory_batches == 0):
        time.sleep(0.01)
    print("SPOOLED", flush=True)
    time.sleep(600)
    """
)


@pytest.mark.slow
def test_spool_survives_sigkill_and_is_delivered_once_by_the_next_process(tmp_path, refused_dsn, chdb_store,
                                                                          self_metrics):
    spool_dir = tmp_path / "spool"
    batches, points = 4, 15
    producer = subprocess.Popen(
        [sys.executable, "-c", _FAILING_PRODUCER, str(spool_dir), refused_dsn, str(batches), str(points)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert producer.stdout is not None
        # selectors, not select.select: a long test run holds more than FD_SETSIZE (1024) descriptors.
        with selectors.DefaultSelector() as waiting:
            waiting.register(producer.stdout, selectors.EVENT_READ)
            ready = waiting.select(120)
        assert ready, "the producer never reported its batches spooled"
        assert producer.stdout.readline().strip() == "SPOOLED"
    finally:
        os.kill(producer.pid, signal.SIGKILL)
        producer.wait(timeout=30)
    assert producer.returncode == -signal.SIGKILL
    assert len(list(spool_dir.glob("*.otlp"))) == batches

    for _ in range(2):  # the second run finds nothing left: delivered once, not twice
        queue = DeliveryQueue(chdb_store.writer(), DeliveryOptions(spool_dir=spool_dir, retry=FAST_RETRY),
                              metrics=self_metrics)
        try:
            assert queue.force_flush(30_000)
        finally:
            queue.shutdown()
    assert chdb_store.rows() == batches * points
    table = f"{chdb_store.options.database}.otel_metrics_gauge"
    assert chdb_store.client.command(f"SELECT uniqExact(Attributes['batch'], Attributes['series']) FROM {table}") == batches * points
    assert list(spool_dir.glob("*.otlp")) == []


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 1 MiB tmpfs: a real full disk. Skips where mounting is not permitted."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip() or result.returncode}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_write_that_fills_the_disk_leaves_no_partial_file(tiny_filesystem, make_gauge_batch):
    spool = Spool(tiny_filesystem / "spool")
    spool.open()
    small = spool.write("fits", 10, make_gauge_batch(10))
    with pytest.raises(OSError):
        spool.write("too-big", 20_000, make_gauge_batch(20_000))
    assert [path.name for path in spool.directory.iterdir() if path.name.startswith(".incoming-")] == []
    spool.close()
    reopened = Spool(spool.directory)
    assert [entry.batch_id for entry in reopened.open()] == [small.batch_id]
    reopened.close()


def test_a_queue_whose_spool_disk_is_full_keeps_the_batch_in_memory(tiny_filesystem, recording_sink,
                                                                    make_gauge_batch, chdb_store, self_metrics,
                                                                    wait_for):
    sink = recording_sink(script=[WriteOutcome.RETRY] * 3, store=chdb_store.writer())
    queue = DeliveryQueue(sink, DeliveryOptions(spool_dir=tiny_filesystem / "spool", batch_max_age_s=0,
                                                retry=FAST_RETRY), metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(20_000))  # larger than the whole disk once encoded
        assert queue.force_flush(60_000)
    finally:
        queue.shutdown()
    assert chdb_store.rows() == 20_000
    assert list((tiny_filesystem / "spool").glob(".incoming-*")) == []
