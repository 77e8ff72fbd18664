"""A cheap estimate of what a batch costs to hold: the bytes of its strings and values.

Why estimate rather than measure: ``sys.getsizeof`` walks nothing and a deep walk costs as
much as encoding. Counting points alone let 50 points carrying 1 MB attributes each fill
gigabytes while the point bound saw 0.3 % use, so the bound must see what grows: attribute
keys and values (the bulk of a hostile batch), names, bucket arrays, exemplars, plus a fixed
overhead per point for the Python objects themselves. Within a factor of two of the real
footprint is enough for a bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics.export import MetricsData

from omni_core.datamodel import NumberPoints, SeriesAttributes

__all__ = ["estimate_bytes", "estimate_log_bytes", "exposition_samples"]

#: Python objects behind one point (the dataclass, its floats and ints, the attribute dict).
_POINT_OVERHEAD = 200
_ENTRY_OVERHEAD = 16
_CONTAINER_OVERHEAD = 100
#: One point of :class:`NumberPoints`: a slot in each column, its float and its start time.
_COLUMN_POINT_OVERHEAD = 80


def estimate_bytes(metrics_data: MetricsData) -> int:
    total = 0
    for resource_metrics in metrics_data.resource_metrics:
        total += _CONTAINER_OVERHEAD + _attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            total += _CONTAINER_OVERHEAD + _attributes(scope_metrics.scope.attributes)
            for metric in scope_metrics.metrics:
                total += _CONTAINER_OVERHEAD + len(metric.name) + len(metric.description or "") + len(metric.unit or "")
                points = getattr(metric.data, "data_points", ())
                if type(points) is NumberPoints:
                    total += _COLUMN_POINT_OVERHEAD * len(points) + _shared_attributes(points.attributes)
                    continue
                for point in points:
                    total += _POINT_OVERHEAD + _attributes(point.attributes)
                    buckets = getattr(point, "bucket_counts", None)
                    if buckets:
                        total += 16 * len(buckets)
                    quantiles = getattr(point, "quantile_values", None)
                    if quantiles:
                        total += 32 * len(quantiles)
                    for exemplar in getattr(point, "exemplars", None) or ():
                        total += _POINT_OVERHEAD + _attributes(exemplar.filtered_attributes)
    return total


def exposition_samples(metrics_data: MetricsData) -> int:
    """How many samples the batch holds as the Prometheus text format counts them.

    A point is one row of a table, but a histogram row carries every bucket, ``_count`` and
    ``_sum``, each one sample to Prometheus (``prometheus_tsdb_head_samples_appended_total``);
    comparing stored samples across the two needs this unit: a counter or gauge point is 1,
    a histogram point ``len(bucket_counts) + 2``, a summary point its quantiles + 2, any other
    point 1.
    """
    total = 0
    for resource_metrics in metrics_data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points = getattr(metric.data, "data_points", ())
                first = points[0] if points else None
                if first is None:
                    continue
                if hasattr(first, "bucket_counts") and hasattr(first, "explicit_bounds"):
                    total += sum(len(point.bucket_counts) for point in points) + 2 * len(points)
                elif hasattr(first, "quantile_values"):
                    total += sum(len(point.quantile_values) for point in points) + 2 * len(points)
                else:
                    total += len(points)
    return total


def estimate_log_bytes(records: Sequence[ReadableLogRecord]) -> int:
    """The same estimate for log records: body and attributes are what grows; resources are shared."""
    total = 0
    seen: set[int] = set()
    for readable in records:
        record = readable.log_record
        total += _POINT_OVERHEAD + _value(record.body) + _attributes(record.attributes) + len(record.severity_text or "")
        resource = readable.resource
        if resource is not None and id(resource) not in seen:
            seen.add(id(resource))
            total += _CONTAINER_OVERHEAD + _attributes(resource.attributes)
    return total


def _shared_attributes(maps: Sequence[Mapping[str, Any]]) -> int:
    """Attribute bytes of a column of maps; counted in full for every batch that holds it (as if
    not shared: an upper bound), but computed once per :class:`SeriesAttributes`, which never changes."""
    if type(maps) is SeriesAttributes:
        found = maps.derived.get(_shared_attributes)
        if found is None:
            found = maps.derived[_shared_attributes] = sum(map(_attributes, maps))
        return found
    return sum(map(_attributes, maps))


def _attributes(attributes: Mapping[str, Any] | None) -> int:
    if not attributes:
        return 0
    total = 0
    for key, value in attributes.items():
        total += _ENTRY_OVERHEAD + len(key) + _value(value)
    return total


def _value(value: Any) -> int:
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(_ENTRY_OVERHEAD + _value(item) for item in value)
    if isinstance(value, Mapping):
        return _attributes(value)
    return 8
