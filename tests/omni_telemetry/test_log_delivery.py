"""Log records reach otel_logs in batches through outages, once each, and what cannot be
stored is counted, never silently lost."""

from __future__ import annotations

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from prometheus_client import CollectorRegistry

from exporters.clickhouse import ClickHouseLogWriter, SchemaOptions, apply_schema, connect, qualified_logs
from omni_core.errors import StorageError, StorageUnavailable
from omni_telemetry._log_delivery import LogDelivery

OPTIONS = SchemaOptions(database="logs_test")


def records(n: int, start: int = 0) -> list[ReadableLogRecord]:
    return [
        ReadableLogRecord(
            LogRecord(timestamp=1_764_424_999_000_000_000 + i, observed_timestamp=1, severity_number=SeverityNumber.WARN,
                      severity_text="WARN", body=f"event {i}", attributes={"n": i}),
            Resource({"service.name": "kubelet"}),
            InstrumentationScope("test"),
        )
        for i in range(start, start + n)
    ]


def store(tmp_path):
    client = connect(f"chdb://{tmp_path / 'db'}")
    apply_schema(client, OPTIONS)
    return client


def bodies(client) -> list[str]:
    return [b for (b,) in client.query(f"SELECT Body FROM {qualified_logs(OPTIONS)} ORDER BY Timestamp").result_rows]


def test_records_wait_out_an_outage_and_are_stored_once_with_the_same_token(tmp_path):
    client = store(tmp_path)
    real = ClickHouseLogWriter(client, OPTIONS)
    attempts: list[tuple[int, str | None]] = []

    class AmbiguousOnce:
        """Stores the batch, then loses the answer the first time (the retry must not duplicate)."""

        def write(self, batch, *, insert_token=None):
            attempts.append((len(batch), insert_token))
            real.write(batch, insert_token=insert_token)
            if len(attempts) == 1:
                raise StorageUnavailable("connection reset after the insert was sent")

    opened = []

    def open_writer():
        opened.append(1)
        if len(opened) == 1:
            raise StorageUnavailable("ClickHouse is unreachable")
        return AmbiguousOnce()

    registry = CollectorRegistry()
    delivery = LogDelivery(open_writer, flush_interval_s=0.05, retry_initial_s=0.05, retry_max_s=0.1, registry=registry)
    delivery(records(5))
    delivery.start()
    assert delivery.stop(timeout_s=30)

    assert bodies(client) == [f"event {i}" for i in range(5)]
    assert [n for n, _ in attempts] == [5, 5] and attempts[0][1] == attempts[1][1]  # one batch, one token
    assert len(opened) == 3  # the outage, then a fresh writer after the ambiguous failure
    assert registry.get_sample_value("omni_log_records_written_total") == 5
    assert registry.get_sample_value("omni_log_records_dropped_total") == 0


def test_a_batch_the_store_refuses_is_dropped_and_counted_and_later_ones_still_arrive(tmp_path):
    client = store(tmp_path)
    real = ClickHouseLogWriter(client, OPTIONS)
    calls = []

    class RefusesFirst:
        def write(self, batch, *, insert_token=None):
            calls.append(len(batch))
            if len(calls) == 1:
                raise StorageError("Code: 27. Cannot parse input")
            real.write(batch, insert_token=insert_token)

    delivery = LogDelivery(lambda: RefusesFirst(), max_batch=3, flush_interval_s=0.05)
    delivery(records(3))
    delivery(records(2, start=3))
    delivery.start()
    assert delivery.stop(timeout_s=30)
    assert calls == [3, 2]
    assert bodies(client) == ["event 3", "event 4"]
    assert (delivery.written, delivery.dropped) == (2, 3)


def test_beyond_max_records_the_oldest_are_dropped_and_stop_reports_what_is_left():
    def unreachable():
        raise StorageUnavailable("ClickHouse is unreachable")

    delivery = LogDelivery(unreachable, max_records=4, retry_initial_s=0.05)
    delivery(records(3))
    delivery(records(3, start=3))
    assert delivery.dropped == 2
    delivery.start()
    assert delivery.stop(timeout_s=0.5) is False  # the store never came back: four records left, reported
    assert delivery.written == 0
