from __future__ import annotations

import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics.export import MetricExportResult

from exporters.clickhouse import ClickHouseMetricExporter, ClickHouseWriter, SchemaOptions, connect
from exporters.delivery import DeliveryOptions, DeliveryQueue, ReconnectingWriter, RetryPolicy
from exporters.otlp import OtlpPushOptions, create_push_exporter, encode_metrics_data
from omni_core.otlp_decode import decode_request
from omni_core.admission import Admission
from omni_core.sink import WriteOutcome, WriteResult


FAST_RETRY = RetryPolicy(initial_interval_s=0.01, max_interval_s=0.05, multiplier=1.5, jitter=0.5)
#: Long enough that a failing batch is reliably still waiting when the test looks.
SLOW_RETRY = RetryPolicy(initial_interval_s=60.0, max_interval_s=60.0)


class _SwitchableStore:
    """Writes to whatever DSN ``target`` names now: an unreachable server first, chDB after restore."""

    def __init__(self, down_dsn: str, store) -> None:
        self.target = down_dsn
        self._store = store
        self.writer = ReconnectingWriter(lambda: ClickHouseWriter(connect(self.target), store.options))

    def restore(self) -> None:
        self.target = self._store.dsn


def _dropped(registry, reason: str, sink: str = "clickhouse") -> float:
    return registry.get_sample_value("omni_exporter_samples_dropped_total", {"sink": sink, "reason": reason}) or 0.0


def _retried(registry, sink: str = "clickhouse") -> float:
    return registry.get_sample_value("omni_exporter_batches_retried_total", {"sink": sink}) or 0.0


def _stored_batches(store) -> list[str]:
    table = f"{store.options.database}.otel_metrics_gauge"
    return [row[0] for row in store.client.query(f"SELECT DISTINCT Attributes['batch'] AS b FROM {table} ORDER BY b").result_rows]


def test_queued_batches_are_merged_into_one_insert(chdb_store, make_gauge_batch, self_metrics, registry):
    queue = DeliveryQueue(chdb_store.writer(), DeliveryOptions(retry=FAST_RETRY, batch_max_age_s=3600),
                          metrics=self_metrics)
    try:
        for i in range(4):
            assert queue.export(make_gauge_batch(25, batch=i)) is MetricExportResult.SUCCESS
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    assert chdb_store.rows() == 100
    assert _stored_batches(chdb_store) == ["0", "1", "2", "3"]
    assert registry.get_sample_value("omni_exporter_batches_written_total", {"sink": "clickhouse"}) == 1
    assert registry.get_sample_value("omni_exporter_samples_written_total", {"sink": "clickhouse"}) == 100


def test_sdk_exporter_sink_is_driven_through_export(chdb_store, make_gauge_batch, self_metrics):
    queue = DeliveryQueue(ClickHouseMetricExporter(chdb_store.writer()), DeliveryOptions(batch_max_age_s=0, retry=FAST_RETRY), metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(7))
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    assert chdb_store.rows() == 7


def test_outage_batches_wait_then_arrive_exactly_once(chdb_store, refused_dsn, make_gauge_batch, self_metrics,
                                                      registry, wait_for):
    sink = _SwitchableStore(refused_dsn, chdb_store)
    queue = DeliveryQueue(sink.writer, DeliveryOptions(batch_max_age_s=0, retry=FAST_RETRY), metrics=self_metrics)
    try:
        for i in range(5):
            queue.export(make_gauge_batch(10, batch=i))
        wait_for(lambda: _retried(registry) >= 3, what="failed attempts against the refused port")
        assert not queue.sink_available
        assert queue.status().pending_points == 50
        assert chdb_store.rows() == 0
        sink.restore()
        assert queue.force_flush(20_000)
        assert queue.sink_available
    finally:
        queue.shutdown()
    assert chdb_store.rows() == 50
    assert _stored_batches(chdb_store) == ["0", "1", "2", "3", "4"]


def test_outage_overflow_spools_to_disk_then_arrives_exactly_once(chdb_store, refused_dsn, make_gauge_batch, tmp_path,
                                                                  self_metrics, registry, wait_for):
    spool_dir = tmp_path / "spool"
    sink = _SwitchableStore(refused_dsn, chdb_store)
    options = DeliveryOptions(batch_max_age_s=0, max_memory_points=10, spool_dir=spool_dir, retry=FAST_RETRY)
    queue = DeliveryQueue(sink.writer, options, metrics=self_metrics)
    try:
        for i in range(6):
            queue.export(make_gauge_batch(10, batch=i))
        # Evicted batches and the failing one are all on disk; memory keeps at most the bound.
        wait_for(lambda: len(list(spool_dir.glob("*.otlp"))) >= 5, what="spooled files")
        assert queue.status().memory_points <= 10
        assert registry.get_sample_value("omni_exporter_batches_spooled_total", {"sink": "clickhouse"}) >= 5
        sink.restore()
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    assert chdb_store.rows() == 60
    assert _stored_batches(chdb_store) == [str(i) for i in range(6)]
    assert list(spool_dir.glob("*.otlp")) == []
    assert _dropped(registry, "queue_full") == 0 and _dropped(registry, "spool_full") == 0


def test_memory_bound_without_spool_drops_oldest_and_counts_their_samples(chdb_store, refused_dsn, make_gauge_batch,
                                                                           self_metrics, registry, wait_for):
    sink = _SwitchableStore(refused_dsn, chdb_store)
    queue = DeliveryQueue(sink.writer, DeliveryOptions(batch_max_age_s=0, max_memory_points=25, retry=SLOW_RETRY), metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(10, batch=0))
        wait_for(lambda: _retried(registry) >= 1, what="batch 0 failing")
        # Batch 0 is in flight (never evicted); 10 + 4 * 10 points against a bound of 25.
        for i in range(1, 5):
            queue.export(make_gauge_batch(10, batch=i))
        assert _dropped(registry, "queue_full") == 30
        assert queue.status().memory_points == 20
        sink.restore()
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    assert _stored_batches(chdb_store) == ["0", "4"]
    assert chdb_store.rows() == 20


def test_spool_bound_drops_oldest_spooled_batches(chdb_store, refused_dsn, make_gauge_batch, tmp_path, self_metrics,
                                                  registry, wait_for):
    spool_dir = tmp_path / "spool"
    sink = _SwitchableStore(refused_dsn, chdb_store)
    one_batch = len(encode_metrics_data(make_gauge_batch(10, batch=1)).SerializeToString())
    options = DeliveryOptions(batch_max_age_s=0, max_memory_points=1, spool_dir=spool_dir, max_spool_bytes=3 * one_batch + one_batch // 2,
                              retry=SLOW_RETRY)
    queue = DeliveryQueue(sink.writer, options, metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(10, batch=0))
        wait_for(lambda: _retried(registry) >= 1, what="batch 0 failing")
        for i in range(1, 6):
            queue.export(make_gauge_batch(10, batch=i))
        # In flight: 0. Room on disk for three batches: 0 (kept, in flight) and the newest two.
        assert _dropped(registry, "spool_full") == 30
        sink.restore()
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    assert _stored_batches(chdb_store) == ["0", "4", "5"]


def test_retry_after_an_ambiguous_failure_stores_the_batch_once(chdb_store, make_gauge_batch, self_metrics, reorder):
    class LandsThenLosesTheAnswer:
        """The first write reaches ClickHouse, but the caller sees a connection failure."""

        def __init__(self, writer: ClickHouseWriter) -> None:
            self.writer = writer
            self.calls = 0

        def write_batch(self, metrics_data, *, insert_token):
            self.calls += 1
            if self.calls == 1:
                self.writer.write(metrics_data, insert_token=insert_token)
                return WriteResult(WriteOutcome.RETRY, "connection reset while reading the answer")
            # Same rows in another order: ClickHouse's content hash differs, so only the
            # token can recognise the retry (no token, or a new one, stores the rows twice).
            return self.writer.write_batch(reorder(metrics_data), insert_token=insert_token)

    sink = LandsThenLosesTheAnswer(chdb_store.writer())
    queue = DeliveryQueue(sink, DeliveryOptions(batch_max_age_s=0, retry=FAST_RETRY), metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(12))
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    assert sink.calls == 2
    assert chdb_store.rows() == 12


def test_without_a_token_the_same_batch_would_be_stored_twice(chdb_store, make_gauge_batch):
    """Control for the test above: it is the token, not luck, that keeps the retry from doubling rows."""
    writer = chdb_store.writer()
    writer.write(make_gauge_batch(12), insert_token="a")
    writer.write(make_gauge_batch(12), insert_token="b")
    assert chdb_store.rows() == 24


def test_a_store_without_the_tables_is_retried_not_dropped(chdb_store, make_gauge_batch, self_metrics,
                                                           registry, wait_for):
    # A setup error (the database does not exist): fixing the server makes the batch storable.
    missing = ClickHouseWriter(chdb_store.client, SchemaOptions(database="no_such_database"))
    queue = DeliveryQueue(missing, DeliveryOptions(batch_max_age_s=0, retry=FAST_RETRY), metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(9))
        wait_for(lambda: _retried(registry) >= 3, what="repeated attempts")
        assert queue.status().pending_points == 9
        assert not queue.sink_available
    finally:
        queue.shutdown(timeout_millis=50)
    assert _dropped(registry, "refused") == 0 and _dropped(registry, "quarantined") == 0
    assert _dropped(registry, "shutdown") == 9


def test_shutdown_spools_the_rest_and_the_next_queue_delivers_it(chdb_store, refused_dsn, make_gauge_batch, tmp_path,
                                                                 self_metrics, wait_for, registry):
    spool_dir = tmp_path / "spool"
    sink = _SwitchableStore(refused_dsn, chdb_store)
    queue = DeliveryQueue(sink.writer, DeliveryOptions(batch_max_age_s=0, spool_dir=spool_dir, retry=SLOW_RETRY), metrics=self_metrics)
    for i in range(3):
        queue.export(make_gauge_batch(10, batch=i))
    wait_for(lambda: _retried(registry) >= 1, what="a failed attempt")
    queue.shutdown(timeout_millis=100)
    assert queue.export(make_gauge_batch(1)) is MetricExportResult.FAILURE
    assert sum(int(path.name.split("-")[1]) for path in spool_dir.glob("*.otlp")) == 30

    replay = DeliveryQueue(chdb_store.writer(), DeliveryOptions(batch_max_age_s=0, spool_dir=spool_dir, retry=FAST_RETRY),
                           metrics=self_metrics)
    try:
        assert replay.force_flush(20_000)
    finally:
        replay.shutdown()
    assert _stored_batches(chdb_store) == ["0", "1", "2"]
    assert chdb_store.rows() == 30
    assert list(spool_dir.glob("*.otlp")) == []


def test_shutdown_without_spool_counts_what_it_could_not_deliver(refused_dsn, chdb_store, make_gauge_batch,
                                                                 self_metrics, registry, wait_for):
    sink = _SwitchableStore(refused_dsn, chdb_store)
    queue = DeliveryQueue(sink.writer, DeliveryOptions(batch_max_age_s=0, retry=SLOW_RETRY), metrics=self_metrics)
    queue.export(make_gauge_batch(4, batch=0))
    queue.export(make_gauge_batch(6, batch=1))
    wait_for(lambda: _retried(registry) >= 1, what="a failed attempt")
    queue.shutdown(timeout_millis=50)
    assert _dropped(registry, "shutdown") == 10


def test_queue_depth_is_published_per_place(chdb_store, refused_dsn, make_gauge_batch, tmp_path, self_metrics,
                                            registry, wait_for):
    sink = _SwitchableStore(refused_dsn, chdb_store)
    options = DeliveryOptions(batch_max_age_s=0, max_memory_points=15, spool_dir=tmp_path / "spool", retry=SLOW_RETRY)
    queue = DeliveryQueue(sink.writer, options, metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(10, batch=0))
        wait_for(lambda: _retried(registry) >= 1, what="batch 0 failing and spooled")
        for i in range(1, 4):
            queue.export(make_gauge_batch(10, batch=i))
        # While the sink fails, what arrives is moved to disk: a crash now loses nothing.
        wait_for(lambda: queue.status().memory_points == 0, what="memory moved to the spool")
        status = queue.status()

        def depth(where: str) -> float:
            return registry.get_sample_value("omni_exporter_queue_samples", {"sink": "clickhouse", "where": where})

        assert (depth("memory"), depth("spool")) == (status.memory_points, status.spool_points) == (0, 40)
    finally:
        queue.shutdown(timeout_millis=50)


def test_offer_refuses_when_full_instead_of_dropping(chdb_store, refused_dsn, make_gauge_batch, self_metrics,
                                                     registry, wait_for):
    sink = _SwitchableStore(refused_dsn, chdb_store)
    queue = DeliveryQueue(sink.writer, DeliveryOptions(batch_max_age_s=0, max_memory_points=20, retry=SLOW_RETRY), metrics=self_metrics)
    try:
        assert queue.offer(make_gauge_batch(10, batch=0)).accepted
        wait_for(lambda: _retried(registry) >= 1, what="batch 0 failing")
        assert queue.offer(make_gauge_batch(10, batch=1)).admission is Admission.QUEUED
        refused = queue.offer(make_gauge_batch(10, batch=2))
        assert refused.admission is Admission.UNAVAILABLE and refused.retry_after_s is not None
        assert _dropped(registry, "queue_full") == 0
        sink.restore()
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    assert _stored_batches(chdb_store) == ["0", "1"]


def test_push_exporter_sink_is_retried_until_the_receiver_accepts(make_gauge_batch, self_metrics, as_comparable):
    accepted: list[ExportMetricsServiceRequest] = []
    answers = iter([503, 503])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = next(answers, 200)
            if status == 200:
                accepted.append(ExportMetricsServiceRequest.FromString(body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    push = create_push_exporter(OtlpPushOptions(endpoint=f"http://127.0.0.1:{server.server_address[1]}",
                                                compression="none", timeout_s=0.2))
    queue = DeliveryQueue(push, DeliveryOptions(batch_max_age_s=0, name="otlp", retry=FAST_RETRY), metrics=self_metrics)
    batch = make_gauge_batch(5)
    try:
        queue.export(batch)
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
        server.shutdown()
        server.server_close()
    assert len(accepted) == 1
    assert as_comparable(decode_request(accepted[0])) == as_comparable(batch)


@pytest.mark.parametrize("attempt, low, high", [(0, 0.5, 1.5), (1, 0.75, 2.25), (3, 1.6875, 5.0625), (20, 5.0, 15.0)])
def test_backoff_grows_by_the_multiplier_within_jitter_and_caps(attempt, low, high):
    policy = RetryPolicy(initial_interval_s=1.0, max_interval_s=10.0, multiplier=1.5, jitter=0.5)
    rng = random.Random(7)
    delays = [policy.delay_s(attempt, rng) for _ in range(200)]
    assert all(low <= d <= high for d in delays)
    assert max(delays) - min(delays) > (high - low) / 4  # jitter actually spreads the waits


def test_default_backoff_matches_the_collector_defaults():
    policy = RetryPolicy()
    assert (policy.initial_interval_s, policy.max_interval_s, policy.multiplier) == (5.0, 30.0, 1.5)
