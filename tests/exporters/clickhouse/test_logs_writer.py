"""SDK log records -> otel_logs on real chDB: exact body, severity, trace ids, attributes.

The records are made by the real SDK (LoggerProvider, Logger.emit inside a span context) and
collected exactly as an ``OTLPLogExporter`` receives them (``Sequence[ReadableLogRecord]``);
the ids expected in the table are read from the SDK's own OTLP encoding of the same batch.
"""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from exporters.clickhouse import ClickHouseLogExporter, ClickHouseLogWriter, qualified_logs
from omni_core.errors import StorageError

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
SPAN_ID = 0x00F067AA0BA902B7
T_EVENT = 1_764_400_000_123_456_789
T_OBSERVED = 1_764_400_001_000_000_001
RESOURCE = Resource(
    {"service.name": "virt-controller", "k8s.namespace.name": "kubevirt", "k8s.pod.name": "virt-controller-7d9"},
    "https://opentelemetry.io/schemas/1.26.0",
)


def emit_batch(processor_exporter) -> LoggerProvider:
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(processor_exporter))
    logger = provider.get_logger("omni.platform", "1.4.0", "https://opentelemetry.io/schemas/1.26.0",
                                 attributes={"component": "events"})
    span = NonRecordingSpan(SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)))
    with trace.use_span(span):
        logger.emit(
            timestamp=T_EVENT,
            observed_timestamp=T_OBSERVED,
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            body="VMI web-01 failed to start: unschedulable",
            attributes={"k8s.event.reason": "FailedScheduling", "k8s.event.count": 3, "retry": True,
                        "nodes": ["worker-1", "worker-2"]},
        )
    # No span, no event time: the exporter stores the observed time and empty ids.
    logger.emit(
        observed_timestamp=T_OBSERVED + 5,
        severity_number=SeverityNumber.INFO,
        severity_text="INFO",
        body={"pool": "pool-1", "state": "degraded"},
    )
    return provider


@pytest.fixture
def sdk_batch():
    captured = InMemoryLogRecordExporter()
    emit_batch(captured).shutdown()
    batch = captured.get_finished_logs()
    assert len(batch) == 2
    return batch


def rows(store):
    table = qualified_logs(store.options)
    return store.client.query(
        "SELECT Timestamp, TimestampTime, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, "
        "Body, ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, "
        f"LogAttributes, toUnixTimestamp64Nano(Timestamp) FROM {table} ORDER BY Timestamp"
    ).result_rows


def test_sdk_log_records_land_exactly_as_the_otlp_exporter_would_send_them(chdb_store, sdk_batch):
    wire = encode_logs(sdk_batch).resource_logs[0].scope_logs[0].log_records
    report = ClickHouseLogWriter(chdb_store.client, chdb_store.options).write(sdk_batch)
    assert report.total == 2

    warn, info = rows(chdb_store)
    assert warn[16] == wire[0].time_unix_nano == T_EVENT  # nanoseconds survive
    assert warn[1].timestamp() == T_EVENT // 1_000_000_000  # TimestampTime computed by the table
    assert (warn[2], warn[3]) == (wire[0].trace_id.hex(), wire[0].span_id.hex())
    assert warn[2] == "4bf92f3577b34da6a3ce929d0e0e4736" and warn[3] == "00f067aa0ba902b7"
    assert warn[4] == wire[0].flags == 1
    assert (warn[5], warn[6]) == ("WARN", 13)
    assert warn[7] == "virt-controller"
    assert warn[8] == "VMI web-01 failed to start: unschedulable"
    assert warn[9] == "https://opentelemetry.io/schemas/1.26.0"
    assert warn[10] == {"k8s.namespace.name": "kubevirt", "k8s.pod.name": "virt-controller-7d9",
                        "service.name": "virt-controller"}
    assert (warn[11], warn[12], warn[13], warn[14]) == (
        "https://opentelemetry.io/schemas/1.26.0", "omni.platform", "1.4.0", {"component": "events"})
    assert warn[15] == {"k8s.event.count": "3", "k8s.event.reason": "FailedScheduling",
                        "nodes": '["worker-1","worker-2"]', "retry": "true"}

    assert info[16] == wire[1].observed_time_unix_nano == T_OBSERVED + 5  # no event time: observed time
    assert (info[2], info[3], info[4]) == ("", "", 0)
    assert (info[5], info[6]) == ("INFO", 9)
    assert info[8] == '{"pool":"pool-1","state":"degraded"}'
    assert info[15] == {}


def test_a_batch_retried_with_its_insert_token_is_stored_once(chdb_store, sdk_batch):
    writer = ClickHouseLogWriter(chdb_store.client, chdb_store.options)
    writer.write(sdk_batch, insert_token="batch-1")
    writer.write(sdk_batch, insert_token="batch-1")
    assert len(rows(chdb_store)) == 2
    writer.write(sdk_batch, insert_token="batch-2")
    assert len(rows(chdb_store)) == 4


def test_an_sdk_logger_provider_writes_through_the_log_exporter(chdb_store):
    writer = ClickHouseLogWriter(chdb_store.client, chdb_store.options)
    emit_batch(ClickHouseLogExporter(writer)).shutdown()
    stored = rows(chdb_store)
    assert [(r[5], r[8][:9]) for r in stored] == [("WARN", "VMI web-0"), ("INFO", '{"pool":"')]


def test_a_record_without_the_sdk_shape_is_refused_and_nothing_is_stored(chdb_store, sdk_batch):
    writer = ClickHouseLogWriter(chdb_store.client, chdb_store.options)
    with pytest.raises(StorageError, match="malformed"):
        writer.write([*sdk_batch, object()])
    assert rows(chdb_store) == []
