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
- Attributes: labels minus ``__*`` and ``le``/``quantile``; empty values dropped; keys sorted
  so equal label sets store and group as one. Exposed ``job`` and ``instance`` labels clash with
  the target's own (which become ``service.name``/``service.instance.id``), so they are kept as
  ``exported_job``/``exported_instance`` (``exported_exported_job`` if that is taken too), as
  Prometheus does with ``honor_labels: false``; otherwise federated or pushgateway-style
  targets would merge every instance's series into one.
- Two exposed series that still become one stored series (their labels differ only in what is
  dropped above) keep the first; the rest are dropped, counted, and reported once per target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

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
    build_number_point,
)
from ._gcpause import gc_paused
from ._points import _CUMULATIVE, _NO_EXEMPLARS, _exemplar, _whole
from ._model import Exemplar, Exposition, MetricFamily
from ._tracker import SeriesKind, SeriesState, SeriesTracker

_INF = math.inf
_GAUGE, _SUM_MONO, _SUM = SeriesKind.GAUGE, SeriesKind.SUM_MONOTONIC, SeriesKind.SUM
_HISTOGRAM, _SUMMARY = SeriesKind.HISTOGRAM, SeriesKind.SUMMARY

__all__ = [
    "BucketTrace",
    "ConversionReport",
    "ConversionTrace",
    "NumberTrace",
    "SeriesTracker",
    "TracedBuckets",
    "TracedNumbers",
    "staleness_metrics",
    "to_metrics",
]

#: The target's own labels: exposed ones are renamed ``exported_<name>``, shortest name first as Prometheus does.
_TARGET_LABELS = ("job", "instance")
_EXPORTED = "exported_"


@dataclass
class ConversionReport:
    """What one conversion dropped and why; the scrape loop logs and counts it.

    ``collisions`` holds, once per target, each merge of exposed series into one stored series
    (see :meth:`SeriesTracker.first_collision`); their dropped samples count in ``dropped`` but,
    unlike ``warnings``, are not repeated every scrape. ``series_added`` is filled when the
    scrape is closed.
    """

    dropped: int = 0
    warnings: list[str] = field(default_factory=list)
    collisions: list[str] = field(default_factory=list)
    series_added: int = 0

    def drop(self, count: int, reason: str) -> None:
        self.dropped += count
        if len(self.warnings) < 50:
            self.warnings.append(reason)

    def merged(self, tracker: SeriesTracker, name: str, attributes: Mapping[str, str], labels: Mapping[str, str]) -> None:
        """One exposed sample fell onto a series this scrape already had: drop it, say so once."""
        self.dropped += 1
        if tracker.first_collision((name, tuple(attributes.items()), tuple(sorted(labels.items())))):
            self.collisions.append(
                f"{name}{_label_text(labels)} is stored as the same series as another sample of this "
                f"scrape ({name}{_label_text(attributes)}): their labels differ only in labels that "
                "are not stored (names starting with '__', empty values); kept the first, dropped this one"
            )


#: Per counter or gauge point: the 1-based body line of its value, and its series.
NumberTrace = tuple[int, SeriesState]
#: Per histogram or summary point: value lines of buckets/quantiles in output order, ``_count``
#: line, ``_sum`` line (0 when absent), its series, bounds or quantiles, and value lines the
#: point does not read (the ``+Inf`` bucket: the count comes from ``_count``).
BucketTrace = tuple[tuple[int, ...], int, int, SeriesState, Sequence[float], tuple[int, ...]]


@dataclass(frozen=True)
class TracedNumbers:
    """A converted gauge or sum and where each of its points came from."""

    metric: Metric
    points: list[NumberTrace]


@dataclass(frozen=True)
class TracedBuckets:
    """A converted histogram or summary and where each of its points came from."""

    metric: Metric
    points: list[BucketTrace]


@dataclass
class ConversionTrace:
    """Which body lines fed each output point, so a later scrape with the same layout can be
    converted from its values alone (see :mod:`collectors.exposition._steady`).

    ``metrics`` lists the converted metrics in output order with their points' origins.
    ``cacheable`` turns false when any input could make the next conversion differ beyond its
    values (timestamps, exemplars, ``_created``, samples not read from text, dropped samples).
    """

    metrics: list[TracedNumbers | TracedBuckets] = field(default_factory=list)
    cacheable: bool = True


def _label_text(labels: Mapping[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _attributes(labels: Mapping[str, str], bound_label: str | None) -> dict[str, str]:
    attrs = {k: v for k, v in sorted(labels.items()) if v and k != bound_label and not k.startswith("__")}
    if "job" in attrs or "instance" in attrs:
        for name in _TARGET_LABELS:
            value = attrs.pop(name, None)
            if value is not None:
                exported = _EXPORTED + name
                while exported in attrs:
                    exported = _EXPORTED + exported
                attrs[exported] = value
        attrs = dict(sorted(attrs.items()))
    return attrs


#: One converted label set: the labels, their attributes, the attributes as a key, the float of
#: the bound label (``le``/``quantile``) or NaN, and an identity of the labels without the bound
#: label (one object per distinct set), which tells the buckets of one series from another
#: series' colliding ones.
_CacheEntry = tuple[Mapping[str, str], dict[str, str], tuple[tuple[str, str], ...], float, object]


class _AttributeCache:
    """Label dicts are shared by the parser across samples; convert each distinct one once.

    One cache per bound label (none, histogram ``le``, summary ``quantile``): entries are keyed by
    the identity of the label dict, so one cache must never mix rules.
    """

    __slots__ = ("by_id", "_bound_label", "_keys", "_full_labels", "_rests", "_bounds")

    def __init__(self, bound_label: str | None = None) -> None:
        #: id(labels) -> _CacheEntry
        self.by_id: dict[int, _CacheEntry] = {}
        self._bound_label = bound_label
        self._keys: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
        self._full_labels: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
        #: labels without the bound label, in their order -> (attributes, key, origin)
        self._rests: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], tuple[tuple[str, str], ...], object]] = {}
        #: text of the bound label -> its float (NaN when missing or not a number)
        self._bounds: dict[str | None, float] = {}

    def get(self, labels: Mapping[str, str]) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
        hit = self.by_id.get(id(labels))
        if hit is None or hit[0] is not labels:
            hit = self.add(labels)
        return hit[1], hit[2]

    def add(self, labels: Mapping[str, str]) -> _CacheEntry:
        bound_label = self._bound_label
        if bound_label is None:
            attrs = _attributes(labels, None)
            key = tuple(attrs.items())
            entry = (labels, attrs, key, math.nan, key)
            self.by_id[id(labels)] = entry
            return entry
        # Every bucket of a series has its own label dict, equal but for the bound: convert the
        # rest once per series (the same labels in the same order give the same attributes).
        items = tuple(labels.items())
        if items and items[-1][0] == bound_label:
            rest = items[:-1]
            raw: str | None = items[-1][1]
        else:
            rest = tuple([item for item in items if item[0] != bound_label])
            raw = labels.get(bound_label)
        known = self._rests.get(rest)
        if known is None:
            attrs = _attributes(labels, bound_label)
            key = tuple(attrs.items())
            key = self._keys.setdefault(key, key)
            origin: object = key
            if len(attrs) != len(rest):
                # something besides the bound label was dropped: only the full labels tell series apart
                full = tuple(sorted(rest))
                origin = self._full_labels.setdefault(full, full)
            known = self._rests[rest] = (attrs, key, origin)
        bound = self._bounds.get(raw)  # type: ignore[arg-type]
        if bound is None:
            try:
                bound = float(raw) if raw is not None else math.nan
            except ValueError:
                bound = math.nan
            self._bounds[raw] = bound  # type: ignore[index]
        entry = (labels, known[0], known[1], bound, known[2])
        self.by_id[id(labels)] = entry
        return entry


def to_metrics(
    exposition: Exposition,
    *,
    scrape_time_ns: int,
    tracker: SeriesTracker,
    type_overrides: Mapping[str, str] | None = None,
    report: ConversionReport | None = None,
    trace: ConversionTrace | None = None,
) -> list[Metric]:
    """Convert one scrape. Also emits staleness points for series the previous scrape had.

    With ``trace``, also records which lines fed each point (see :class:`ConversionTrace`).
    """
    with gc_paused():
        return _to_metrics(exposition, scrape_time_ns, tracker, type_overrides or {}, report, trace)


def _to_metrics(
    exposition: Exposition,
    scrape_time_ns: int,
    tracker: SeriesTracker,
    overrides: Mapping[str, str],
    report: ConversionReport | None,
    trace: ConversionTrace | None = None,
) -> list[Metric]:
    report = report if report is not None else ConversionReport()
    cache = _AttributeCache()
    bucket_cache = _AttributeCache("le")
    quantile_cache = _AttributeCache("quantile")
    metrics: list[Metric] = []
    for family in exposition.families:
        kind = overrides.get(family.name, family.type)
        unit = family.unit
        if kind == "counter":
            metrics.extend(_counter(family, unit, scrape_time_ns, tracker, report, cache, True, trace))
        elif kind in ("info", "stateset"):
            metrics.extend(_counter(family, unit, scrape_time_ns, tracker, report, cache, False, trace))
        elif kind == "histogram":
            metric = _histogram(family, unit, scrape_time_ns, tracker, report, bucket_cache, trace)
            if metric is not None:
                metrics.append(metric)
        elif kind == "summary":
            metric = _summary(family, unit, scrape_time_ns, tracker, report, quantile_cache, trace)
            if metric is not None:
                metrics.append(metric)
        else:
            metrics.extend(_gauge(family, unit, scrape_time_ns, tracker, report, cache, trace))
    if trace is not None and report.dropped:
        trace.cacheable = False
    closed = tracker.finish_scrape(scrape_time_ns)
    report.series_added = closed.series_added
    metrics.extend(staleness_metrics(closed.stale, scrape_time_ns))
    return metrics


#: One exposed sample as conversion reads it: name, labels, value, timestamp (ms), exemplar, line.
_Row = tuple[str, Mapping[str, str], float, "int | None", "Exemplar | None", int]


def _rows(family: MetricFamily) -> Iterable[_Row]:
    """The family's samples as rows, straight from the parser's columns when it has them."""
    columns = family.plain_columns()
    if columns is not None:
        return columns.rows()
    return [(s.name, s.labels, s.value, s.timestamp_ms, s.exemplar, s.line) for s in family.samples]


def _by_name(family: MetricFamily) -> dict[str, Iterable[_Row]]:
    """The rows per sample name, in order of first appearance (nearly always one name per family)."""
    columns = family.plain_columns()
    if columns is not None:
        names = columns.names()
        if not names:
            return {}
        if names.count(names[0]) == len(names):
            return {names[0]: _rows(family)}
    groups: dict[str, list[_Row]] = {}
    for row in _rows(family):
        group = groups.get(row[0])
        if group is None:
            groups[row[0]] = [row]
        else:
            group.append(row)
    return groups


def _gauge(
    family: MetricFamily,
    unit: str,
    now: int,
    tracker: SeriesTracker,
    report: ConversionReport,
    cache: _AttributeCache,
    trace: ConversionTrace | None = None,
) -> list[Metric]:
    out = []
    by_id = cache.by_id
    description = family.help
    for name, rows in _by_name(family).items():
        points: list[FlaggedNumberDataPoint] = []
        append = points.append
        traced: list[NumberTrace] = []
        observe = tracker.metric(name, (name, _GAUGE, description, unit)).observe
        for _name, labels, value, timestamp_ms, exemplar, line in rows:
            hit = by_id.get(id(labels))
            if hit is None or hit[0] is not labels:
                hit = cache.add(labels)
            attrs = hit[1]
            state = observe(hit[2], 0.0, now, attrs)
            if state is None:
                report.merged(tracker, name, attrs, labels)
                continue
            time_ns = now if timestamp_ms is None else timestamp_ms * 1_000_000
            exemplars = _NO_EXEMPLARS if exemplar is None else _exemplar(exemplar, time_ns)
            append(build_number_point(attrs, 0, time_ns, value, exemplars))
            if trace is not None:
                traced.append((line, state))
                if line == 0 or timestamp_ms is not None or exemplar is not None:
                    trace.cacheable = False
        metric = Metric(name, description, unit, Gauge(points))
        out.append(metric)
        if trace is not None:
            trace.metrics.append(TracedNumbers(metric, traced))
    return out


def _counter(
    family: MetricFamily,
    unit: str,
    now: int,
    tracker: SeriesTracker,
    report: ConversionReport,
    cache: _AttributeCache,
    monotonic: bool,
    trace: ConversionTrace | None = None,
) -> list[Metric]:
    by_name = _by_name(family)
    created: dict[tuple[tuple[str, str], ...], int] = {}
    for name, rows in by_name.items():
        if name.endswith("_created") and name != family.name:
            if trace is not None:
                trace.cacheable = False  # start times come from the body, not from the tracker
            for row in rows:
                created[cache.get(row[1])[1]] = int(row[2] * 1e9)
    kind = _SUM_MONO if monotonic else _SUM
    description = family.help
    by_id = cache.by_id
    out = []
    for name, rows in by_name.items():
        if name.endswith("_created") and name != family.name:
            continue
        points: list[FlaggedNumberDataPoint] = []
        append = points.append
        traced: list[NumberTrace] = []
        observe = tracker.metric(name, (name, kind, description, unit)).observe
        for _name, labels, value, timestamp_ms, exemplar, line in rows:
            hit = by_id.get(id(labels))
            if hit is None or hit[0] is not labels:
                hit = cache.add(labels)
            attrs = hit[1]
            time_ns = now if timestamp_ms is None else timestamp_ms * 1_000_000
            created_ns = created.get(hit[2]) if created else None
            state = observe(hit[2], value, time_ns, attrs, created_ns)
            if state is None:
                report.merged(tracker, name, attrs, labels)
                continue
            exemplars = _NO_EXEMPLARS if exemplar is None else _exemplar(exemplar, time_ns)
            append(build_number_point(attrs, state.start_ns, time_ns, value, exemplars))
            if trace is not None:
                traced.append((line, state))
                if line == 0 or timestamp_ms is not None or exemplar is not None:
                    trace.cacheable = False
        metric = Metric(name, description, unit, Sum(points, _CUMULATIVE, monotonic))
        out.append(metric)
        if trace is not None:
            trace.metrics.append(TracedNumbers(metric, traced))
    return out


class _Group:
    """The samples of one histogram or summary series, gathered before its point is built."""

    __slots__ = (
        "labels", "time_ns", "origin", "buckets", "count", "sum", "has_sum", "created_ns", "exemplars",
        "count_line", "sum_line", "steady", "ordered", "last_bound",
    )

    def __init__(self, labels: dict[str, str], time_ns: int, origin: object) -> None:
        self.labels = labels
        self.time_ns = time_ns
        self.origin = origin  # identity of the labels without le/quantile: tells colliding series apart
        self.buckets: list[tuple[float, float, int]] = []  # (bound or quantile, value, line)
        self.count: float | None = None
        self.sum = 0.0
        self.has_sum = False
        self.created_ns: int | None = None
        self.exemplars: list[OtelExemplar] = []
        self.count_line = 0
        self.sum_line = 0
        self.steady = True  # no timestamps or exemplars: the next scrape may reuse this group's layout
        self.ordered = True  # buckets came in increasing order of bound: no sort needed
        self.last_bound = -math.inf

    @property
    def quantiles(self) -> list[tuple[float, float, int]]:
        return self.buckets


def _grouped(
    family: MetricFamily,
    split_label: str,
    now: int,
    tracker: SeriesTracker,
    report: ConversionReport,
    cache: _AttributeCache,
    tracing: bool,
) -> dict[tuple[tuple[str, str], ...], _Group]:
    """Gather a histogram's or summary's samples per label set (minus ``le``/``quantile``).

    ``cache`` must drop ``split_label`` and parse it as the bound. ``tracing``: whether to find
    out which groups the next scrape could take from a plan (``_Group.steady``).
    """
    name = family.name
    by_id = cache.by_id
    cache_add = cache.add
    bound_suffix = "_bucket" if split_label == "le" else ""
    # sample name -> 0: bound sample, 1: _count, 2: _sum, 3: _created, 4: not part of the family
    roles: dict[str, int] = {}
    groups: dict[tuple[tuple[str, str], ...], _Group] = {}
    group: _Group | None = None
    origin: object = None  # of the group's labels; None when there is no current group
    prev_name: str | None = None
    role = 4
    for sample_name, labels, value, timestamp_ms, exemplar, line in _rows(family):
        hit = by_id.get(id(labels))
        if hit is None or hit[0] is not labels:
            hit = cache_add(labels)
        if hit[4] is not origin:  # not the series of the previous sample
            key = hit[2]
            group = groups.get(key)
            if group is None:
                time_ns = now if timestamp_ms is None else timestamp_ms * 1_000_000
                group = groups[key] = _Group(hit[1], time_ns, hit[4])
            elif group.origin is not hit[4]:  # another exposed series that converts to the same attributes
                report.merged(tracker, name, hit[1], {k: v for k, v in labels.items() if k != split_label})
                group = origin = None
                continue
            origin = hit[4]
        if sample_name is not prev_name:  # names are shared by the parser: one lookup per run of a name
            prev_name = sample_name
            role = roles.get(sample_name)  # type: ignore[assignment]
            if role is None:
                suffix = sample_name[len(name):] if sample_name.startswith(name) else sample_name
                role = roles[sample_name] = (
                    0 if suffix == bound_suffix else 1 if suffix == "_count" else 2 if suffix == "_sum"
                    else 3 if suffix == "_created" else 4
                )
        if tracing and (timestamp_ms is not None or exemplar is not None or line == 0):
            group.steady = False  # type: ignore[union-attr]
        if role == 0:
            bound = hit[3]
            if bound != bound:  # NaN: missing or not a number
                raw = labels.get(split_label)
                report.drop(1, f"{sample_name}: missing or invalid {split_label!r} label {raw!r}; sample dropped")
                continue
            if bound <= group.last_bound:  # type: ignore[union-attr]
                group.ordered = False  # type: ignore[union-attr]
            group.last_bound = bound  # type: ignore[union-attr]
            group.buckets.append((bound, value, line))  # type: ignore[union-attr]
            if exemplar is not None:
                group.exemplars.extend(_exemplar(exemplar, group.time_ns))  # type: ignore[union-attr]
        elif role == 1:
            group.count = value  # type: ignore[union-attr]
            group.count_line = line  # type: ignore[union-attr]
        elif role == 2:
            group.sum = value  # type: ignore[union-attr]
            group.has_sum = True  # type: ignore[union-attr]
            group.sum_line = line  # type: ignore[union-attr]
        elif role == 3:
            group.created_ns = int(value * 1e9)  # type: ignore[union-attr]
            group.steady = False  # type: ignore[union-attr]
        else:
            report.drop(1, f"{sample_name}: not part of {family.type} {name!r}; sample dropped")
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
    entries: list[BucketTrace] = []
    name = family.name
    observe = tracker.metric(name, (name, _HISTOGRAM, family.help, unit)).observe
    for key, group in _grouped(family, "le", now, tracker, report, cache, trace is not None).items():
        count_value = group.count
        buckets = group.buckets
        if count_value is None:
            report.drop(len(buckets) + 1, f"{name}{dict(key)}: histogram without _count dropped")
            continue
        if not group.ordered:
            buckets.sort()
        bounds: list[float] = []
        counts: list[int] = []
        lines: list[int] = []
        ignored: list[int] = []  # +Inf buckets: the count comes from _count, but the line is still a value
        previous = 0.0
        for bound, cumulative, line in buckets:
            if bound == _INF:
                ignored.append(line)
                continue
            bounds.append(bound)
            delta = cumulative - previous
            counts.append(int(delta) if 0.0 < delta < _INF else 0)  # max(_whole(delta), 0)
            lines.append(line)
            previous = cumulative
        delta = count_value - previous
        counts.append(int(delta) if 0.0 < delta < _INF else 0)
        attrs = group.labels
        state = observe(key, count_value, group.time_ns, attrs, group.created_ns, len(buckets) + 1 + group.has_sum)
        if state is None:  # cannot happen for one family's groups, which are keyed by series
            continue
        # the attributes are shared with the series' state and other points: sinks only read them
        points.append(
            FlaggedHistogramDataPoint(
                attrs, state.start_ns, group.time_ns, _whole(count_value), group.sum, counts, bounds,
                math.nan, math.nan, group.exemplars,
            )
        )
        if trace is not None:
            trace.cacheable = trace.cacheable and group.steady
            entries.append((tuple(lines), group.count_line, group.sum_line, state, bounds, tuple(ignored)))
    if not points:
        return None
    metric = Metric(name, family.help, unit, Histogram(points, _CUMULATIVE))
    if trace is not None:
        trace.metrics.append(TracedBuckets(metric, entries))
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
    entries: list[BucketTrace] = []
    observe = tracker.metric(family.name, (family.name, _SUMMARY, family.help, unit)).observe
    for key, group in _grouped(family, "quantile", now, tracker, report, cache, trace is not None).items():
        if group.count is None:
            report.drop(len(group.quantiles) + 1, f"{family.name}{dict(key)}: summary without _count dropped")
            continue
        group.quantiles.sort()
        width = len(group.quantiles) + 1 + group.has_sum
        state = observe(key, group.count, group.time_ns, group.labels, group.created_ns, width)
        if state is None:  # cannot happen for one family's groups, which are keyed by series
            continue
        points.append(
            SummaryDataPoint(
                dict(group.labels), state.start_ns, group.time_ns, _whole(group.count), group.sum,
                tuple(QuantileValue(q, v) for q, v, _line in group.quantiles),
            )
        )
        if trace is not None:
            trace.cacheable = trace.cacheable and group.steady
            lines = tuple(line for _q, _v, line in group.quantiles)
            quantiles = tuple(q for q, _v, _line in group.quantiles)
            entries.append((lines, group.count_line, group.sum_line, state, quantiles, ()))
    if not points:
        return None
    metric = Metric(family.name, family.help, unit, Summary(points))
    if trace is not None:
        trace.metrics.append(TracedBuckets(metric, entries))
    return metric


def staleness_metrics(stale: list[tuple[str, SeriesState]], time_ns: int) -> list[Metric]:
    """One ``NO_RECORDED_VALUE`` point per vanished series, grouped back into metrics."""
    grouped: dict[tuple[str, int], list[SeriesState]] = {}
    for name, state in stale:
        grouped.setdefault((name, state.meta[1]), []).append(state)
    out = []
    for (name, kind), states in grouped.items():
        _name, _kind, description, unit = states[0].meta
        data: Gauge | Sum | Histogram | Summary
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
