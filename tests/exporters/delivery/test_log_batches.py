"""The delivery queue carrying log record batches: one insert token per batch across retries, a
spooled batch read back with every field, merged groups, refusals set aside."""

from __future__ import annotations

from pathlib import Path

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import TraceFlags

from exporters.clickhouse import ClickHouseLogWriter, SchemaOptions, apply_schema, connect, qualified_logs
from exporters.delivery import LOG_BATCHES, DeliveryOptions, DeliveryQueue, RetryPolicy
from omni_core.admission import Admission
from omni_core.sink import STORED, WriteOutcome, WriteResult

FAST = RetryPolicy(initial_interval_s=0.01, max_interval_s=0.02, jitter=0)
COLUMNS = ("Body", "SeverityText", "SeverityNumber", "TraceId", "SpanId", "TraceFlags", "ServiceName",
           "ResourceAttributes", "ScopeName", "ScopeVersion", "LogAttributes", "Timestamp")


def log_batch(n: int, start: int = 0) -> list[ReadableLogRecord]:
    resource = Resource({"service.name": "billing", "host.name": "node-7"})
    scope = InstrumentationScope("billing.jobs", "0.9")
    out = []
    for i in range(start, start + n):
        record = LogRecord(timestamp=1_764_425_000_000_000_000 + i, observed_timestamp=1_764_425_100_000_000_000,
                           severity_number=SeverityNumber.WARN, severity_text="WARN", body=f"job {i} slow",
                           attributes={"job.id": i, "tags": ("a", "b")})
        record.trace_id, record.span_id, record.trace_flags = 0xABC0 + i, 0x1230 + i, TraceFlags(1)
        out.append(ReadableLogRecord(record, resource, scope))
    return out


def store(tmp_path: Path):
    client = connect(f"chdb://{tmp_path / 'db'}")
    apply_schema(client, SchemaOptions())
    return client


def stored(client, options: SchemaOptions = SchemaOptions()) -> list[tuple]:
    return client.query(f"SELECT {', '.join(COLUMNS)} FROM {qualified_logs(options)} "
                        "ORDER BY Timestamp").result_rows


class AmbiguousFirst:
    """Stores every attempt in the real writer, but answers RETRY to the first (its answer was lost)."""

    def __init__(self, writer: ClickHouseLogWriter) -> None:
        self.writer = writer
        self.calls: list[tuple[str, int]] = []

    def write_batch(self, records, *, insert_token: str) -> WriteResult:
        self.calls.append((insert_token, len(records)))
        result = self.writer.write_batch(records, insert_token=insert_token)
        if len(self.calls) == 1:
            return WriteResult(WriteOutcome.RETRY, "connection reset after the insert was sent")
        return result


def test_a_log_batch_retried_after_an_ambiguous_failure_keeps_its_token_and_is_stored_once(tmp_path):
    client = store(tmp_path)
    sink = AmbiguousFirst(ClickHouseLogWriter(client, SchemaOptions()))
    queue = DeliveryQueue(sink, DeliveryOptions(name="logs", retry=FAST, batch_max_age_s=0), kind=LOG_BATCHES)
    try:
        assert queue.offer(log_batch(3)).admission is Admission.QUEUED
        assert queue.force_flush(10_000)
    finally:
        queue.shutdown(timeout_millis=5_000)
    assert len(sink.calls) == 2
    assert sink.calls[0] == sink.calls[1] and sink.calls[0][1] == 3
    assert [row[0] for row in stored(client)] == ["job 0 slow", "job 1 slow", "job 2 slow"]


def test_a_spooled_log_batch_is_replayed_by_the_next_process_with_every_field(tmp_path):
    spool = tmp_path / "spool"

    class Down:
        def write_batch(self, records, *, insert_token: str) -> WriteResult:
            return WriteResult(WriteOutcome.RETRY, "store down")

    first = DeliveryQueue(Down(), DeliveryOptions(name="logs", spool_dir=spool, retry=FAST), kind=LOG_BATCHES)
    assert first.offer(log_batch(2), durable=True, timeout_s=5).admission is Admission.SPOOLED
    first.shutdown(timeout_millis=200)
    assert len(list(spool.glob("*.otlp"))) == 1

    client = store(tmp_path)
    reference = SchemaOptions(database="reference")  # the same records written directly, to compare with
    apply_schema(client, reference)
    ClickHouseLogWriter(client, reference).write(log_batch(2))

    second = DeliveryQueue(ClickHouseLogWriter(client, SchemaOptions()),
                           DeliveryOptions(name="logs", spool_dir=spool, retry=FAST), kind=LOG_BATCHES)
    try:
        assert second.force_flush(10_000)
    finally:
        second.shutdown(timeout_millis=5_000)
    replayed = stored(client)
    assert len(replayed) == 2
    assert replayed == stored(client, reference)
    assert not list(spool.glob("*.otlp"))


def test_queued_log_batches_are_merged_into_one_insert_of_all_their_records(tmp_path):
    calls: list[tuple[str, int]] = []

    class Recording:
        def write_batch(self, records, *, insert_token: str) -> WriteResult:
            calls.append((insert_token, len(records)))
            return STORED

    queue = DeliveryQueue(Recording(), DeliveryOptions(name="logs", batch_max_age_s=60), kind=LOG_BATCHES)
    try:
        for start in (0, 5, 10):
            queue.offer(log_batch(5, start))
        assert queue.status().memory_points == 15
        assert queue.force_flush(10_000)
    finally:
        queue.shutdown(timeout_millis=5_000)
    assert [n for _, n in calls] == [15]


def test_a_log_batch_refused_as_data_is_quarantined_not_retried(tmp_path):
    calls: list[str] = []

    class Refusing:
        def write_batch(self, records, *, insert_token: str) -> WriteResult:
            calls.append(insert_token)
            return WriteResult(WriteOutcome.REFUSED, "value out of range")

    spool = tmp_path / "spool"
    queue = DeliveryQueue(Refusing(), DeliveryOptions(name="logs", spool_dir=spool, retry=FAST, batch_max_age_s=0),
                          kind=LOG_BATCHES)
    try:
        queue.offer(log_batch(1))
        assert queue.force_flush(10_000)
    finally:
        queue.shutdown(timeout_millis=5_000)
    assert len(calls) == 1
    [quarantined] = list((spool / "quarantine").iterdir())
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    request = ExportLogsServiceRequest.FromString(quarantined.read_bytes())
    assert request.resource_logs[0].scope_logs[0].log_records[0].body.string_value == "job 0 slow"
