"""SDK ``MetricsData`` -> one set of insert columns per metric table.

Rows are never materialised: every column is a Python list built with C-speed ``extend``
of repeated per-metric values and one comprehension per per-point field. The column order
is :func:`expected_columns` order, which is also the exporter's INSERT column order.

Field mapping follows the exporter: ints become floats, unset Min/Max/Sum become 0, a point
flagged ``NO_RECORDED_VALUE`` keeps its row with Value 0, exemplar ids are lowercase hex
with all zeros for a missing id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from opentelemetry.sdk.metrics.export import (
    ExponentialHistogram,
    Gauge,
    Histogram,
    Metric,
    MetricsData,
    Sum,
)

from omni_core.datamodel import NO_RECORDED_VALUE, NumberPoints, Summary, point_flags

from ._attributes import sorted_text_map
from ._options import Generation, MetricKind

__all__ = ["ColumnSet", "SortedMap", "to_columns"]

logger = logging.getLogger(__name__)

_NS_PER_S = 1_000_000_000
_ZERO_SPAN = "0" * 16
_ZERO_TRACE = "0" * 32
#: The number of leading columns every table shares (resource, scope, metric, attributes, times).
_COMMON_WIDTH = 14
_EXEMPLAR_WIDTH = 5
_EMPTY: list[Any] = []

_KINDS: tuple[tuple[type, MetricKind], ...] = (
    (Gauge, MetricKind.GAUGE),
    (Sum, MetricKind.SUM),
    (Histogram, MetricKind.HISTOGRAM),
    (ExponentialHistogram, MetricKind.EXPONENTIAL_HISTOGRAM),
    (Summary, MetricKind.SUMMARY),
)
_WIDTHS = {
    MetricKind.GAUGE: _COMMON_WIDTH + 2 + _EXEMPLAR_WIDTH,
    MetricKind.SUM: _COMMON_WIDTH + 2 + _EXEMPLAR_WIDTH + 2,
    MetricKind.HISTOGRAM: _COMMON_WIDTH + 4 + _EXEMPLAR_WIDTH + 4,
    MetricKind.EXPONENTIAL_HISTOGRAM: _COMMON_WIDTH + 8 + _EXEMPLAR_WIDTH + 4,
    MetricKind.SUMMARY: _COMMON_WIDTH + 5,
}


@dataclass
class ColumnSet:
    """Columns for one table, in table order, plus the number of rows they hold."""

    columns: list[list[Any]]
    rows: int = 0


@dataclass
class _Batch:
    tables: dict[MetricKind, ColumnSet] = field(default_factory=dict)
    skipped: int = 0

    def table(self, kind: MetricKind) -> ColumnSet:
        found = self.tables.get(kind)
        if found is None:
            found = self.tables[kind] = ColumnSet([[] for _ in range(_WIDTHS[kind])])
        return found


def _kind_of(data: object) -> MetricKind | None:
    for data_type, kind in _KINDS:
        if isinstance(data, data_type):
            return kind
    return None


def _unset_zero(value: float | None) -> float:
    """Min/Max/Sum as the exporter stores them: 0 when absent (None, or NaN as 'not measured')."""
    if value is None or value != value:
        return 0.0
    return float(value)


SortedMap = Callable[[Mapping[str, object] | None], dict[str, str]]


def to_columns(
    metrics_data: MetricsData, generation: Generation, sorted_map: SortedMap = sorted_text_map
) -> tuple[dict[MetricKind, ColumnSet], int]:
    """Insert columns per metric kind, and how many points had a data type no table holds.

    ``sorted_map`` renders a point's attributes; pass a :class:`SortedMapCache` to reuse the
    maps of series seen before.
    """
    batch = _Batch()
    seconds = generation != "classic"
    for resource_metrics in metrics_data.resource_metrics:
        resource = resource_metrics.resource
        resource_attributes = sorted_text_map(resource.attributes)
        resource_schema = resource_metrics.schema_url or resource.schema_url or ""
        service = resource_attributes.get("service.name", "")
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            raw_scope_attributes = scope.attributes if scope is not None else None
            head_prefix = (
                resource_attributes,
                resource_schema,
                (scope.name if scope is not None else "") or "",
                (scope.version if scope is not None else "") or "",
                sorted_text_map(raw_scope_attributes),
                getattr(raw_scope_attributes, "dropped", 0) or 0,
                scope_metrics.schema_url or (scope.schema_url if scope is not None else "") or "",
                service,
            )
            for metric in scope_metrics.metrics:
                _add_metric(batch, metric, head_prefix, seconds, sorted_map)
    return batch.tables, batch.skipped


def _add_metric(batch: _Batch, metric: Metric, head_prefix: tuple, seconds: bool, sorted_map: SortedMap) -> None:
    data = metric.data
    points: Sequence[Any] = data.data_points
    if not points:
        return
    kind = _kind_of(data)
    if kind is None:
        batch.skipped += len(points)
        logger.warning("metric %r has data type %s that no ClickHouse table holds; skipped", metric.name, type(data).__name__)
        return
    target = batch.table(kind)
    cols = target.columns
    n = len(points)
    target.rows += n

    head = (*head_prefix, metric.name, metric.description or "", metric.unit or "")
    for column, value in zip(cols, head):
        column.extend(repeat(value, n))
    if type(points) is NumberPoints:  # columns already: no point objects (kind is GAUGE or SUM)
        _add_number_columns(cols, points, seconds, sorted_map)
        if kind is MetricKind.SUM:
            cols[21].extend(repeat(int(data.aggregation_temporality), n))
            cols[22].extend(repeat(bool(data.is_monotonic), n))
        return
    cols[11].extend([sorted_map(p.attributes) for p in points])
    if seconds:
        cols[12].extend([(p.start_time_unix_nano or 0) // _NS_PER_S for p in points])
        cols[13].extend([p.time_unix_nano // _NS_PER_S for p in points])
    else:
        cols[12].extend([p.start_time_unix_nano or 0 for p in points])
        cols[13].extend([p.time_unix_nano for p in points])

    flags = [point_flags(p) for p in points]
    if kind is MetricKind.GAUGE or kind is MetricKind.SUM:
        # `value or 0.0` would store -0.0 as +0.0: only a missing value becomes 0
        cols[14].extend(
            [0.0 if f & NO_RECORDED_VALUE or p.value is None else float(p.value) for p, f in zip(points, flags)]
        )
        cols[15].extend(flags)
        _add_exemplars(cols, 16, points, seconds)
        if kind is MetricKind.SUM:
            cols[21].extend(repeat(int(data.aggregation_temporality), n))
            cols[22].extend(repeat(bool(data.is_monotonic), n))
        return
    if kind is MetricKind.SUMMARY:
        cols[14].extend([p.count for p in points])
        cols[15].extend([_unset_zero(p.sum) for p in points])
        cols[16].extend([[q.quantile for q in p.quantile_values] for p in points])
        cols[17].extend([[q.value for q in p.quantile_values] for p in points])
        cols[18].extend(flags)
        return

    cols[14].extend([p.count for p in points])
    cols[15].extend([_unset_zero(p.sum) for p in points])
    if kind is MetricKind.HISTOGRAM:
        cols[16].extend([p.bucket_counts for p in points])
        cols[17].extend([p.explicit_bounds for p in points])
        at = 18
    else:
        cols[16].extend([p.scale for p in points])
        cols[17].extend([p.zero_count for p in points])
        cols[18].extend([p.positive.offset if p.positive else 0 for p in points])
        cols[19].extend([p.positive.bucket_counts if p.positive else _EMPTY for p in points])
        cols[20].extend([p.negative.offset if p.negative else 0 for p in points])
        cols[21].extend([p.negative.bucket_counts if p.negative else _EMPTY for p in points])
        at = 22
    _add_exemplars(cols, at, points, seconds)
    cols[at + 5].extend(flags)
    cols[at + 6].extend([_unset_zero(p.min) for p in points])
    cols[at + 7].extend([_unset_zero(p.max) for p in points])
    cols[at + 8].extend(repeat(int(data.aggregation_temporality), n))


def _add_number_columns(cols: list[list[Any]], points: NumberPoints, seconds: bool, sorted_map: SortedMap) -> None:
    """What the per-point path below stores for points without flags or exemplars, read from columns."""
    n = len(points)
    cols[11].extend(map(sorted_map, points.attributes))
    time_ns = points.time_unix_nano
    if seconds:
        cols[12].extend([(start or 0) // _NS_PER_S for start in points.start_times])
        cols[13].extend(repeat(time_ns // _NS_PER_S, n))
    else:
        cols[12].extend([start or 0 for start in points.start_times])
        cols[13].extend(repeat(time_ns, n))
    cols[14].extend([0.0 if value is None else float(value) for value in points.values])
    cols[15].extend(repeat(0, n))
    for column in cols[16 : 16 + _EXEMPLAR_WIDTH]:
        column.extend(repeat(_EMPTY, n))


def _add_exemplars(cols: list[list[Any]], at: int, points: Sequence[Any], seconds: bool) -> None:
    n = len(points)
    if not any(p.exemplars for p in points):
        for column in cols[at : at + _EXEMPLAR_WIDTH]:
            column.extend(repeat(_EMPTY, n))
        return
    divisor = _NS_PER_S if seconds else 1
    cols[at].extend([[sorted_text_map(e.filtered_attributes) for e in p.exemplars] for p in points])
    cols[at + 1].extend([[(e.time_unix_nano or 0) // divisor for e in p.exemplars] for p in points])
    cols[at + 2].extend([[0.0 if e.value is None else float(e.value) for e in p.exemplars] for p in points])
    cols[at + 3].extend([[format(e.span_id, "016x") if e.span_id else _ZERO_SPAN for e in p.exemplars] for p in points])
    cols[at + 4].extend([[format(e.trace_id, "032x") if e.trace_id else _ZERO_TRACE for e in p.exemplars] for p in points])
