"""A batch the store refuses as data is set aside at once and holds nothing back; a full
disk (NOT_ENOUGH_SPACE) is an outage to wait out, not a refusal."""

from __future__ import annotations

import logging

from clickhouse_connect.driver.exceptions import DatabaseError

from exporters.clickhouse import ClickHouseWriter
from exporters.delivery import DeliveryOptions, DeliveryQueue, RetryPolicy
from omni_core.sink import WriteOutcome

FAST_RETRY = RetryPolicy(initial_interval_s=0.01, max_interval_s=0.05)
AFTER_2262_NS = 2**63 + 1_000


def _stored_batches(store) -> list[str]:
    table = f"{store.options.database}.otel_metrics_gauge"
    return [row[0] for row in store.client.query(f"SELECT DISTINCT Attributes['batch'] AS b FROM {table} ORDER BY b").result_rows]


def test_a_batch_refused_as_data_is_quarantined_and_the_rest_is_stored(chdb_store, recording_sink, make_gauge_batch,
                                                                        tmp_path, self_metrics, registry):
    spool_dir = tmp_path / "spool"
    sink = recording_sink(store=chdb_store.writer())
    queue = DeliveryQueue(sink, DeliveryOptions(spool_dir=spool_dir, batch_max_age_s=3600, retry=FAST_RETRY),
                          metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(10, batch=0))
        queue.export(make_gauge_batch(4, batch=1, time_ns=AFTER_2262_NS))
        queue.export(make_gauge_batch(10, batch=2))
        assert queue.force_flush(20_000)  # not stalled behind the bad batch
    finally:
        queue.shutdown()
    assert _stored_batches(chdb_store) == ["0", "2"]
    # One merged attempt, refused; then each batch alone, once: the bad one is never retried.
    assert [points for _, points in sink.calls] == [24, 10, 4, 10]
    quarantined = list((spool_dir / "quarantine").glob("*.otlp"))
    assert len(quarantined) == 1 and quarantined[0].name.endswith("-4.otlp")
    assert registry.get_sample_value("omni_exporter_samples_dropped_total",
                                     {"sink": "clickhouse", "reason": "quarantined"}) == 4
    assert list(spool_dir.glob("*.otlp")) == []


def test_without_a_spool_a_batch_refused_as_data_is_dropped_and_counted(chdb_store, make_gauge_batch, self_metrics,
                                                                         registry):
    queue = DeliveryQueue(chdb_store.writer(), DeliveryOptions(batch_max_age_s=0, retry=FAST_RETRY),
                          metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(4, batch=1, time_ns=AFTER_2262_NS))
        assert queue.force_flush(20_000)
        queue.export(make_gauge_batch(6, batch=2))
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    assert _stored_batches(chdb_store) == ["2"]
    assert registry.get_sample_value("omni_exporter_samples_dropped_total",
                                     {"sink": "clickhouse", "reason": "refused"}) == 4


class _DiskFullClient:
    """The real chDB client, except that inserts fail as a server with a full disk answers."""

    def __init__(self, client) -> None:
        self._client = client
        self.full = True
        self.refused_inserts = 0

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def _refuse_while_full(self) -> None:
        if self.full:
            self.refused_inserts += 1
            raise DatabaseError(
                "Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)",
                code=243, name="NOT_ENOUGH_SPACE",
            )

    # Both insert paths of the writer: column-oriented (``insert``) and pre-encoded Native blocks.
    def insert(self, *args, **kwargs):
        self._refuse_while_full()
        return self._client.insert(*args, **kwargs)

    def raw_insert(self, *args, **kwargs):
        self._refuse_while_full()
        return self._client.raw_insert(*args, **kwargs)


def test_a_full_disk_is_waited_out_and_nothing_is_dropped(chdb_store, make_gauge_batch, self_metrics, registry,
                                                          wait_for, caplog):
    client = _DiskFullClient(chdb_store.client)
    queue = DeliveryQueue(ClickHouseWriter(client, chdb_store.options),
                          DeliveryOptions(batch_max_age_s=0, retry=FAST_RETRY), metrics=self_metrics)
    try:
        with caplog.at_level(logging.WARNING, logger="exporters.delivery"):
            for i in range(3):
                queue.export(make_gauge_batch(10, batch=i))
            wait_for(lambda: client.refused_inserts >= 6, what="repeated attempts against the full disk")
        assert not queue.sink_available
        assert queue.status().pending_points == 30
        assert any(r.levelno == logging.WARNING and "NOT_ENOUGH_SPACE" in r.getMessage() for r in caplog.records)
        client.full = False
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    assert chdb_store.rows() == 30
    for reason in ("refused", "quarantined", "queue_full"):
        assert registry.get_sample_value("omni_exporter_samples_dropped_total",
                                         {"sink": "clickhouse", "reason": reason}) is None


def test_the_writer_answers_retry_for_a_full_disk(chdb_store, make_gauge_batch):
    client = _DiskFullClient(chdb_store.client)
    result = ClickHouseWriter(client, chdb_store.options).write_batch(make_gauge_batch(3), insert_token="t")
    assert result.outcome is WriteOutcome.RETRY and "disk" in result.detail


def test_the_writer_refuses_a_timestamp_after_2262_before_writing_any_table(chdb_store, metrics_data,
                                                                            make_gauge_batch):
    bad = make_gauge_batch(2, time_ns=AFTER_2262_NS)
    mixed = type(metrics_data)(list(metrics_data.resource_metrics) + list(bad.resource_metrics))
    result = chdb_store.writer().write_batch(mixed, insert_token="t")
    assert result.outcome is WriteOutcome.REFUSED and "TimeUnix" in result.detail
    assert chdb_store.all_rows() == 0
