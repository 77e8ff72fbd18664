"""SDK ``MetricsData`` (with the project's extensions) -> OTLP ``ExportMetricsServiceRequest``.

Why not the SDK's own encoder: it knows neither :class:`~omni_core.datamodel.Summary`
nor data point flags, and Prometheus data has both (summaries, and staleness markers carried
as ``NO_RECORDED_VALUE``). Dropping either would make a pushed or spooled batch differ from
what the collectors produced. Timestamps, schema URLs and exemplars are copied verbatim.

Conventions shared with :mod:`._decode` so that decode(encode(x)) == x:

- histogram ``min``/``max`` are optional in OTLP; NaN (the collectors' "unknown") is encoded as
  absent, and absent is decoded as NaN;
- an integer value outside the signed 64-bit range travels as a double;
- exemplar span and trace ids are the SDK's integers, as 8 and 16 big-endian bytes.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.sdk.metrics.export import (
    ExponentialHistogram,
    Gauge,
    Histogram,
    Metric,
    MetricsData,
    Sum,
)

from omni_core.datamodel import Summary, point_flags

__all__ = ["count_data_points", "encode_metrics_data"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def encode_metrics_data(metrics_data: MetricsData) -> ExportMetricsServiceRequest:
    """Encode every resource, scope, metric and point of ``metrics_data`` as one OTLP request.

    Raises ``TypeError`` for a metric whose ``data`` is none of the five OTLP kinds: silently
    skipping it would lose data without anyone noticing.
    """
    request = ExportMetricsServiceRequest()
    for resource_metrics in metrics_data.resource_metrics:
        pb_resource_metrics = request.resource_metrics.add()
        resource = resource_metrics.resource
        _fill_attributes(pb_resource_metrics.resource.attributes, resource.attributes)
        pb_resource_metrics.schema_url = resource_metrics.schema_url or resource.schema_url or ""
        for scope_metrics in resource_metrics.scope_metrics:
            pb_scope_metrics = pb_resource_metrics.scope_metrics.add()
            scope = scope_metrics.scope
            pb_scope_metrics.scope.name = scope.name or ""
            pb_scope_metrics.scope.version = scope.version or ""
            _fill_attributes(pb_scope_metrics.scope.attributes, scope.attributes)
            pb_scope_metrics.schema_url = scope_metrics.schema_url or scope.schema_url or ""
            for metric in scope_metrics.metrics:
                _encode_metric(pb_scope_metrics.metrics.add(), metric)
    return request


def count_data_points(metrics_data: MetricsData) -> int:
    """Number of data points in ``metrics_data`` (a histogram point counts as one)."""
    return sum(
        len(metric.data.data_points)
        for resource_metrics in metrics_data.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    )


def _encode_metric(pb_metric: metrics_pb2.Metric, metric: Metric) -> None:
    pb_metric.name = metric.name
    pb_metric.description = metric.description or ""
    pb_metric.unit = metric.unit or ""
    data = metric.data
    # Order matters only for readability; the kinds are disjoint classes.
    if isinstance(data, Sum):
        pb_sum = pb_metric.sum
        pb_sum.aggregation_temporality = int(data.aggregation_temporality)
        pb_sum.is_monotonic = bool(data.is_monotonic)
        _encode_number_points(pb_sum.data_points, data.data_points)
    elif isinstance(data, Gauge):
        _encode_number_points(pb_metric.gauge.data_points, data.data_points)
    elif isinstance(data, Histogram):
        pb_histogram = pb_metric.histogram
        pb_histogram.aggregation_temporality = int(data.aggregation_temporality)
        _encode_histogram_points(pb_histogram.data_points, data.data_points)
    elif isinstance(data, ExponentialHistogram):
        pb_exp = pb_metric.exponential_histogram
        pb_exp.aggregation_temporality = int(data.aggregation_temporality)
        _encode_exponential_points(pb_exp.data_points, data.data_points)
    elif isinstance(data, Summary):
        _encode_summary_points(pb_metric.summary.data_points, data.data_points)
    else:
        raise TypeError(
            f"metric {metric.name!r}: data of type {type(data).__name__} is not an OTLP metric kind "
            "(expected Gauge, Sum, Histogram, ExponentialHistogram or Summary)"
        )


def _encode_number_points(container: Any, points: Iterable[Any]) -> None:
    for point in points:
        pb_point = container.add()
        _fill_attributes(pb_point.attributes, point.attributes)
        pb_point.start_time_unix_nano = point.start_time_unix_nano or 0
        pb_point.time_unix_nano = point.time_unix_nano
        value = point.value
        if isinstance(value, int) and not isinstance(value, bool) and _INT64_MIN <= value <= _INT64_MAX:
            pb_point.as_int = value
        else:
            pb_point.as_double = float(value)
        pb_point.flags = point_flags(point)
        _encode_exemplars(pb_point.exemplars, point.exemplars)


def _encode_histogram_points(container: Any, points: Iterable[Any]) -> None:
    for point in points:
        pb_point = container.add()
        _fill_attributes(pb_point.attributes, point.attributes)
        pb_point.start_time_unix_nano = point.start_time_unix_nano or 0
        pb_point.time_unix_nano = point.time_unix_nano
        pb_point.count = int(point.count)
        if point.sum is not None:
            pb_point.sum = float(point.sum)
        pb_point.bucket_counts.extend(int(c) for c in point.bucket_counts)
        pb_point.explicit_bounds.extend(float(b) for b in point.explicit_bounds)
        _set_optional_extreme(pb_point, "min", point.min)
        _set_optional_extreme(pb_point, "max", point.max)
        pb_point.flags = point_flags(point)
        _encode_exemplars(pb_point.exemplars, point.exemplars)


def _encode_exponential_points(container: Any, points: Iterable[Any]) -> None:
    for point in points:
        pb_point = container.add()
        _fill_attributes(pb_point.attributes, point.attributes)
        pb_point.start_time_unix_nano = point.start_time_unix_nano or 0
        pb_point.time_unix_nano = point.time_unix_nano
        pb_point.count = int(point.count)
        if point.sum is not None:
            pb_point.sum = float(point.sum)
        pb_point.scale = int(point.scale)
        pb_point.zero_count = int(point.zero_count)
        pb_point.positive.offset = int(point.positive.offset)
        pb_point.positive.bucket_counts.extend(int(c) for c in point.positive.bucket_counts)
        pb_point.negative.offset = int(point.negative.offset)
        pb_point.negative.bucket_counts.extend(int(c) for c in point.negative.bucket_counts)
        _set_optional_extreme(pb_point, "min", point.min)
        _set_optional_extreme(pb_point, "max", point.max)
        pb_point.flags = point_flags(point)
        _encode_exemplars(pb_point.exemplars, point.exemplars)


def _encode_summary_points(container: Any, points: Iterable[Any]) -> None:
    for point in points:
        pb_point = container.add()
        _fill_attributes(pb_point.attributes, point.attributes)
        pb_point.start_time_unix_nano = point.start_time_unix_nano or 0
        pb_point.time_unix_nano = point.time_unix_nano
        pb_point.count = int(point.count)
        pb_point.sum = float(point.sum)
        for quantile in point.quantile_values:
            pb_point.quantile_values.add(quantile=float(quantile.quantile), value=float(quantile.value))
        pb_point.flags = point_flags(point)


def _set_optional_extreme(pb_point: Any, field_name: str, value: float | None) -> None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return
    setattr(pb_point, field_name, float(value))


def _encode_exemplars(container: Any, exemplars: Sequence[Any] | None) -> None:
    for exemplar in exemplars or ():
        pb_exemplar = container.add()
        _fill_attributes(pb_exemplar.filtered_attributes, exemplar.filtered_attributes)
        pb_exemplar.time_unix_nano = exemplar.time_unix_nano or 0
        value = exemplar.value
        if isinstance(value, int) and not isinstance(value, bool) and _INT64_MIN <= value <= _INT64_MAX:
            pb_exemplar.as_int = value
        else:
            pb_exemplar.as_double = float(value)
        if exemplar.span_id:
            pb_exemplar.span_id = int(exemplar.span_id).to_bytes(8, "big")
        if exemplar.trace_id:
            pb_exemplar.trace_id = int(exemplar.trace_id).to_bytes(16, "big")


def _fill_attributes(container: Any, attributes: Mapping[str, Any] | None) -> None:
    if not attributes:
        return
    for key, value in attributes.items():
        if value is None:
            continue
        key_value = container.add()
        key_value.key = key
        _fill_any_value(key_value.value, value)


def _fill_any_value(pb_value: common_pb2.AnyValue, value: Any) -> None:
    # bool before int: bool is an int subclass.
    if isinstance(value, str):
        pb_value.string_value = value
    elif isinstance(value, bool):
        pb_value.bool_value = value
    elif isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            pb_value.int_value = value
        else:
            pb_value.string_value = str(value)
    elif isinstance(value, float):
        pb_value.double_value = value
    elif isinstance(value, (bytes, bytearray)):
        pb_value.bytes_value = bytes(value)
    elif isinstance(value, Mapping):
        pb_value.kvlist_value.SetInParent()
        _fill_attributes(pb_value.kvlist_value.values, value)
    elif isinstance(value, Sequence):
        pb_value.array_value.SetInParent()
        for item in value:
            if item is None:
                pb_value.array_value.values.add()
            else:
                _fill_any_value(pb_value.array_value.values.add(), item)
    else:
        pb_value.string_value = str(value)
