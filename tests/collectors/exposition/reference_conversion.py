"""The conversion path as it stood before the first-scrape rewrite, frozen as a test oracle.

A straight copy of the per-sample conversion (Prometheus-receiver rules, series tracker with
start times, resets, staleness and collisions) without the layout trace, so the rewritten
conversion can be compared point for point against it on every fixture and generated input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from opentelemetry.sdk.metrics import Exemplar as OtelExemplar
from opentelemetry.sdk.metrics.export import AggregationTemporality, Gauge, Histogram, Metric, Sum

from collectors.exposition._model import Exemplar, Exposition, MetricFamily, Sample
from omni_core.datamodel import (
    NO_RECORDED_VALUE,
    FlaggedHistogramDataPoint,
    FlaggedNumberDataPoint,
    QuantileValue,
    Summary,
    SummaryDataPoint,
)

_CUMULATIVE = AggregationTemporality.CUMULATIVE
_NO_EXEMPLARS: tuple[OtelExemplar, ...] = ()


def _whole(value: float) -> int:
    return int(value) if math.isfinite(value) else 0


def _number_point(attributes, start_ns, time_ns, value, exemplars):
    return FlaggedNumberDataPoint(attributes, start_ns, time_ns, value, exemplars)


def _exemplar(exemplar: Exemplar | None, default_ns: int) -> Sequence[OtelExemplar]:
    if exemplar is None:
        return _NO_EXEMPLARS
    labels = dict(exemplar.labels)
    trace_id = _hex_id(labels.pop("trace_id", None))
    span_id = _hex_id(labels.pop("span_id", None))
    time_ns = int(exemplar.timestamp * 1e9) if exemplar.timestamp is not None else default_ns
    return [OtelExemplar(labels, exemplar.value, time_ns, span_id, trace_id)]


def _hex_id(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


def _sample_time(sample: Sample, scrape_time_ns: int) -> int:
    return sample.timestamp_ms * 1_000_000 if sample.timestamp_ms is not None else scrape_time_ns



class SeriesKind:
    """What a series is, remembered so its staleness point has the right metric type.

    Plain ints rather than an enum: the hot loops pass one per sample.
    """

    GAUGE = 0
    SUM_MONOTONIC = 1
    SUM = 2
    HISTOGRAM = 3
    SUMMARY = 4


_GAUGE, _HISTOGRAM = SeriesKind.GAUGE, SeriesKind.HISTOGRAM

#: ``(metric name, sorted attribute pairs)``: one stored series.
SeriesKey = tuple[str, tuple[tuple[str, str], ...]]

#: Distinct collisions remembered per target so each is logged once; past this, new ones are not logged.
_MAX_REMEMBERED_COLLISIONS = 1000


@dataclass(slots=True)
class SeriesState:
    """What the next scrape needs to know about one series.

    ``width`` is how many exposed samples make up the series' point (1 for a counter or gauge;
    buckets, ``_count`` and ``_sum`` for a histogram), so ``scrape_series_added`` counts exposed
    series as Prometheus does even though a histogram is one stored point.
    """

    start_ns: int
    last_value: float
    last_seen_ns: int
    kind: int
    description: str
    unit: str
    attributes: dict[str, str]
    width: int = 1

    def advance(self, value: float, time_ns: int) -> int:
        """Record a new cumulative value and return the series' start time (see :func:`advance_all`)."""
        return advance_all((self,), (value,), time_ns)[0]


def advance_all(states: Sequence[SeriesState], values: Sequence[float], time_ns: int) -> list[int]:
    """Record new cumulative values of many series at once and return their start times.

    The reset rule, the one place it lives, as the receiver's metrics adjuster applies it: a
    value below the last one means the counter restarted since the last scrape, so a new
    cumulative series starts now. One call for a whole metric keeps the steady-state path, which
    runs this once per counter sample of every scrape, free of a call per sample.
    """
    starts: list[int] = []
    append = starts.append
    for state, value in zip(states, values):
        if value < state.last_value:
            state.start_ns = time_ns
        state.last_value = value
        state.last_seen_ns = time_ns
        append(state.start_ns)
    return starts


@dataclass(frozen=True)
class ScrapeSummary:
    """How one closed scrape changed the target's series."""

    #: series of the previous scrape missing from this one, each to get one staleness point
    stale: list[tuple[str, SeriesState]]
    #: exposed series not in the target's last successful scrape (Prometheus's ``scrape_series_added``)
    series_added: int


class SeriesTracker:
    """Per-target memory of series: start times, last values and presence in the last scrape.

    A scrape is converted by calling :meth:`observe` once per series, then :meth:`finish_scrape`;
    a scrape known to carry exactly the previous scrape's series (the steady-state path) is
    closed with :meth:`finish_unchanged_scrape` instead. Bounded two ways: series unseen for
    ``forget_after_s`` are forgotten, and past ``max_series`` the least recently seen are
    evicted first, so a target that churns label values cannot grow the collector without limit.
    """

    def __init__(self, *, forget_after_s: float = 600.0, max_series: int = 1_000_000) -> None:
        self.forget_after_ns = int(forget_after_s * 1e9)
        self.max_series = max_series
        self._series: dict[SeriesKey, SeriesState] = {}
        self._previous: set[SeriesKey] = set()  # series of the last scrape (empty after a failed one)
        self._last_good: set[SeriesKey] = set()  # series of the last successful scrape
        self._current: set[SeriesKey] = set()
        self._collisions: set[object] = set()
        self._last_sweep_ns = 0

    def __len__(self) -> int:
        return len(self._series)

    def observe(
        self,
        key: SeriesKey,
        value: float,
        time_ns: int,
        kind: int,
        description: str,
        unit: str,
        attributes: dict[str, str],
        created_ns: int | None = None,
        width: int = 1,
    ) -> SeriesState | None:
        """Record one series of the scrape being converted; None if this scrape already had it.

        Gauges (``kind`` ``_GAUGE``) only record presence; cumulative kinds also get a start
        time: ``created_ns`` when the body gave one, else the first time the series was seen,
        restarted on a reset. None means two exposed series became one stored series (their
        labels differ only in what conversion drops): the caller keeps the first.
        """
        current = self._current
        before = len(current)
        current.add(key)
        if len(current) == before:
            return None
        state = self._series.get(key)
        if state is None:
            start = 0 if kind == _GAUGE else created_ns if created_ns is not None else time_ns
            state = self._series[key] = SeriesState(start, value, time_ns, kind, description, unit, attributes, width)
        elif kind == _GAUGE:
            state.last_seen_ns = time_ns
        elif created_ns is not None:
            state.start_ns = created_ns
            state.last_value = value
            state.last_seen_ns = time_ns
        else:
            advance_all((state,), (value,), time_ns)
        if kind >= _HISTOGRAM:  # a histogram's buckets may change; a counter or gauge is one sample
            state.width = width
        return state

    def first_collision(self, collision: object) -> bool:
        """True the first time this target shows ``collision`` (a hashable description), so it is logged once."""
        if collision in self._collisions or len(self._collisions) >= _MAX_REMEMBERED_COLLISIONS:
            return False
        self._collisions.add(collision)
        return True

    def finish_scrape(self, time_ns: int) -> ScrapeSummary:
        """Close a successful scrape: which series vanished, how many are new; then sweep."""
        current = self._current
        vanished = self._previous - current
        added = current - self._last_good
        series = self._series
        stale = [(key[0], series[key]) for key in vanished if key in series]
        series_added = sum(series[key].width for key in added)
        self._previous = self._last_good = current
        self._current = set()
        self._sweep(time_ns)
        return ScrapeSummary(stale, series_added)

    def finish_unchanged_scrape(self, time_ns: int) -> bool:
        """Close a scrape that had exactly the last scrape's series, each already advanced.

        Nothing vanished and nothing is new. False when the sweep evicted series (the tracker's
        bound), so whoever holds on to their states must stop doing so.
        """
        self._current = set()
        before = len(self._series)
        self._sweep(time_ns)
        return len(self._series) == before

    def mark_all_stale(self, time_ns: int) -> list[tuple[str, SeriesState]]:
        """The target is down: every series of its last scrape goes stale now.

        The last successful scrape's series stay remembered for ``scrape_series_added``, as
        Prometheus keeps its scrape cache across failed scrapes.
        """
        series = self._series
        stale = [(key[0], series[key]) for key in self._previous if key in series]
        self._previous = set()
        self._current = set()
        self._sweep(time_ns)
        return stale

    def _sweep(self, now_ns: int) -> None:
        if len(self._series) <= self.max_series and now_ns - self._last_sweep_ns < self.forget_after_ns // 4:
            return
        self._last_sweep_ns = now_ns
        horizon = now_ns - self.forget_after_ns
        for key in [k for k, s in self._series.items() if s.last_seen_ns < horizon]:
            del self._series[key]
        if len(self._series) > self.max_series:
            by_age = sorted(self._series.items(), key=lambda item: item[1].last_seen_ns)
            for key, _ in by_age[: len(self._series) - self.max_series]:
                del self._series[key]
        known = self._series.keys()
        self._previous = self._previous & known
        self._last_good = self._last_good & known


_GAUGE, _SUM_MONO, _SUM = SeriesKind.GAUGE, SeriesKind.SUM_MONOTONIC, SeriesKind.SUM
_HISTOGRAM, _SUMMARY = SeriesKind.HISTOGRAM, SeriesKind.SUMMARY


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
    attrs = {k: labels[k] for k in sorted(labels) if labels[k] and k != bound_label and not k.startswith("__")}
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

    __slots__ = ("by_id", "_bound_label", "_keys", "_full_labels")

    def __init__(self, bound_label: str | None = None) -> None:
        #: id(labels) -> _CacheEntry
        self.by_id: dict[int, _CacheEntry] = {}
        self._bound_label = bound_label
        self._keys: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
        self._full_labels: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}

    def get(self, labels: Mapping[str, str]) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
        hit = self.by_id.get(id(labels))
        if hit is None or hit[0] is not labels:
            hit = self.add(labels)
        return hit[1], hit[2]

    def add(self, labels: Mapping[str, str]) -> _CacheEntry:
        bound_label = self._bound_label
        attrs = _attributes(labels, bound_label)
        key = tuple(attrs.items())
        bound = math.nan
        origin: object = key
        if bound_label is not None:
            raw = labels.get(bound_label)
            try:
                bound = float(raw) if raw is not None else math.nan
            except ValueError:
                bound = math.nan
            origin = key = self._keys.setdefault(key, key)
            if len(attrs) != len(labels) - (raw is not None):
                # something besides the bound label was dropped: only the full labels tell series apart
                full = tuple(sorted((k, v) for k, v in labels.items() if k != bound_label))
                origin = self._full_labels.setdefault(full, full)
        entry = (labels, attrs, key, bound, origin)
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
    report: ConversionReport,
    cache: _AttributeCache,
    trace: ConversionTrace | None = None,
) -> list[Metric]:
    out = []
    by_id = cache.by_id
    observe = tracker.observe
    description = family.help
    for name, samples in _by_name(family.samples).items():
        points: list[FlaggedNumberDataPoint] = []
        append = points.append
        traced: list[NumberTrace] = []
        for sample in samples:
            labels = sample.labels
            hit = by_id.get(id(labels))
            if hit is None or hit[0] is not labels:
                hit = cache.add(labels)
            attrs = hit[1]
            state = observe((name, hit[2]), 0.0, now, _GAUGE, description, unit, attrs)
            if state is None:
                report.merged(tracker, name, attrs, labels)
                continue
            time_ns = now if sample.timestamp_ms is None else sample.timestamp_ms * 1_000_000
            exemplars = _NO_EXEMPLARS if sample.exemplar is None else _exemplar(sample.exemplar, time_ns)
            append(_number_point(attrs, 0, time_ns, sample.value, exemplars))
            if trace is not None:
                traced.append((sample.line, state))
        metric = Metric(name, description, unit, Gauge(points))
        out.append(metric)
        if trace is not None:
            _trace_numbers(trace, metric, samples, traced)
    return out


def _trace_numbers(trace: ConversionTrace, metric: Metric, samples: list[Sample], traced: list[NumberTrace]) -> None:
    for sample in samples:
        if sample.line == 0 or sample.timestamp_ms is not None or sample.exemplar is not None:
            trace.cacheable = False
            break
    trace.metrics.append(TracedNumbers(metric, traced))


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
    observe = tracker.observe
    out = []
    for name, samples in by_name.items():
        if name.endswith("_created") and name != family.name:
            continue
        points: list[FlaggedNumberDataPoint] = []
        append = points.append
        traced: list[NumberTrace] = []
        for sample in samples:
            labels = sample.labels
            hit = by_id.get(id(labels))
            if hit is None or hit[0] is not labels:
                hit = cache.add(labels)
            attrs = hit[1]
            value = sample.value
            time_ns = now if sample.timestamp_ms is None else sample.timestamp_ms * 1_000_000
            created_ns = created.get(hit[2]) if created else None
            state = observe((name, hit[2]), value, time_ns, kind, description, unit, attrs, created_ns)
            if state is None:
                report.merged(tracker, name, attrs, labels)
                continue
            exemplars = _NO_EXEMPLARS if sample.exemplar is None else _exemplar(sample.exemplar, time_ns)
            append(_number_point(attrs, state.start_ns, time_ns, value, exemplars))
            if trace is not None:
                traced.append((sample.line, state))
        metric = Metric(name, description, unit, Sum(points, _CUMULATIVE, monotonic))
        out.append(metric)
        if trace is not None:
            _trace_numbers(trace, metric, samples, traced)
    return out


@dataclass(slots=True)
class _Group:
    labels: Mapping[str, str]
    time_ns: int
    origin: object  # identity of the labels without le/quantile: tells colliding series apart
    buckets: list[tuple[float, float, int]] = field(default_factory=list)  # (bound, value, line)
    quantiles: list[tuple[float, float, int]] = field(default_factory=list)
    count: float | None = None
    sum: float = 0.0
    has_sum: bool = False
    created_ns: int | None = None
    exemplars: list[OtelExemplar] = field(default_factory=list)
    count_line: int = 0
    sum_line: int = 0
    steady: bool = True  # no timestamps or exemplars: the next scrape may reuse this group's layout


def _grouped(
    family: MetricFamily,
    split_label: str,
    now: int,
    tracker: SeriesTracker,
    report: ConversionReport,
    cache: _AttributeCache,
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
            group = groups[key] = _Group(hit[1], _sample_time(sample, now), hit[4])
        elif group.origin is not hit[4]:  # another exposed series that converts to the same attributes
            report.merged(tracker, name, hit[1], {k: v for k, v in labels.items() if k != split_label})
            continue
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
            group.has_sum = True
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
    entries: list[BucketTrace] = []
    for key, group in _grouped(family, "le", now, tracker, report, cache).items():
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
        state = tracker.observe(
            (family.name, key), group.count, group.time_ns, _HISTOGRAM, family.help, unit,
            dict(group.labels), group.created_ns, len(group.buckets) + 1 + group.has_sum,
        )
        if state is None:  # cannot happen for one family's groups, which are keyed by series
            continue
        points.append(
            FlaggedHistogramDataPoint(
                dict(group.labels), state.start_ns, group.time_ns, count, group.sum, counts, bounds,
                math.nan, math.nan, group.exemplars,
            )
        )
        if trace is not None:
            trace.cacheable = trace.cacheable and group.steady
            entries.append((tuple(lines), group.count_line, group.sum_line, state, bounds, tuple(ignored)))
    if not points:
        return None
    metric = Metric(family.name, family.help, unit, Histogram(points, _CUMULATIVE))
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
    for key, group in _grouped(family, "quantile", now, tracker, report, cache).items():
        if group.count is None:
            report.drop(len(group.quantiles) + 1, f"{family.name}{dict(key)}: summary without _count dropped")
            continue
        group.quantiles.sort()
        state = tracker.observe(
            (family.name, key), group.count, group.time_ns, _SUMMARY, family.help, unit,
            dict(group.labels), group.created_ns, len(group.quantiles) + 1 + group.has_sum,
        )
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
        grouped.setdefault((name, state.kind), []).append(state)
    out = []
    for (name, kind), states in grouped.items():
        description, unit = states[0].description, states[0].unit
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
