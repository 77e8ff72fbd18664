"""Shared by the delivery tests: a scripted sink that records every token it is handed,
and a batch whose rows are identical but sent in another order."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from opentelemetry.sdk.metrics.export import Gauge, Metric, MetricsData, ResourceMetrics, ScopeMetrics

from exporters.otlp import count_data_points
from omni_core.sink import BatchSink, WriteOutcome, WriteResult


def reversed_points(metrics_data: MetricsData) -> MetricsData:
    """The same rows with each gauge's points in reverse order.

    ClickHouse deduplicates an insert without a token by the hash of its block's bytes;
    reordering the rows changes that hash, so a retry sent this way is recognised as a
    retry only by its insert token.
    """
    return MetricsData([
        ResourceMetrics(rm.resource, [
            ScopeMetrics(sm.scope, [
                Metric(m.name, m.description, m.unit, Gauge(list(reversed(m.data.data_points))))
                for m in sm.metrics
            ], sm.schema_url)
            for sm in rm.scope_metrics
        ], rm.schema_url)
        for rm in metrics_data.resource_metrics
    ])


@dataclass
class RecordingSink:
    """Answers from ``script`` (then ``then``), passing STORED writes on to ``store`` if given.

    ``calls`` holds (insert token, points) of every attempt, in order. ``entered`` is set
    on each call; with ``hold`` set, a call blocks until ``release`` is set.
    """

    script: list[WriteOutcome] = field(default_factory=list)
    then: WriteOutcome = WriteOutcome.STORED
    store: BatchSink | None = None
    hold: bool = False
    calls: list[tuple[str, int]] = field(default_factory=list)
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def write_batch(self, metrics_data: MetricsData, *, insert_token: str) -> WriteResult:
        with self._lock:
            self.calls.append((insert_token, count_data_points(metrics_data)))
            answer = self.script.pop(0) if self.script else self.then
        self.entered.set()
        if self.hold:
            self.release.wait()
        if answer is WriteOutcome.STORED and self.store is not None:
            return self.store.write_batch(metrics_data, insert_token=insert_token)
        return WriteResult(answer, "scripted answer")

    def tokens(self) -> list[str]:
        with self._lock:
            return [token for token, _ in self.calls]


@pytest.fixture
def recording_sink() -> Callable[..., RecordingSink]:
    return RecordingSink


@pytest.fixture
def reorder() -> Callable[[MetricsData], MetricsData]:
    return reversed_points


def dropped(registry: Any, reason: str, sink: str = "clickhouse") -> float:
    return registry.get_sample_value("omni_exporter_samples_dropped_total", {"sink": sink, "reason": reason}) or 0.0
