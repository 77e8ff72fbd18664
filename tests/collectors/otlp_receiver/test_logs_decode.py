"""OTLP logs requests -> SDK log records: every field kept, what cannot be stored counted with a reason,
OTLP/JSON's hex ids and enum names understood."""

from __future__ import annotations

import json

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import TraceFlags

from collectors.otlp_receiver import decode_logs_request, decode_logs_request_report, parse_json_logs_request
from omni_core.errors import MalformedPayload


def _request(*records: logs_pb2.LogRecord) -> ExportLogsServiceRequest:
    return ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(scope_logs=[
        logs_pb2.ScopeLogs(log_records=list(records))])])


def test_an_sdk_batch_encoded_by_the_sdk_decodes_to_the_same_records():
    record = LogRecord(timestamp=1_700_000_000_000_000_001, observed_timestamp=1_700_000_000_500_000_000,
                       severity_number=SeverityNumber.DEBUG3, severity_text="debug", body={"k": [1, "two", b"\x03"]},
                       attributes={"a": 1.5, "b": True, "c": ("x", "y")}, event_name="order.placed")
    record.trace_id, record.span_id, record.trace_flags = 0xFEED, 0xBEEF, TraceFlags(1)
    original = ReadableLogRecord(record, Resource({"service.name": "svc"}, "https://schema/1"),
                                 InstrumentationScope("lib", "3", "https://schema/2", {"s": "t"}))
    [decoded] = decode_logs_request(encode_logs([original]))
    got, want = decoded.log_record, original.log_record
    for name in ("timestamp", "observed_timestamp", "severity_number", "severity_text", "trace_id", "span_id",
                 "trace_flags", "event_name"):
        assert getattr(got, name) == getattr(want, name), name
    assert got.body == {"k": (1, "two", b"\x03")}
    assert dict(got.attributes) == {"a": 1.5, "b": True, "c": ("x", "y")}
    assert (decoded.resource.attributes, decoded.resource.schema_url) == ({"service.name": "svc"}, "https://schema/1")
    scope = decoded.instrumentation_scope
    assert (scope.name, scope.version, scope.schema_url, dict(scope.attributes)) == ("lib", "3", "https://schema/2",
                                                                                     {"s": "t"})


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (logs_pb2.LogRecord(time_unix_nano=2**63), "2262"),
        (logs_pb2.LogRecord(observed_time_unix_nano=2**64 - 1), "2262"),
        (logs_pb2.LogRecord(trace_id=b"\x01" * 8), "trace_id of 8 bytes"),
        (logs_pb2.LogRecord(span_id=b"\x01" * 16), "span_id of 16 bytes"),
        (logs_pb2.LogRecord(severity_number=25), "severity_number 25"),
    ],
    ids=["time", "observed-time", "trace-id", "span-id", "severity"],
)
def test_an_unstorable_record_is_rejected_with_its_reason_and_the_others_kept(bad, reason):
    good = logs_pb2.LogRecord(time_unix_nano=5, body=AnyValue(string_value="fine"))
    report = decode_logs_request_report(_request(good, bad, good))
    assert (report.accepted_log_records, report.rejected_log_records) == (2, 1)
    assert reason in report.error_message
    assert [r.log_record.body for r in report.records] == ["fine", "fine"]


def test_bodies_of_every_otlp_type_and_no_body_are_kept_as_values():
    bodies = [
        AnyValue(int_value=-3), AnyValue(double_value=0.25), AnyValue(bool_value=False), AnyValue(bytes_value=b"\x00"),
        AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="a")])),
        AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="k", value=AnyValue(int_value=1))])),
    ]
    records = decode_logs_request(_request(*(logs_pb2.LogRecord(body=b) for b in bodies), logs_pb2.LogRecord()))
    assert [r.log_record.body for r in records] == [-3, 0.25, False, b"\x00", ("a",), {"k": 1}, None]
    assert records[-1].log_record.trace_id == 0 and records[-1].log_record.severity_number is None


def test_otlp_json_hex_ids_and_severity_names_are_understood():
    document = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "a1a2a3a4a5a6a7a8",
        "severityNumber": "SEVERITY_NUMBER_WARN", "body": {"stringValue": "w"}, "someFutureField": 1,
    }]}]}]}
    [record] = decode_logs_request(parse_json_logs_request(json.dumps(document)))
    assert record.log_record.trace_id == 0x0102030405060708090A0B0C0D0E0F10
    assert record.log_record.span_id == 0xA1A2A3A4A5A6A7A8
    assert record.log_record.severity_number is SeverityNumber.WARN


@pytest.mark.parametrize(
    "document",
    ['{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "not hex"}]}]}]}',
     '[1, 2]',
     '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "soon"}]}]}]}'],
    ids=["id-not-hex", "not-an-object", "time-not-a-number"],
)
def test_json_that_is_not_an_otlp_logs_request_is_malformed(document):
    with pytest.raises(MalformedPayload):
        parse_json_logs_request(document)
