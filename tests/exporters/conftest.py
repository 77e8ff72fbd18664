"""Shared by the exporter tests: metrics of every kind, a NaN-safe comparison, chDB stores,
a port that refuses connections, a private metrics registry, and polling for worker threads."""

from __future__ import annotations

import dataclasses
import math
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Buckets,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Gauge,
    Histogram,
    Metric,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from prometheus_client import CollectorRegistry

from exporters._selfmetrics import ExporterMetrics
from exporters.clickhouse import ClickHouseWriter, MetricKind, SchemaOptions, apply_schema, connect, qualified
from omni_core.datamodel import (
    NO_RECORDED_VALUE,
    FlaggedHistogramDataPoint,
    FlaggedNumberDataPoint,
    QuantileValue,
    Summary,
    SummaryDataPoint,
)

# Nanosecond timestamps with non-zero low digits: a float round trip would lose them.
START_NS = 1_700_000_000_123_456_789
TIME_NS = 1_700_000_015_987_654_321
TRACE_ID = 0x5B8EFFF798038103D269B633813FC60C
SPAN_ID = 0xEEE19B7EC3C1B174


def rich_metrics_data() -> MetricsData:
    cumulative = AggregationTemporality.CUMULATIVE
    exemplar = Exemplar({"pod": "web-0"}, 0.67, TIME_NS - 5, SPAN_ID, TRACE_ID)
    metrics = [
        Metric(
            "envoy_cluster_membership_healthy", "Healthy members", "", Gauge([
                FlaggedNumberDataPoint({"envoy_cluster_name": "a"}, 0, TIME_NS, 3),
                FlaggedNumberDataPoint({"envoy_cluster_name": "b"}, 0, TIME_NS, 2.5),
                FlaggedNumberDataPoint({"envoy_cluster_name": "gone"}, 0, TIME_NS, 0.0, flags=NO_RECORDED_VALUE),
            ]),
        ),
        Metric(
            "envoy_cluster_upstream_rq_total", "Requests", "1", Sum([
                FlaggedNumberDataPoint({"envoy_cluster_name": "a"}, START_NS, TIME_NS, 1234, [exemplar]),
                FlaggedNumberDataPoint({"envoy_cluster_name": "b"}, START_NS, TIME_NS, 1.0e18),
            ], cumulative, True),
        ),
        Metric(
            "kubevirt_vmi_phase_count", "VMIs per phase", "", Sum([
                FlaggedNumberDataPoint({"phase": "running"}, START_NS, TIME_NS, 4.0),
            ], cumulative, False),
        ),
        Metric(
            "envoy_cluster_upstream_rq_time", "Request time", "ms", Histogram([
                FlaggedHistogramDataPoint(
                    {"envoy_cluster_name": "a"}, START_NS, TIME_NS, 10, 123.5, [1, 2, 3, 4], [0.5, 1.0, 5.0],
                    math.nan, math.nan, [exemplar],
                ),
                FlaggedHistogramDataPoint(
                    {"envoy_cluster_name": "b"}, START_NS, TIME_NS, 2, 3.0, [0, 2], [10.0], 1.0, 2.0,
                ),
                FlaggedHistogramDataPoint(
                    {"envoy_cluster_name": "gone"}, START_NS, TIME_NS, 0, 0.0, [], [], math.nan, math.nan,
                    flags=NO_RECORDED_VALUE,
                ),
            ], cumulative),
        ),
        Metric(
            "http.server.duration", "", "s", ExponentialHistogram([
                ExponentialHistogramDataPoint(
                    {"route": "/"}, START_NS, TIME_NS, 7, 2.75, 3, 1, Buckets(-2, [1, 0, 2]), Buckets(0, [3]),
                    0, 0.01, 1.5, [],
                ),
            ], AggregationTemporality.DELTA),
        ),
        Metric(
            "go_gc_duration_seconds", "GC pauses", "s", Summary([
                SummaryDataPoint(
                    {"instance_role": "io-engine"}, START_NS, TIME_NS, 42, 0.0123,
                    (QuantileValue(0.0, 1e-5), QuantileValue(0.5, 2e-4), QuantileValue(1.0, 3e-3)),
                ),
                SummaryDataPoint({"instance_role": "gone"}, START_NS, TIME_NS, 0, 0.0, (), NO_RECORDED_VALUE),
            ]),
        ),
    ]
    scope = InstrumentationScope(
        "omni_telemetry.collectors", "0.1.0", "https://opentelemetry.io/schemas/1.21.0", {"source": "envoy"}
    )
    resource = Resource(
        {"service.name": "contour", "service.instance.id": "10.0.0.7:8002", "k8s.pod.restart": 2,
         "omni.up": True, "omni.zones": ("a", "b")},
        "https://opentelemetry.io/schemas/1.24.0",
    )
    return MetricsData([
        ResourceMetrics(resource, [ScopeMetrics(scope, metrics, "https://opentelemetry.io/schemas/1.21.0")],
                        "https://opentelemetry.io/schemas/1.24.0"),
    ])


def gauge_batch(points: int, *, batch: int = 0, time_ns: int = TIME_NS) -> MetricsData:
    """One gauge with ``points`` distinct series; ``batch`` goes into the series so batches differ."""
    gauge = Gauge([
        FlaggedNumberDataPoint({"batch": str(batch), "series": str(i)}, 0, time_ns + batch, float(i))
        for i in range(points)
    ])
    resource = Resource({"service.name": "delivery-test", "service.instance.id": "127.0.0.1:9"})
    scope = InstrumentationScope("omni_telemetry.collectors", "0.1.0")
    return MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, [Metric("queue_probe", "", "", gauge)], "")], "")])


@pytest.fixture
def metrics_data() -> MetricsData:
    return rich_metrics_data()


@pytest.fixture(scope="session")
def as_comparable() -> Any:
    return comparable


@pytest.fixture(scope="session")
def make_gauge_batch() -> Any:
    return gauge_batch


def comparable(metrics_data: MetricsData) -> Any:
    """Plain nested tuples (NaN spelled out, sequences as tuples) so ``==`` compares content."""
    return tuple(
        (
            _plain(dict(rm.resource.attributes)), rm.resource.schema_url, rm.schema_url,
            tuple(
                (
                    sm.scope.name, sm.scope.version, sm.scope.schema_url, _plain(dict(sm.scope.attributes or {})),
                    sm.schema_url,
                    tuple(
                        (
                            m.name, m.description or "", m.unit or "", type(m.data).__name__,
                            _plain(getattr(m.data, "aggregation_temporality", None)),
                            getattr(m.data, "is_monotonic", None),
                            tuple((type(p).__name__, _plain(dataclasses.asdict(p))) for p in m.data.data_points),
                        )
                        for m in sm.metrics
                    ),
                )
                for sm in rm.scope_metrics
            ),
        )
        for rm in metrics_data.resource_metrics
    )


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return tuple(sorted((k, _plain(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, AggregationTemporality):
        return int(value)
    return value


@dataclass(frozen=True)
class ChdbStore:
    """A fresh database of metric tables in the module's chDB engine."""

    dsn: str
    client: Any
    options: SchemaOptions

    def writer(self) -> ClickHouseWriter:
        return ClickHouseWriter(self.client, self.options)

    def rows(self, kind: MetricKind = MetricKind.GAUGE) -> int:
        return int(self.client.command(f"SELECT count() FROM {qualified(self.options, kind)}"))

    def all_rows(self) -> int:
        return sum(self.rows(kind) for kind in MetricKind)


@pytest.fixture(scope="module")
def chdb_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # chDB hosts one data directory per process: one per test module, closed after it.
    dsn = f"chdb://{tmp_path_factory.mktemp('chdb')}"
    client = connect(dsn)
    yield dsn
    client.close()


@pytest.fixture
def chdb_store(chdb_dsn: str) -> ChdbStore:
    client = connect(chdb_dsn)
    options = SchemaOptions(database=f"t_{uuid.uuid4().hex[:12]}")
    apply_schema(client, options)
    return ChdbStore(chdb_dsn, client, options)


@pytest.fixture
def refused_dsn() -> Iterator[str]:
    # Bound but not listening: connections are refused, and no one else can take the port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def self_metrics(registry: CollectorRegistry) -> ExporterMetrics:
    return ExporterMetrics.for_registry(registry)


def _wait_for(predicate: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    """Poll until ``predicate()`` holds: synchronisation with the worker thread, not a timing check."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.fixture
def wait_for() -> Callable[..., None]:
    return _wait_for
