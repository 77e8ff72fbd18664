"""What the delivery queue needs to know about a batch type: its size, how to merge it, how to spool it.

Why one queue for every signal: retries, the spool, coalescing, insert tokens and
quarantine are the hard part, and they do not care whether a batch holds metric points or
log records. A :class:`BatchKind` supplies the few operations that do: counting items (the
queue's bounds are in items), estimating bytes, merging batches into one insert, and the
OTLP protobuf encoding a spool file holds (``ExportMetricsServiceRequest`` or
``ExportLogsServiceRequest``), so a spooled batch is readable by any OTLP tool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics.export import MetricsData

from omni_core.otlp_decode import decode_request
from omni_core.otlp_logs_decode import decode_logs_request

from ..otlp import count_data_points, encode_metrics_data
from ._size import estimate_bytes, estimate_log_bytes

__all__ = ["LOG_BATCHES", "METRIC_BATCHES", "BatchKind", "LogBatch"]

B = TypeVar("B")

#: A batch of log records, as an SDK log exporter receives it.
LogBatch = Sequence[ReadableLogRecord]


@dataclass(frozen=True)
class BatchKind(Generic[B]):
    """The operations the queue and the spool apply to one batch type ``B``."""

    signal: str
    """``metrics`` or ``logs``: names the signal in log lines."""
    unit: str
    """What :attr:`count` counts (``points``, ``records``), for log lines."""
    count: Callable[[B], int]
    estimate_bytes: Callable[[B], int]
    merge: Callable[[list[B]], B]
    encode: Callable[[B], bytes]
    """The OTLP protobuf request a spool file holds."""
    decode: Callable[[bytes], B]
    """The inverse of :attr:`encode`; raises on bytes that are not such a request."""


def _merge_metrics(batches: list[MetricsData]) -> MetricsData:
    if len(batches) == 1:
        return batches[0]
    return MetricsData([rm for batch in batches for rm in batch.resource_metrics])


def _merge_logs(batches: list[Any]) -> list[ReadableLogRecord]:
    return [record for batch in batches for record in batch]


METRIC_BATCHES: BatchKind[MetricsData] = BatchKind(
    "metrics", "points", count_data_points, estimate_bytes, _merge_metrics,
    lambda data: encode_metrics_data(data).SerializeToString(),
    lambda payload: decode_request(ExportMetricsServiceRequest.FromString(payload)),
)

LOG_BATCHES: BatchKind[LogBatch] = BatchKind(
    "logs", "records", len, estimate_log_bytes, _merge_logs,
    lambda records: encode_logs(records).SerializeToString(),
    lambda payload: decode_logs_request(ExportLogsServiceRequest.FromString(payload)),
)
