"""Exposition -> OpenTelemetry metrics, following the Collector's Prometheus receiver.

Conversion reads and updates the target's :class:`SeriesTracker` (start times, resets,
presence), so a series that vanishes (or a target that goes down) gets one staleness point
(``NO_RECORDED_VALUE``) as Prometheus's staleness markers, and is otherwise never invented.

Rules (see the receiver's ``metricfamily.go``/``metrics_adjuster.go``):

- counter -> cumulative monotonic Sum named as the exposed sample (``_total`` kept);
  ``_created`` gives the start time when present.
- gauge, untyped, unknown, gaugehistogram samples -> Gauge named as the exposed sample.
- info, stateset -> cumulative non-monotonic Sum.
- histogram -> cumulative Histogram: bounds from ``le`` without ``+Inf``, counts
  de-cumulated into N+1 buckets, the last one ``_count`` minus the last finite bucket.
  Points without ``_count`` are dropped, as the receiver does.
- summary -> Summary with sorted quantiles; ``_count`` is required.
- Attributes: labels minus ``job``, ``instance``, ``__*``, ``le``/``quantile``; empty values
  dropped; keys sorted so equal label sets store and group as one.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from opentelemetry.sdk.metrics import Exemplar as OtelExemplar
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    Metric,
    Sum,
)

from omni_core.datamodel import (
    NO_RECORDED_VALUE,
    FlaggedHistogramDataPoint,
    FlaggedNumberDataPoint,
    QuantileValue,
    Summary,
    SummaryDataPoint,
)
from ._gcpause import gc_paused
from ._points import _CUMULATIVE, _NO_EXEMPLARS, _exemplar, _number_point, _sample_time, _whole
from ._tracker import _GAUGE, _HISTOGRAM, _SUM, _SUM_MONO, _SUMMARY, SeriesTracker, _SeriesState
from ._model import Exposition, MetricFamily, Sample

__all__ = ["ConversionReport", "ConversionTrace", "SeriesTracker", "to_metrics", "staleness_metrics"]

_log = logging.getLogger(__name__)

_DROPPED_LABELS = frozenset({"job", "instance"})

@dataclass
class ConversionReport:
    """What one conversion dropped and why; the scrape loop logs and counts it."""

    dropped: int = 0
    warnings: list[str] = field(default_factory=list)

    def drop(self, count: int, reason: str) -> None:
        self.dropped += count
        if len(self.warnings) < 50:
            self.warnings.append(reason)


@dataclass
class ConversionTrace:
    """Which body lines fed each output point, so a later scrape with the same layout can be
    converted from its values alone (see :mod:`collectors.exposition._steady`).

    ``series[i]`` belongs to ``metrics[i]`` and lists, per point: ``(line, state)`` for number
    points, ``(bucket_lines, count_line, sum_line, state, bounds, unused_lines)`` for histograms
    and summaries (buckets and quantiles in output order; lines 1-based, 0 when absent;
    ``unused_lines`` are values the point does not need, such as the ``+Inf`` bucket). ``cacheable`` turns
    false when any input could make the next conversion differ beyond its values
    (timestamps, exemplars, ``_created``, samples not read from text).
    """

    metrics: list[Metric] = field(default_factory=list)
    series: list[list[tuple[object, ...]]] = field(default_factory=list)
    cacheable: bool = True

    def add(self, metric: Metric, series: list[tuple[object, ...]]) -> None:
        self.metrics.append(metric)
        self.series.append(series)


def _attributes(labels: Mapping[str, str], dropped: frozenset[str]) -> dict[str, str]:
    return {k: labels[k] for k in sorted(labels) if labels[k] and k not in dropped and not k.startswith("__")}


class _AttributeCache:
    """Label dicts are shared by the parser across samples; convert each distinct one once.

    One cache per set of dropped labels (plain, histogram ``le``, summary ``quantile``): entries are
    keyed by the identity of the label dict, so one cache must never mix drop rules.
    """

    __slots__ = ("by_id", "_dropped", "_bound_label")

    def __init__(self, dropped: frozenset[str] = _DROPPED_LABELS, bound_label: str | None = None) -> None:
        #: id(labels) -> (labels, attributes, attribute key, float of ``bound_label`` or NaN)
        self.by_id: dict[
            int, tuple[Mapping[str, str], dict[str, str], tuple[tuple[str, str], ...], float]
        ] = {}
        self._dropped = dropped
        self._bound_label = bound_label

    def get(self, labels: Mapping[str, str]) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
        hit = self.by_id.get(id(labels))
        if hit is None or hit[0] is not labels:
            hit = self.add(labels)
        return hit[1], hit[2]

    def add(
        self, labels: Mapping[str, str]
    ) -> tuple[Mapping[str, str], dict[str, str], tuple[tuple[str, str], ...], float]:
        attrs = _attributes(labels, self._dropped)
        bound = math.nan
        if self._bound_label is not None:
            raw = labels.get(self._bound_label)
            try:
                bound = float(raw) if raw is not None else math.nan
            except ValueError:
                bound = math.nan
        entry = (labels, attrs, tuple(attrs.items()), bound)
        self.by_id[id(labels)] = entry
        return entry


def to_metrics(
    exposition: Exposition,
    *,
    scrape_time_ns: int,
    tracker: SeriesTracker,
    type_overrides: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    report: ConversionReport | None = None,
    trace: ConversionTrace | None = None,
) -> list[Metric]:
    """Convert one scrape. Also emits staleness points for series the previous scrape had.

    With ``trace``, also records which lines fed each point (see :class:`ConversionTrace`).
    """
    with gc_paused():
        return _to_metrics(exposition, scrape_time_ns, tracker, type_overrides or {}, units or {}, report, trace)


def _to_metrics(
    exposition: Exposition,
    scrape_time_ns: int,
    tracker: SeriesTracker,
    overrides: Mapping[str, str],
    unit_map: Mapping[str, str],
    report: ConversionReport | None,
    trace: ConversionTrace | None = None,
) -> list[Metric]:
    report = report if report is not None else ConversionReport()
    cache = _AttributeCache()
    bucket_cache = _AttributeCache(_DROPPED_LABELS | {"le"}, "le")
    quantile_cache = _AttributeCache(_DROPPED_LABELS | {"quantile"}, "quantile")
    metrics: list[Metric] = []
    for family in exposition.families:
        kind = overrides.get(family.name, family.type)
        unit = family.unit or unit_map.get(family.name, "")
        if kind == "counter":
            metrics.extend(_counter(family, unit, scrape_time_ns, tracker, cache, True, trace))
        elif kind in ("info", "stateset"):
            metrics.extend(_counter(family, unit, scrape_time_ns, tracker, cache, False, trace))
        elif kind == "histogram":
            metric = _histogram(family, unit, scrape_time_ns, tracker, report, bucket_cache, trace)
            if metric is not None:
                metrics.append(metric)
        elif kind == "summary":
            metric = _summary(family, unit, scrape_time_ns, tracker, report, quantile_cache, trace)
            if metric is not None:
                metrics.append(metric)
        else:
            metrics.extend(_gauge(family, unit, scrape_time_ns, tracker, cache, trace))
    if trace is not None and report.dropped:
        trace.cacheable = False
    metrics.extend(staleness_metrics(tracker._finish(scrape_time_ns), scrape_time_ns))
    return metrics


def _by_name(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        group = groups.get(sample.name)
        if group is None:
            groups[sample.name] = [sample]
        else:
            group.append(sample)
    return groups


def _gauge(
    family: MetricFamily,
    unit: str,
    now: int,
    tracker: SeriesTracker,
    cache: _AttributeCache,
    trace: ConversionTrace | None = None,
) -> list[Metric]:
    out = []
    by_id = cache.by_id
    series = tracker._series
    current_add = tracker._current.add
    description = family.help
    for name, samples in _by_name(family.samples).items():
        points = []
        append = points.append
        states: list[_SeriesState] = []
        for sample in samples:
            labels = sample.labels
            hit = by_id.get(id(labels))
            if hit is None or hit[0] is not labels:
                hit = cache.add(labels)
            attrs = hit[1]
            key = (name, hit[2])
            # Record the gauge's presence (no start time, only staleness tracking); inlined because this
            # loop runs once per gauge sample of every scrape.
            current_add(key)
            state = series.get(key)
            if state is None:
                state = series[key] = _SeriesState(0, 0.0, now, _GAUGE, description, unit, attrs)
            else:
                state.last_seen_ns = now
            time_ns = now if sample.timestamp_ms is None else sample.timestamp_ms * 1_000_000
            exemplars = _NO_EXEMPLARS if sample.exemplar is None else _exemplar(sample.exemplar, time_ns)
            append(_number_point(attrs, 0, time_ns, sample.value, exemplars))
            if trace is not None:
                states.append(state)
        metric = Metric(name, description, unit, Gauge(points))
        out.append(metric)
        if trace is not None:
            trace.add(metric, _number_trace(samples, states, trace))
    return out


def _number_trace(
    samples: list[Sample], states: list[_SeriesState], trace: ConversionTrace
) -> list[tuple[object, ...]]:
    """``(line, state)`` per point of a counter or gauge, in output order."""
    for sample in samples:
        if sample.line == 0 or sample.timestamp_ms is not None or sample.exemplar is not None:
            trace.cacheable = False
            break
    return list(zip([sample.line for sample in samples], states))


def _counter(
    family: MetricFamily,
    unit: str,
    now: int,
    tracker: SeriesTracker,
    cache: _AttributeCache,
    monotonic: bool,
    trace: ConversionTrace | None = None,
) -> list[Metric]:
    by_name = _by_name(family.samples)
    created: dict[tuple[tuple[str, str], ...], int] = {}
    for name, samples in by_name.items():
        if name.endswith("_created") and name != family.name:
            if trace is not None:
                trace.cacheable = False  # start times come from the body, not from the tracker
            for sample in samples:
                created[cache.get(sample.labels)[1]] = int(sample.value * 1e9)
    kind = _SUM_MONO if monotonic else _SUM
    description = family.help
    by_id = cache.by_id
    series = tracker._series
    current_add = tracker._current.add
    out = []
    for name, samples in by_name.items():
        if name.endswith("_created") and name != family.name:
            continue
        points = []
        append = points.append
        states: list[_SeriesState] = []
        for sample in samples:
            labels = sample.labels
            hit = by_id.get(id(labels))
            if hit is None or hit[0] is not labels:
                hit = cache.add(labels)
            attrs = hit[1]
            key = (name, hit[2])
            value = sample.value
            time_ns = now if sample.timestamp_ms is None else sample.timestamp_ms * 1_000_000
            created_ns = created.get(hit[2]) if created else None
            # SeriesTracker._observe, inlined because this loop runs once per counter sample of every scrape.
            current_add(key)
            state = series.get(key)
            if state is None:
                start = created_ns if created_ns is not None else time_ns
                state = series[key] = _SeriesState(start, value, time_ns, kind, description, unit, attrs)
            else:
                if created_ns is not None:
                    state.start_ns = created_ns
                elif value < state.last_value:  # reset: the counter restarted since the last scrape
                    state.start_ns = time_ns
                state.last_value = value
                state.last_seen_ns = time_ns
                start = state.start_ns
            exemplars = _NO_EXEMPLARS if sample.exemplar is None else _exemplar(sample.exemplar, time_ns)
            append(_number_point(attrs, start, time_ns, value, exemplars))
            if trace is not None:
                states.append(state)
        metric = Metric(name, description, unit, Sum(points, _CUMULATIVE, monotonic))
        out.append(metric)
        if trace is not None:
            trace.add(metric, _number_trace(samples, states, trace))
    return out


@dataclass(slots=True)
class _Group:
    labels: Mapping[str, str]
    time_ns: int
    buckets: list[tuple[float, float, int]] = field(default_factory=list)  # (bound, value, line)
    quantiles: list[tuple[float, float, int]] = field(default_factory=list)
    count: float | None = None
    sum: float = 0.0
    created_ns: int | None = None
    exemplars: list[OtelExemplar] = field(default_factory=list)
    count_line: int = 0
    sum_line: int = 0
    steady: bool = True  # no timestamps or exemplars: the next scrape may reuse this group's layout


def _grouped(
    family: MetricFamily, split_label: str, now: int, report: ConversionReport, cache: _AttributeCache
) -> dict[tuple[tuple[str, str], ...], _Group]:
    """Gather a histogram's or summary's samples per label set (minus ``le``/``quantile``).

    ``cache`` must drop ``split_label`` and parse it as the bound.
    """
    name = family.name
    by_id = cache.by_id
    suffixes: dict[str, str] = {}
    groups: dict[tuple[tuple[str, str], ...], _Group] = {}
    for sample in family.samples:
        labels = sample.labels
        hit = by_id.get(id(labels))
        if hit is None or hit[0] is not labels:
            hit = cache.add(labels)
        key = hit[2]
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(hit[1], _sample_time(sample, now))
        suffix = suffixes.get(sample.name)
        if suffix is None:
            suffix = suffixes[sample.name] = sample.name[len(name):] if sample.name.startswith(name) else sample.name
        if sample.timestamp_ms is not None or sample.exemplar is not None or sample.line == 0:
            group.steady = False
        if suffix == "_count":
            group.count = sample.value
            group.count_line = sample.line
        elif suffix == "_sum":
            group.sum = sample.value
            group.sum_line = sample.line
        elif suffix == "_created":
            group.created_ns = int(sample.value * 1e9)
            group.steady = False
        elif (suffix == "_bucket" and split_label == "le") or (suffix == "" and split_label == "quantile"):
            bound = hit[3]
            if bound != bound:  # NaN: missing or not a number
                raw = labels.get(split_label)
                report.drop(1, f"{sample.name}: missing or invalid {split_label!r} label {raw!r}; sample dropped")
                continue
            (group.buckets if split_label == "le" else group.quantiles).append((bound, sample.value, sample.line))
            if sample.exemplar is not None:
                group.exemplars.extend(_exemplar(sample.exemplar, group.time_ns))
        else:
            report.drop(1, f"{sample.name}: not part of {family.type} {name!r}; sample dropped")
    return groups


def _histogram(
    family: MetricFamily,
    unit: str,
    now: int,
    tracker: SeriesTracker,
    report: ConversionReport,
    cache: _AttributeCache,
    trace: ConversionTrace | None = None,
) -> Metric | None:
    points = []
    entries: list[tuple[object, ...]] = []
    for key, group in _grouped(family, "le", now, report, cache).items():
        if group.count is None:
            report.drop(len(group.buckets) + 1, f"{family.name}{dict(key)}: histogram without _count dropped")
            continue
        group.buckets.sort()
        bounds: list[float] = []
        counts: list[int] = []
        lines: list[int] = []
        ignored: list[int] = []  # +Inf buckets: the count comes from _count, but the line is still a value
        previous = 0.0
        for bound, cumulative, line in group.buckets:
            if math.isinf(bound) and bound > 0:
                ignored.append(line)
                continue
            bounds.append(bound)
            counts.append(max(_whole(cumulative - previous), 0))
            lines.append(line)
            previous = cumulative
        counts.append(max(_whole(group.count - previous), 0))
        count = _whole(group.count)
        start = tracker._observe(
            (family.name, key), group.count, group.time_ns, _HISTOGRAM, family.help, unit,
            dict(group.labels), group.created_ns,
        )
        points.append(
            FlaggedHistogramDataPoint(
                dict(group.labels), start, group.time_ns, count, group.sum, counts, bounds,
                math.nan, math.nan, group.exemplars,
            )
        )
        if trace is not None:
            trace.cacheable = trace.cacheable and group.steady
            entries.append(
                (tuple(lines), group.count_line, group.sum_line, tracker._series[(family.name, key)], bounds, tuple(ignored))
            )
    if not points:
        return None
    metric = Metric(family.name, family.help, unit, Histogram(points, _CUMULATIVE))
    if trace is not None:
        trace.add(metric, entries)
    return metric


def _summary(
    family: MetricFamily,
    unit: str,
    now: int,
    tracker: SeriesTracker,
    report: ConversionReport,
    cache: _AttributeCache,
    trace: ConversionTrace | None = None,
) -> Metric | None:
    points = []
    entries: list[tuple[object, ...]] = []
    for key, group in _grouped(family, "quantile", now, report, cache).items():
        if group.count is None:
            report.drop(len(group.quantiles) + 1, f"{family.name}{dict(key)}: summary without _count dropped")
            continue
        group.quantiles.sort()
        start = tracker._observe(
            (family.name, key), group.count, group.time_ns, _SUMMARY, family.help, unit,
            dict(group.labels), group.created_ns,
        )
        points.append(
            SummaryDataPoint(
                dict(group.labels), start, group.time_ns, _whole(group.count), group.sum,
                tuple(QuantileValue(q, v) for q, v, _line in group.quantiles),
            )
        )
        if trace is not None:
            trace.cacheable = trace.cacheable and group.steady
            lines = tuple(line for _q, _v, line in group.quantiles)
            quantiles = tuple(q for q, _v, _line in group.quantiles)
            entries.append((lines, group.count_line, group.sum_line, tracker._series[(family.name, key)], quantiles, ()))
    if not points:
        return None
    metric = Metric(family.name, family.help, unit, Summary(points))
    if trace is not None:
        trace.add(metric, entries)
    return metric


def staleness_metrics(stale: list[tuple[str, _SeriesState]], time_ns: int) -> list[Metric]:
    """One ``NO_RECORDED_VALUE`` point per vanished series, grouped back into metrics."""
    grouped: dict[tuple[str, int], list[_SeriesState]] = {}
    for name, state in stale:
        grouped.setdefault((name, state.kind), []).append(state)
    out = []
    for (name, kind), states in grouped.items():
        description, unit = states[0].description, states[0].unit
        if kind in (_GAUGE, _SUM_MONO, _SUM):
            points = [
                FlaggedNumberDataPoint(s.attributes, s.start_ns, time_ns, 0.0, flags=NO_RECORDED_VALUE)
                for s in states
            ]
            data = (
                Gauge(points) if kind == _GAUGE else Sum(points, _CUMULATIVE, kind == _SUM_MONO)
            )
        elif kind == _HISTOGRAM:
            data = Histogram(
                [
                    FlaggedHistogramDataPoint(
                        s.attributes, s.start_ns, time_ns, 0, 0.0, [], [], math.nan, math.nan,
                        flags=NO_RECORDED_VALUE,
                    )
                    for s in states
                ],
                _CUMULATIVE,
            )
        else:
            data = Summary(
                [SummaryDataPoint(s.attributes, s.start_ns, time_ns, 0, 0.0, (), NO_RECORDED_VALUE) for s in states]
            )
        out.append(Metric(name, description, unit, data))
    return out
