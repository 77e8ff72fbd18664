"""``POST /v1/logs``: the SDK's OTLP log exporter, OTLP/JSON and gzip land in otel_logs field for field;
bad requests are answered exactly as on ``/v1/metrics``; an unstorable record is a partial success."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context
from prometheus_client import CollectorRegistry

from collectors.otlp_receiver import IngestOptions, create_ingest_app
from exporters.clickhouse import ClickHouseLogWriter, SchemaOptions, apply_schema, connect, qualified_logs
from exporters.delivery import LOG_BATCHES, DeliveryOptions, DeliveryQueue, RetryPolicy
from omni_core.sink import WriteOutcome, WriteResult

TOKEN = "l0gs-t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TRACE_ID = 0x5B8EFFF798038103D269B633813FC60C
SPAN_ID = 0xEEE19B7EC3C1B174
ROW = ("Timestamp", "TraceId", "SpanId", "TraceFlags", "SeverityText", "SeverityNumber", "ServiceName", "Body",
       "ResourceAttributes", "ScopeName", "ScopeVersion", "ScopeAttributes", "LogAttributes")


@pytest.fixture
def logs_store(tmp_path: Path):
    client = connect(f"chdb://{tmp_path / 'store'}")
    apply_schema(client, SchemaOptions())
    return client


@pytest.fixture
def receiver(serve, logs_store, tmp_path: Path):
    """The app with a logs queue (spooled, durable answers) in front of the real log writer, served on 127.0.0.1."""
    queue = DeliveryQueue(ClickHouseLogWriter(logs_store, SchemaOptions()),
                          DeliveryOptions(name="ingest-logs", spool_dir=tmp_path / "spool", batch_max_age_s=0.05),
                          kind=LOG_BATCHES, metrics=None)
    options = IngestOptions(bearer_token=TOKEN, durable_ack=True, max_body_bytes=4096, max_request_points=1000)
    registry = CollectorRegistry()
    url = serve(create_ingest_app(_NoMetrics(), options, registry=registry, logs_sink=queue))
    yield url, queue, registry
    queue.shutdown(timeout_millis=10_000)


class _NoMetrics:
    """A metrics sink these tests never reach (every request here goes to /v1/logs)."""

    def offer(self, metrics_data, *, durable=False, timeout_s=10.0):
        raise AssertionError("a logs request reached the metrics sink")


def rows(client) -> list[dict]:
    result = client.query(f"SELECT {', '.join(ROW)} FROM {qualified_logs(SchemaOptions())} ORDER BY Timestamp")
    return [dict(zip(ROW, row)) for row in result.result_rows]


def test_sdk_log_exporter_records_are_stored_with_every_field(receiver, logs_store):
    url, queue, registry = receiver
    exporter = OTLPLogExporter(endpoint=f"{url}/v1/logs", headers=AUTH)
    provider = LoggerProvider(resource=Resource({"service.name": "checkout", "k8s.namespace.name": "shop"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("shop.payments", "1.2.3", attributes={"team": "payments"})
    span = set_span_in_context(NonRecordingSpan(SpanContext(TRACE_ID, SPAN_ID, False, TraceFlags(1))))
    logger.emit(timestamp=1_764_425_000_123_456_789, observed_timestamp=1_764_425_000_200_000_000, context=span,
                severity_number=SeverityNumber.ERROR, severity_text="ERROR", body="card declined",
                attributes={"order.id": 4711, "retryable": False})
    logger.emit(timestamp=1_764_425_001_000_000_000, severity_number=SeverityNumber.INFO2, severity_text="info",
                body={"event": "paid", "amount": 12.5})
    provider.shutdown()
    assert queue.force_flush(10_000)

    stored = rows(logs_store)
    assert [r["Body"] for r in stored] == ["card declined", '{"amount":12.5,"event":"paid"}']
    first, second = stored
    assert first["Timestamp"].isoformat().startswith("2025-11-29T14:03:20.123456")
    assert (first["TraceId"], first["SpanId"], first["TraceFlags"]) == (f"{TRACE_ID:032x}", f"{SPAN_ID:016x}", 1)
    assert (first["SeverityText"], first["SeverityNumber"]) == ("ERROR", 17)
    assert (second["SeverityText"], second["SeverityNumber"]) == ("info", 10)
    assert (second["TraceId"], second["SpanId"]) == ("", "")
    assert first["ServiceName"] == "checkout"
    assert first["ResourceAttributes"]["k8s.namespace.name"] == "shop"
    assert (first["ScopeName"], first["ScopeVersion"], first["ScopeAttributes"]) == ("shop.payments", "1.2.3",
                                                                                   {"team": "payments"})
    assert first["LogAttributes"] == {"order.id": "4711", "retryable": "false"}
    assert registry.get_sample_value("omni_ingest_log_records_total", {"outcome": "accepted"}) == 2


def test_otlp_json_with_hex_ids_gzipped_is_stored(receiver, logs_store):
    url, queue, _ = receiver
    document = {"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "edge"}}]},
        "scopeLogs": [{"scope": {"name": "envoy"}, "logRecords": [{
            "timeUnixNano": "1764425000000000000", "severityNumber": 13, "severityText": "WARN",
            "traceId": f"{TRACE_ID:032x}", "spanId": f"{SPAN_ID:016x}", "flags": 1,
            "body": {"stringValue": "upstream reset"},
            "attributes": [{"key": "http.status", "value": {"intValue": "503"}}],
        }]}],
    }]}
    answer = httpx.post(f"{url}/v1/logs", content=gzip.compress(json.dumps(document).encode()),
                        headers={**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert json.loads(answer.content) == {}
    assert queue.force_flush(10_000)
    [row] = rows(logs_store)
    assert (row["Body"], row["SeverityText"], row["SeverityNumber"], row["ServiceName"]) == (
        "upstream reset", "WARN", 13, "edge")
    assert (row["TraceId"], row["SpanId"]) == (f"{TRACE_ID:032x}", f"{SPAN_ID:016x}")
    assert row["LogAttributes"] == {"http.status": "503"}


def test_far_future_record_is_rejected_by_partial_success_and_the_others_stored(receiver, logs_store):
    url, queue, registry = receiver
    request = ExportLogsServiceRequest.FromString(_request_bytes([
        (1_764_425_000_000_000_000, "kept before"),
        (2**63 + 5, "year 2262+"),
        (1_764_425_002_000_000_000, "kept after"),
    ]))
    answer = httpx.post(f"{url}/v1/logs", content=request.SerializeToString(),
                        headers={**AUTH, "Content-Type": "application/x-protobuf"})
    assert answer.status_code == 200
    response = ExportLogsServiceResponse.FromString(answer.content)
    assert response.partial_success.rejected_log_records == 1
    assert "2262" in response.partial_success.error_message
    assert queue.force_flush(10_000)
    assert [r["Body"] for r in rows(logs_store)] == ["kept before", "kept after"]
    assert registry.get_sample_value("omni_ingest_log_records_total", {"outcome": "rejected"}) == 1


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Type": "application/x-protobuf"}, None, 401),
        ({**AUTH, "Content-Type": "application/x-protobuf"}, b"\xff\xff\xff garbage", 400),
        ({**AUTH, "Content-Type": "application/json"}, b'{"resourceLogs": 7, "resourceMetrics": 7}', 400),
        ({**AUTH, "Content-Type": "text/plain"}, None, 415),
        ({**AUTH, "Content-Type": "application/x-protobuf", "Content-Encoding": "br"}, None, 415),
        ({**AUTH, "Content-Type": "application/x-protobuf"}, b"\x0a" * 5000, 413),
    ],
    ids=["no-token", "undecodable-protobuf", "not-otlp-json", "media-type", "encoding", "over-max-body"],
)
def test_bad_requests_are_answered_as_on_the_metrics_route(receiver, logs_store, headers, body, status):
    url, _, _ = receiver
    content = body if body is not None else _request_bytes([(1_764_425_000_000_000_000, "x")])
    answers = [httpx.post(f"{url}{path}", content=content, headers=headers) for path in ("/v1/logs", "/v1/metrics")]
    assert [a.status_code for a in answers] == [status, status]
    if "protobuf" in headers["Content-Type"]:
        assert status_pb2.Status.FromString(answers[0].content).message
    assert rows(logs_store) == []


def test_more_records_than_the_buffer_holds_is_413_naming_log_records(receiver):
    url, _, _ = receiver
    content = gzip.compress(_request_bytes([(1_764_425_000_000_000_000 + i, "") for i in range(1001)]))
    answer = httpx.post(f"{url}/v1/logs", content=content,
                        headers={**AUTH, "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})
    assert answer.status_code == 413
    assert "1001 log records" in status_pb2.Status.FromString(answer.content).message


def test_without_a_logs_sink_the_logs_route_is_not_served(serve):
    url = serve(create_ingest_app(_NoMetrics(), IngestOptions(), registry=CollectorRegistry()))
    answer = httpx.post(f"{url}/v1/logs", content=_request_bytes([(1, "x")]),
                        headers={"Content-Type": "application/x-protobuf"})
    assert answer.status_code == 404


def test_sdk_exporter_sees_success_and_a_wrong_token_as_failure(receiver):
    url, queue, _ = receiver
    from opentelemetry._logs import LogRecord
    from opentelemetry.sdk._logs import ReadableLogRecord

    record = ReadableLogRecord(LogRecord(timestamp=1_764_425_000_000_000_000, body="hello"), Resource({}))
    assert OTLPLogExporter(endpoint=f"{url}/v1/logs", headers=AUTH).export([record]) is LogRecordExportResult.SUCCESS
    wrong = OTLPLogExporter(endpoint=f"{url}/v1/logs", headers={"Authorization": "Bearer nope"})
    assert wrong.export([record]) is LogRecordExportResult.FAILURE


def _request_bytes(records: list[tuple[int, str]]) -> bytes:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(log_records=[
        LogRecord(time_unix_nano=ts, body=AnyValue(string_value=body)) for ts, body in records
    ])])]).SerializeToString()


def test_an_inflating_json_bomb_on_the_logs_route_is_refused_400(receiver, logs_store):
    url, _, _ = receiver
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = compressor.compress(b"[" * (1024 * 1024)) + compressor.flush()  # ~1 KiB sent, 1 MiB of nesting
    answer = httpx.post(f"{url}/v1/logs", content=bomb, timeout=20,
                        headers={**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert answer.status_code == 400
    assert "levels deep" in answer.json()["message"]
    assert rows(logs_store) == []


def test_a_full_logs_queue_while_storage_is_down_answers_503_with_retry_after(serve, wait_for):
    class Down:
        def write_batch(self, records, *, insert_token: str) -> WriteResult:
            return WriteResult(WriteOutcome.RETRY, "store down")

    queue = DeliveryQueue(Down(), DeliveryOptions(name="logs-down", max_memory_points=10, batch_max_age_s=0,
                                                  retry=RetryPolicy(30, 30)), kind=LOG_BATCHES)
    try:
        url = serve(create_ingest_app(_NoMetrics(), IngestOptions(bearer_token=TOKEN), registry=CollectorRegistry(),
                                      logs_sink=queue))
        headers = {**AUTH, "Content-Type": "application/x-protobuf"}
        first = httpx.post(f"{url}/v1/logs", content=_request_bytes([(i + 1, "a") for i in range(10)]),
                           headers=headers)
        assert first.status_code == 200
        wait_for(lambda: not queue.sink_available, what="the first delivery attempt to fail")
        refused = httpx.post(f"{url}/v1/logs", content=_request_bytes([(1, "b")]), headers=headers)
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) >= 1
        assert "storage is unavailable" in status_pb2.Status.FromString(refused.content).message
    finally:
        queue.shutdown(timeout_millis=200)
