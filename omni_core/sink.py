"""What a delivery queue hands its batches to, and the three answers it acts on.

Why one protocol with an outcome instead of exceptions and SDK results: the queue must
decide, for every failed attempt, between waiting and trying again (the store is down, full
or slow) and never trying again (the store refused the data itself: a value out of range, a
type it cannot hold). Retrying the second kind at the head of the queue would hold back
every batch behind it; giving up on the first kind would lose data an outage only delayed.
The sink knows which it is, so it says so. This module sits on the ground floor so the
queue (``exporters.delivery``) and the sinks (``exporters.clickhouse``, SDK exporters via
:class:`MetricExporterSink`) import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

__all__ = ["STORED", "BatchSink", "MetricExporterSink", "WriteOutcome", "WriteResult"]


class WriteOutcome(Enum):
    """What became of one write of one batch."""

    STORED = "stored"
    """The store has the batch (or already had it under the same insert token)."""
    RETRY = "retry"
    """Not stored for a reason that can pass: outage, full disk, timeout, overload."""
    REFUSED = "refused"
    """The store refused the data itself; the same bytes will be refused again. Never retry."""


@dataclass(frozen=True)
class WriteResult:
    """The outcome and, when not stored, the store's reason in words for the log."""

    outcome: WriteOutcome
    detail: str = ""


STORED = WriteResult(WriteOutcome.STORED)
"""The answer of every successful write (it carries nothing else)."""


@runtime_checkable
class BatchSink(Protocol):
    """Stores a batch idempotently: the same ``insert_token`` twice stores the batch once.

    ``write_batch`` answers instead of raising for any failure it can classify; the queue treats
    an exception escaping it as a bug and the batch as refused (so it cannot stall the queue).
    """

    def write_batch(self, metrics_data: MetricsData, *, insert_token: str) -> WriteResult: ...


class MetricExporterSink:
    """An SDK ``MetricExporter`` seen as a :class:`BatchSink`: SUCCESS is stored, anything else retried.

    SDK exporters carry no insert token and no reason (their own log line has it), and an
    OTLP receiver that refuses a batch answers FAILURE just like one that is down, so every
    failure is retried; a receiver that accepted a batch but lost the answer may see it twice.
    """

    def __init__(self, exporter: MetricExporter, *, timeout_s: float = 30.0) -> None:
        self.exporter = exporter
        self._timeout_millis = timeout_s * 1000

    def write_batch(self, metrics_data: MetricsData, *, insert_token: str) -> WriteResult:
        result = self.exporter.export(metrics_data, timeout_millis=self._timeout_millis)
        if result is MetricExportResult.SUCCESS:
            return STORED
        return WriteResult(WriteOutcome.RETRY, f"{type(self.exporter).__name__} answered {result.name}")

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        self.exporter.shutdown(timeout_millis=timeout_millis)
