"""OTLP ``ExportLogsServiceRequest`` -> SDK ``ReadableLogRecord`` list, the shape log writers take.

The logs counterpart of :mod:`omni_core.otlp_decode`: the OTLP receiver decodes clients'
``/v1/logs`` bodies with it, and the delivery spool reads back the log batches it wrote.

Records that cannot be stored faithfully are rejected and counted (for an OTLP partial
success) instead of guessed at: a time or observed time beyond what ClickHouse's
``DateTime64(9)`` holds (after 2262-04-11T23:47:16.854775807Z; such a value would make the
driver refuse the whole insert, good records included), a trace id that is not 16 bytes or a
span id that is not 8 (the columns hold their hex, and a truncated id would silently
correlate with the wrong trace), and a severity number outside the 0-24 the data model
defines. Everything else is kept exactly: body and attribute values of any OTLP type, the
severity text as sent, the trace flags (low 8 bits of ``flags``), ``event_name``.

Each record carries its own ids only: an ambient span in the decoding thread never lends
its trace id to a record that has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import Context
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import TraceFlags

from omni_core.otlp_decode import MAX_TIMESTAMP_NS, _any_value, _attributes

__all__ = ["DecodedLogs", "count_log_records", "decode_logs_request", "decode_logs_request_report"]

#: At most this many distinct rejection reasons are kept for the error message.
_MAX_REASONS = 5
_SEVERITIES = {int(s.value): s for s in SeverityNumber}
#: A context with no span in it (an empty one would make the SDK read the thread's current context).
_NO_SPAN = Context({"omni-telemetry.decoded": True})


@dataclass
class DecodedLogs:
    """The records a logs request decodes to, plus what had to be left out and why."""

    records: list[ReadableLogRecord] = field(default_factory=list)
    rejected_log_records: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def accepted_log_records(self) -> int:
        return len(self.records)

    def reject(self, reason: str) -> None:
        self.rejected_log_records += 1
        if len(self.reasons) < _MAX_REASONS and reason not in self.reasons:
            self.reasons.append(reason)

    @property
    def error_message(self) -> str:
        """One readable line for OTLP ``partial_success.error_message``; empty when nothing was rejected."""
        return "; ".join(self.reasons)


def count_log_records(request: ExportLogsServiceRequest) -> int:
    """Log records in ``request`` without converting any (cheap enough to bound a request by)."""
    return sum(len(scope_logs.log_records) for resource_logs in request.resource_logs
               for scope_logs in resource_logs.scope_logs)


def decode_logs_request(request: ExportLogsServiceRequest) -> list[ReadableLogRecord]:
    """Decode ``request``, leaving out (silently) the records :func:`decode_logs_request_report` rejects."""
    return decode_logs_request_report(request).records


def decode_logs_request_report(request: ExportLogsServiceRequest) -> DecodedLogs:
    """Decode ``request`` and count the log records that cannot be stored, with reasons."""
    report = DecodedLogs()
    for pb_resource_logs in request.resource_logs:
        resource = Resource(_attributes(pb_resource_logs.resource.attributes), pb_resource_logs.schema_url)
        for pb_scope_logs in pb_resource_logs.scope_logs:
            pb_scope = pb_scope_logs.scope
            scope = InstrumentationScope(
                pb_scope.name, pb_scope.version or None, pb_scope_logs.schema_url or None,
                _attributes(pb_scope.attributes),
            )
            for pb_record in pb_scope_logs.log_records:
                reason = _unstorable(pb_record)
                if reason is not None:
                    report.reject(reason)
                    continue
                report.records.append(ReadableLogRecord(_record(pb_record), resource, scope))
    return report


def _unstorable(pb_record: logs_pb2.LogRecord) -> str | None:
    """Why ``pb_record`` cannot be stored as sent, or None when it can."""
    latest = max(pb_record.time_unix_nano, pb_record.observed_time_unix_nano)
    if latest > MAX_TIMESTAMP_NS:
        return (f"log record timestamp after 2262-04-11T23:47:16.854775807Z ({latest} ns), "
                "beyond what the store holds")
    if len(pb_record.trace_id) not in (0, 16):
        return f"log record trace_id of {len(pb_record.trace_id)} bytes (must be 16, or empty)"
    if len(pb_record.span_id) not in (0, 8):
        return f"log record span_id of {len(pb_record.span_id)} bytes (must be 8, or empty)"
    if pb_record.severity_number not in _SEVERITIES:
        return f"log record severity_number {pb_record.severity_number} outside 0-24"
    return None


def _record(pb_record: logs_pb2.LogRecord) -> LogRecord:
    number = pb_record.severity_number
    record = LogRecord(
        timestamp=pb_record.time_unix_nano,
        observed_timestamp=pb_record.observed_time_unix_nano,
        context=_NO_SPAN,
        severity_text=pb_record.severity_text or None,
        severity_number=_SEVERITIES[number] if number else None,
        body=_body(pb_record),
        attributes=_attributes(pb_record.attributes),
        event_name=pb_record.event_name or None,
    )
    # Set after construction: the constructor falls back to the context's span for a zero id.
    record.trace_id = int.from_bytes(pb_record.trace_id, "big") if pb_record.trace_id else 0
    record.span_id = int.from_bytes(pb_record.span_id, "big") if pb_record.span_id else 0
    record.trace_flags = TraceFlags(pb_record.flags & 0xFF)
    return record


def _body(pb_record: logs_pb2.LogRecord) -> Any:
    return _any_value(pb_record.body) if pb_record.HasField("body") else None
