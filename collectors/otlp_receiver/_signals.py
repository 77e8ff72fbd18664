"""What differs between ``/v1/metrics`` and ``/v1/logs``: the message types, what is counted, the decoder.

Everything else (token, media type, bounds, inflating, the depth scan, admission, the
answers) is the same code for both routes; a :class:`Signal` is the little that is not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from omni_core.errors import MalformedPayload
from omni_core.otlp_decode import decode_request_report
from omni_core.otlp_logs_decode import count_log_records, decode_logs_request_report

from ._json import parse_json_logs_request, parse_json_request
from ._payload import PayloadFormat, count_request_points

__all__ = ["LOGS", "LOGS_PATH", "METRICS", "METRICS_PATH", "Received", "Signal"]

METRICS_PATH = "/v1/metrics"
LOGS_PATH = "/v1/logs"


@dataclass(frozen=True)
class Received:
    """A decoded request: the batch for the sink, and how many items were kept and left out (and why)."""

    batch: Any
    accepted: int
    rejected: int
    error_message: str


@dataclass(frozen=True)
class Signal:
    """One OTLP signal's route: ``unit`` names what is counted in answers and bounds."""

    path: str
    unit: str
    request_name: str
    parse_protobuf: Callable[[bytes], Message]
    parse_json: Callable[[bytes, int], Message]
    count: Callable[[Any], int]
    decode: Callable[[Any], Received]
    answer: Callable[[Received], Message]

    def parse(self, body: bytes, fmt: PayloadFormat, *, max_json_depth: int) -> Message:
        """The request message; a JSON body must have been depth-scanned while inflating."""
        if fmt == "json":
            return self.parse_json(body, max_json_depth)
        try:
            return self.parse_protobuf(body)
        except (DecodeError, RecursionError) as exc:
            raise MalformedPayload(f"body is not an OTLP protobuf {self.request_name}: {exc}") from None


def _decode_metrics(request: ExportMetricsServiceRequest) -> Received:
    report = decode_request_report(request)
    return Received(report.metrics_data, report.accepted_data_points, report.rejected_data_points,
                    report.error_message)


def _metrics_answer(received: Received) -> ExportMetricsServiceResponse:
    answer = ExportMetricsServiceResponse()
    if received.rejected or received.error_message:
        answer.partial_success.rejected_data_points = received.rejected
        answer.partial_success.error_message = received.error_message
    return answer


def _decode_logs(request: ExportLogsServiceRequest) -> Received:
    report = decode_logs_request_report(request)
    return Received(report.records, report.accepted_log_records, report.rejected_log_records, report.error_message)


def _logs_answer(received: Received) -> ExportLogsServiceResponse:
    answer = ExportLogsServiceResponse()
    if received.rejected or received.error_message:
        answer.partial_success.rejected_log_records = received.rejected
        answer.partial_success.error_message = received.error_message
    return answer


METRICS = Signal(
    METRICS_PATH, "data points", "ExportMetricsServiceRequest", ExportMetricsServiceRequest.FromString,
    lambda body, depth: parse_json_request(body, max_depth=depth, depth_checked=True),
    count_request_points, _decode_metrics, _metrics_answer,
)

LOGS = Signal(
    LOGS_PATH, "log records", "ExportLogsServiceRequest", ExportLogsServiceRequest.FromString,
    lambda body, depth: parse_json_logs_request(body, max_depth=depth, depth_checked=True),
    count_log_records, _decode_logs, _logs_answer,
)
