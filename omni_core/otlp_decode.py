"""OTLP ``ExportMetricsServiceRequest`` -> SDK ``MetricsData`` (with the project's extensions).

The inverse of the encoder in ``exporters.otlp``, so that data from any OTLP client reaches the ClickHouse
writer in the same shape as the collectors' own data: number and histogram points are
always the ``Flagged*`` subclasses (as the collectors produce them), summaries are
:class:`~omni_core.datamodel.Summary`, an absent histogram ``min``/``max`` is NaN.

Points that cannot be stored faithfully are not guessed at but rejected and counted, so the
receiver can answer with an OTLP partial success: a metric without a name or without data,
a histogram whose bucket counts do not match its bounds, and a point (or one of its
exemplars) whose timestamp lies beyond what ClickHouse's ``DateTime64(9)`` holds
(2262-04-11T23:47:16.854775807Z, 2**63 - 1 ns). Such a point would make the driver refuse the
whole insert, and with it every good point batched beside it. A zero timestamp is kept, as
the Collector keeps it (stored as the epoch); OTLP timestamps are unsigned, so none is negative.

Why this lives on the ground floor: both the OTLP receiver (``collectors.otlp_receiver``)
and the delivery spool (``exporters.delivery``, reading back what it wrote) turn OTLP into
the SDK data model, and ``collectors`` and ``exporters`` may not import each other.
"""

from __future__ import annotations

import math
from sys import intern as _intern
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
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

from omni_core.datamodel import (
    FlaggedHistogramDataPoint,
    FlaggedNumberDataPoint,
    QuantileValue,
    Summary,
    SummaryDataPoint,
)

__all__ = ["MAX_TIMESTAMP_NS", "DecodedRequest", "decode_request", "decode_request_report"]

#: The last instant ClickHouse ``DateTime64(9)`` holds: 2262-04-11T23:47:16.854775807Z.
MAX_TIMESTAMP_NS = 2**63 - 1

#: At most this many distinct rejection reasons are kept for the error message.
_MAX_REASONS = 5

_TEMPORALITIES = frozenset(int(t) for t in AggregationTemporality)


@dataclass
class DecodedRequest:
    """What a request decodes to, plus what had to be left out and why."""

    metrics_data: MetricsData
    accepted_data_points: int = 0
    rejected_data_points: int = 0
    reasons: list[str] = field(default_factory=list)

    def reject(self, count: int, reason: str) -> None:
        self.rejected_data_points += count
        if len(self.reasons) < _MAX_REASONS and reason not in self.reasons:
            self.reasons.append(reason)

    @property
    def error_message(self) -> str:
        """One readable line for OTLP ``partial_success.error_message``; empty when nothing was rejected."""
        return "; ".join(self.reasons)


def decode_request(request: ExportMetricsServiceRequest) -> MetricsData:
    """Decode ``request``, leaving out (silently) the points :func:`decode_request_report` rejects."""
    return decode_request_report(request).metrics_data


def decode_request_report(request: ExportMetricsServiceRequest) -> DecodedRequest:
    """Decode ``request`` and count the data points that cannot be stored, with reasons."""
    report = DecodedRequest(MetricsData(resource_metrics=[]))
    out: list[ResourceMetrics] = []
    for pb_resource_metrics in request.resource_metrics:
        schema_url = pb_resource_metrics.schema_url
        resource = Resource(_attributes(pb_resource_metrics.resource.attributes), schema_url)
        scope_list: list[ScopeMetrics] = []
        for pb_scope_metrics in pb_resource_metrics.scope_metrics:
            pb_scope = pb_scope_metrics.scope
            scope = InstrumentationScope(
                pb_scope.name,
                pb_scope.version or None,
                pb_scope_metrics.schema_url,
                _attributes(pb_scope.attributes),
            )
            metrics: list[Metric] = []
            for pb_metric in pb_scope_metrics.metrics:
                metric = _decode_metric(pb_metric, report)
                if metric is not None:
                    metrics.append(metric)
            if metrics:
                scope_list.append(ScopeMetrics(scope, metrics, pb_scope_metrics.schema_url))
        if scope_list:
            out.append(ResourceMetrics(resource, scope_list, schema_url))
    report.metrics_data = MetricsData(resource_metrics=out)
    return report


def _decode_metric(pb_metric: metrics_pb2.Metric, report: DecodedRequest) -> Metric | None:
    kind = pb_metric.WhichOneof("data")
    if kind is None:
        report.reject(0, f"metric {pb_metric.name!r} has no data (none of gauge, sum, histogram, "
                         "exponential_histogram, summary)")
        return None
    container = getattr(pb_metric, kind)
    if not pb_metric.name:
        report.reject(len(container.data_points), "metric without a name")
        return None
    temporality = getattr(container, "aggregation_temporality", 0)
    if temporality not in _TEMPORALITIES:
        report.reject(
            len(container.data_points),
            f"metric {pb_metric.name!r}: unknown aggregation temporality {temporality}",
        )
        return None
    if kind == "gauge":
        data: Any = Gauge(_number_points(pb_metric.name, container.data_points, report))
    elif kind == "sum":
        data = Sum(
            _number_points(pb_metric.name, container.data_points, report),
            AggregationTemporality(container.aggregation_temporality),
            container.is_monotonic,
        )
    elif kind == "histogram":
        points = _histogram_points(pb_metric.name, container.data_points, report)
        if not points:
            return None
        data = Histogram(points, AggregationTemporality(container.aggregation_temporality))
    elif kind == "exponential_histogram":
        data = ExponentialHistogram(
            _exponential_points(pb_metric.name, container.data_points, report),
            AggregationTemporality(container.aggregation_temporality),
        )
    else:
        data = Summary(_summary_points(pb_metric.name, container.data_points, report))
    if not data.data_points:
        return None
    report.accepted_data_points += len(data.data_points)
    return Metric(pb_metric.name, pb_metric.description, pb_metric.unit, data)


def _storable_points(name: str, pb_points: Any, report: DecodedRequest) -> list[Any]:
    """``pb_points`` without those whose timestamps ClickHouse cannot hold (counted as rejected)."""
    kept = []
    for p in pb_points:
        exemplars = getattr(p, "exemplars", ())  # summaries have none
        if (
            p.time_unix_nano > MAX_TIMESTAMP_NS
            or p.start_time_unix_nano > MAX_TIMESTAMP_NS
            or (exemplars and any(e.time_unix_nano > MAX_TIMESTAMP_NS for e in exemplars))
        ):
            report.reject(1, f"metric {name!r}: timestamp after 2262-04-11T23:47:16.854775807Z "
                             f"({max(p.time_unix_nano, p.start_time_unix_nano)} ns), beyond what the store holds")
            continue
        kept.append(p)
    return kept


def _number_points(name: str, pb_points: Any, report: DecodedRequest) -> list[FlaggedNumberDataPoint]:
    points = []
    for p in _storable_points(name, pb_points, report):
        value: int | float = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
        points.append(
            FlaggedNumberDataPoint(
                _attributes(p.attributes), p.start_time_unix_nano, p.time_unix_nano, value,
                _exemplars(p.exemplars), flags=p.flags,
            )
        )
    return points


def _histogram_points(name: str, pb_points: Any, report: DecodedRequest) -> list[FlaggedHistogramDataPoint]:
    points = []
    for p in _storable_points(name, pb_points, report):
        bounds = list(p.explicit_bounds)
        counts = list(p.bucket_counts)
        if counts and len(counts) != len(bounds) + 1:
            report.reject(
                1, f"histogram {name!r}: {len(counts)} bucket counts for {len(bounds)} bounds "
                   "(expected bounds + 1)"
            )
            continue
        points.append(
            FlaggedHistogramDataPoint(
                _attributes(p.attributes), p.start_time_unix_nano, p.time_unix_nano, p.count,
                p.sum if p.HasField("sum") else 0.0, counts, bounds,
                p.min if p.HasField("min") else math.nan,
                p.max if p.HasField("max") else math.nan,
                _exemplars(p.exemplars), flags=p.flags,
            )
        )
    return points


def _exponential_points(name: str, pb_points: Any, report: DecodedRequest) -> list[ExponentialHistogramDataPoint]:
    return [
        ExponentialHistogramDataPoint(
            attributes=_attributes(p.attributes),
            start_time_unix_nano=p.start_time_unix_nano,
            time_unix_nano=p.time_unix_nano,
            count=p.count,
            sum=p.sum if p.HasField("sum") else 0.0,
            scale=p.scale,
            zero_count=p.zero_count,
            positive=Buckets(p.positive.offset, list(p.positive.bucket_counts)),
            negative=Buckets(p.negative.offset, list(p.negative.bucket_counts)),
            flags=p.flags,
            min=p.min if p.HasField("min") else math.nan,
            max=p.max if p.HasField("max") else math.nan,
            exemplars=_exemplars(p.exemplars),
        )
        for p in _storable_points(name, pb_points, report)
    ]


def _summary_points(name: str, pb_points: Any, report: DecodedRequest) -> list[SummaryDataPoint]:
    return [
        SummaryDataPoint(
            _attributes(p.attributes), p.start_time_unix_nano, p.time_unix_nano, p.count, p.sum,
            tuple(QuantileValue(q.quantile, q.value) for q in p.quantile_values), p.flags,
        )
        for p in _storable_points(name, pb_points, report)
    ]


def _exemplars(pb_exemplars: Any) -> list[Exemplar]:
    return [
        Exemplar(
            _attributes(e.filtered_attributes),
            e.as_int if e.WhichOneof("value") == "as_int" else e.as_double,
            e.time_unix_nano,
            int.from_bytes(e.span_id, "big") if e.span_id else None,
            int.from_bytes(e.trace_id, "big") if e.trace_id else None,
        )
        for e in pb_exemplars
    ]


def _attributes(pb_attributes: Any) -> dict[str, Any]:
    out = {}
    for kv in pb_attributes:
        value = kv.value
        kind = value.WhichOneof("value")
        # Strings are nearly every attribute: read them without a call per value. Keys are
        # few and repeat in every point; interned, they hash once for every later dict.
        out[_intern(kv.key)] = value.string_value if kind == "string_value" else _any_value(value, kind)
    return out


def _any_value(pb_value: common_pb2.AnyValue, kind: str | None = None) -> Any:
    kind = kind or pb_value.WhichOneof("value")
    if kind == "string_value":
        return pb_value.string_value
    if kind == "int_value":
        return pb_value.int_value
    if kind == "double_value":
        return pb_value.double_value
    if kind == "bool_value":
        return pb_value.bool_value
    if kind == "bytes_value":
        return pb_value.bytes_value
    if kind == "array_value":
        return tuple(_any_value(v) for v in pb_value.array_value.values)
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in pb_value.kvlist_value.values}
    return None
