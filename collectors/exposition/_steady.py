"""Per-target conversion with a steady-state shortcut, the way Prometheus's scrape cache works.

A target answers with the same lines every interval; only the values change. Once two full
parses in a row saw the same layout, this module keeps the layout of the body (every line's text up to its
last space, and the metadata lines whole) and which output point each value feeds. A later
body whose layout is identical is converted from its values alone: one regular expression
picks every line's last token, the body rebuilt from the remembered prefixes and those
tokens must equal it, one tuple comparison proves the other tokens unchanged, and the points
are rebuilt from the remembered attributes and series state (counters and gauges as columns,
:class:`~omni_core.datamodel.NumberPoints`). Any difference at all (a new
series, a changed HELP, a timestamp, a value that is not a plain number) falls back to the
full path, which also gives the exact error for invalid input. The result is the same as
the full path's, which the differential tests check.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Callable, Collection, Mapping, Sequence

from opentelemetry.sdk.metrics.export import Gauge, Histogram, Metric, Sum

from omni_core.datamodel import (
    FlaggedHistogramDataPoint,
    NumberPoints,
    QuantileValue,
    SeriesAttributes,
    Summary,
    SummaryDataPoint,
)

from .._target import ParseLimits
from ._convert import ConversionReport, ConversionTrace, TracedBuckets, TracedNumbers, to_metrics
from ._gcpause import gc_paused
from ._model import Exposition
from ._parser import _decode, parse_with_label_texts
from ._points import _CUMULATIVE, _whole
from ._tracker import SeriesState, SeriesTracker, advance_all

__all__ = ["ConvertedScrape", "TargetConverter"]

_INF = math.inf

#: One match per line (the newline is consumed, so no empty matches): the text up to and
#: including the last space, and the last space-free token (the value of a sample line).
_LINE = re.compile(r"(.* )?(\S*)\n")
#: The last tokens alone: a steady body is checked against the remembered prefixes by rebuilding
#: it from them and these (see ``_from_plan``), cheaper than a string per prefix to compare.
_TOKEN = re.compile(r"(?:.* )?(\S*)\n")


@dataclass(frozen=True)
class ConvertedScrape:
    """One converted scrape. ``exposition`` is None when the steady-state shortcut was taken.

    ``samples`` is what the body exposed (``scrape_samples_scraped``), ``kept`` what conversion
    stored of it (``scrape_samples_post_metric_relabeling``: there is no relabeling, so only our
    own drops count), ``series_added`` the exposed series not in the last successful scrape
    (``scrape_series_added``).
    """

    metrics: list[Metric]
    samples: int
    dropped: int
    warnings: tuple[str, ...]
    exposition: Exposition | None
    steady: bool = False
    kept: int = 0
    series_added: int = 0


#: A counter or gauge point: its value's slot, its attributes, its series.
_NumberSlot = tuple[int, dict[str, str], SeriesState]
#: A histogram or summary point: slots of its bucket or quantile values in output order, of
#: ``_count``, of ``_sum`` (-1 when absent); its series, bounds or quantiles, attributes.
_BucketSlot = tuple[tuple[int, ...], int, int, SeriesState, Sequence[float], dict[str, str]]
#: Picks tokens out of a body's last-token list: one token alone, or a tuple of them.
_Picker = Callable[[list[str]], "str | tuple[str, ...]"]
#: Picks a metric's values out of a scrape's values, as a tuple in point order.
_FloatPicker = Callable[[list[float]], tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class _GaugePlan:
    template: Metric
    points: list[_NumberSlot]


@dataclass(frozen=True, slots=True)
class _SumPlan:
    """Column-wise, so one :func:`advance_all` call advances every series of the metric."""

    template: Metric
    values: _FloatPicker
    attributes: list[dict[str, str]]
    states: list[SeriesState]
    monotonic: bool


@dataclass(frozen=True, slots=True)
class _HistogramPlan:
    template: Metric
    points: list[_BucketSlot]
    states: list[SeriesState]  # the points' series, for one advance_all call per metric


@dataclass(frozen=True, slots=True)
class _SummaryPlan:
    template: Metric
    points: list[_BucketSlot]
    states: list[SeriesState]


_MetricPlan = _GaugePlan | _SumPlan | _HistogramPlan | _SummaryPlan


@dataclass(frozen=True, slots=True)
class _Plan:
    """A remembered layout: what must match in the next body, and what each value feeds."""

    content_type: str
    prefixes: list[str]  # every line's text up to its last token
    fixed_tokens: _Picker  # picks the last tokens of the lines that are not values ...
    fixed: str | tuple[str, ...]  # ... and what they were
    value_lines: _Picker  # picks the value tokens, in slot order
    metrics: list[_MetricPlan]
    samples: int
    warnings: tuple[str, ...]


class TargetConverter:
    """Parse + convert for one target, remembering what the next scrape needs.

    Owns the target's :class:`SeriesTracker`. ``steady`` turns the shortcut off for sources
    whose normalisation depends on values or on other targets.
    """

    def __init__(self, tracker: SeriesTracker | None = None) -> None:
        self.tracker = tracker if tracker is not None else SeriesTracker()
        self._plan: _Plan | None = None
        self._last_layout: int | None = None
        #: what _evaluate derives once per plan (shared attribute columns), and for which plan
        self._derived: tuple[_Plan | None, dict[object, Any]] = (None, {})

    def forget_layout(self) -> None:
        """Drop the remembered layout (the target failed, or its source changed)."""
        self._plan = None
        self._last_layout = None

    def convert(
        self,
        body: bytes | str,
        content_type: str,
        scrape_time_ns: int,
        *,
        limits: ParseLimits = ParseLimits(),
        normalize: Callable[[Exposition], Exposition] | None = None,
        type_overrides: Mapping[str, str] | None = None,
        steady: bool = True,
        missing: Callable[[Exposition], list[str]] | None = None,
    ) -> ConvertedScrape:
        """Raises :class:`~omni_core.errors.ExpositionError` for invalid input, like ``parse_exposition``."""
        text = _decode(body, limits)  # the same bounds and decoding as the full parser
        plan = self._plan if steady else None
        if plan is not None and plan.content_type == content_type:
            metrics = self._from_plan(plan, text, scrape_time_ns)
            if metrics is not None:
                return ConvertedScrape(metrics, plan.samples, 0, plan.warnings, None, True, plan.samples, 0)
        self._plan = None
        with gc_paused():  # one pause for parse and conversion: see _gcpause
            return self._convert_full(
                text, content_type, scrape_time_ns, limits, normalize, type_overrides, steady, missing
            )

    def _convert_full(
        self,
        text: str,
        content_type: str,
        scrape_time_ns: int,
        limits: ParseLimits,
        normalize: Callable[[Exposition], Exposition] | None,
        type_overrides: Mapping[str, str] | None,
        steady: bool,
        missing: Callable[[Exposition], list[str]] | None,
    ) -> ConvertedScrape:
        exposition, label_texts = parse_with_label_texts(text, content_type, limits=limits)
        layout = _layout_fingerprint(exposition, label_texts) if steady else None
        if normalize is not None:
            exposition = normalize(exposition)
        # Remembering a layout costs about as much as converting; do it once the same layout has
        # been seen twice in a row, so a target whose series churn every scrape never pays for it.
        # "The same layout" is judged by a fingerprint (see _layout_fingerprint) that is cheap to
        # compute and small to keep; a false match (say, a comment line whose text changes) only
        # costs building a plan the next scrape then rejects, since a plan checks every line.
        trace: ConversionTrace | None = None
        if steady and exposition.format == "prometheus":
            if layout == self._last_layout:
                trace = ConversionTrace()
            self._last_layout = layout
        converted, report = self._full(exposition, scrape_time_ns, type_overrides, missing, trace)
        if trace is not None and trace.cacheable and not report.dropped:
            self._plan = _build_plan(text, content_type, trace, exposition.sample_count, converted.warnings)
        return converted

    def convert_exposition(
        self,
        exposition: Exposition,
        scrape_time_ns: int,
        *,
        type_overrides: Mapping[str, str] | None = None,
        missing: Callable[[Exposition], list[str]] | None = None,
    ) -> ConvertedScrape:
        """Convert an exposition a source built itself (API sources): always the full path."""
        return self._full(exposition, scrape_time_ns, type_overrides, missing, None)[0]

    def _full(
        self,
        exposition: Exposition,
        scrape_time_ns: int,
        type_overrides: Mapping[str, str] | None,
        missing: Callable[[Exposition], list[str]] | None,
        trace: ConversionTrace | None,
    ) -> tuple[ConvertedScrape, ConversionReport]:
        report = ConversionReport(exposition.dropped, list(exposition.warnings))
        metrics = to_metrics(
            exposition, scrape_time_ns=scrape_time_ns, tracker=self.tracker,
            type_overrides=type_overrides, report=report, trace=trace,
        )
        warnings = report.warnings + report.collisions
        if missing is not None:
            warnings.extend(missing(exposition))
        samples = exposition.sample_count
        kept = samples - (report.dropped - exposition.dropped)  # parse drops are not in sample_count
        converted = ConvertedScrape(
            metrics, samples, report.dropped, tuple(warnings), exposition, False, kept, report.series_added
        )
        return converted, report

    def _from_plan(self, plan: _Plan, text: str, now: int) -> list[Metric] | None:
        derived_for, derived = self._derived
        if derived_for is not plan:
            derived = {}
            self._derived = (plan, derived)
        tokens: list[str] = _TOKEN.findall(text)
        if len(tokens) != len(plan.prefixes):
            return None
        # The body must be the plan's lines with these last tokens: rebuilt and compared whole,
        # which proves every line's prefix unchanged (and that each line split as one) without
        # a string per prefix. Prefixes hold no newline and tokens no whitespace, so an equal
        # body splits into exactly these prefixes and tokens.
        parts = derived.get(_LAYOUT)
        if parts is None:
            parts = derived[_LAYOUT] = _layout_parts(plan.prefixes)
        parts = parts.copy()
        parts[1:-1:2] = tokens
        if "".join(parts) != text:
            return None
        if plan.fixed_tokens(tokens) != plan.fixed:
            return None
        picked = plan.value_lines(tokens)
        raw_values = (picked,) if isinstance(picked, str) else picked
        joined = " ".join(raw_values)
        if "_" in joined or not joined.isascii():  # float() accepts more than the format does
            return None
        try:
            values = list(map(float, raw_values))
        except ValueError:
            return None  # the full path says which line is wrong
        with gc_paused():
            metrics = _evaluate(plan, values, now, derived)
        if not self.tracker.finish_unchanged_scrape(now):
            self._plan = None  # the tracker's bound evicted series this layout still points at
        return metrics


def _layout_fingerprint(exposition: Exposition, label_texts: Collection[str]) -> int:
    """What tells a target's next body from this one beyond its values, from what parsing found
    anyway (no further pass over the body): each family's name, type, HELP, unit and sample
    count, and the distinct label texts in order of first appearance."""
    families = tuple([(f.name, f.type, f.help, f.unit, f.sample_count) for f in exposition.families])
    return hash((families, tuple(label_texts)))


def _build_plan(
    text: str,
    content_type: str,
    trace: ConversionTrace,
    samples: int,
    warnings: tuple[str, ...],
) -> _Plan | None:
    pairs: list[tuple[str, str]] = _LINE.findall(text)
    if len(pairs) != text.count("\n") or not pairs:
        return None
    prefixes = [prefix for prefix, _token in pairs]
    tokens = [token for _prefix, token in pairs]
    # Value slots follow the order in which points use lines; lines are 1-based in the trace.
    used: dict[int, int] = {}
    slot = used.setdefault
    metrics: list[_MetricPlan] = []
    for traced in trace.metrics:
        metric = _template(traced.metric)
        if isinstance(traced, TracedNumbers):
            numbers = [(slot(line - 1, len(used)), state.attributes, state) for line, state in traced.points]
            data = metric.data
            if isinstance(data, Sum):
                positions = [pos for pos, _attrs, _state in numbers]
                picker: _FloatPicker = itemgetter(*positions) if len(positions) != 1 else _one(positions[0])
                metrics.append(
                    _SumPlan(
                        metric, picker, [attrs for _pos, attrs, _state in numbers],
                        [state for _pos, _attrs, state in numbers], data.is_monotonic,
                    )
                )
            else:
                metrics.append(_GaugePlan(metric, numbers))
            continue
        buckets: list[_BucketSlot] = []
        for lines, count_line, sum_line, state, bounds, unused in traced.points:
            for line in unused:  # still a value line: checked as a number, not used
                slot(line - 1, len(used))
            buckets.append(
                (
                    tuple(slot(line - 1, len(used)) for line in lines),
                    slot(count_line - 1, len(used)),
                    slot(sum_line - 1, len(used)) if sum_line else -1,
                    state,
                    bounds,
                    state.attributes,
                )
            )
        states = [point[3] for point in buckets]
        if isinstance(metric.data, Histogram):
            metrics.append(_HistogramPlan(metric, buckets, states))
        else:
            metrics.append(_SummaryPlan(metric, buckets, states))
    if not used:
        return None
    value_lines = list(used)  # slots were handed out in insertion order
    fixed_lines = sorted(set(range(len(tokens))) - used.keys())
    fixed_tokens: _Picker = itemgetter(*fixed_lines) if fixed_lines else _no_tokens
    return _Plan(
        content_type, prefixes, fixed_tokens, fixed_tokens(tokens), itemgetter(*value_lines),
        metrics, samples, warnings,
    )


def _template(metric: Metric) -> Metric:
    """The metric without its points: a plan needs its name, HELP, unit and kind of data, and
    holding the traced scrape's points for that would keep a whole scrape alive per target."""
    data = metric.data
    empty: Gauge | Sum | Histogram | Summary
    if isinstance(data, Sum):
        empty = Sum([], data.aggregation_temporality, data.is_monotonic)
    elif isinstance(data, Histogram):
        empty = Histogram([], data.aggregation_temporality)
    elif isinstance(data, Summary):
        empty = Summary([])
    else:
        empty = Gauge([])
    return Metric(metric.name, metric.description, metric.unit, empty)


def _no_tokens(_tokens: list[str]) -> tuple[str, ...]:
    return ()


#: Key in the per-plan ``derived`` dict of :func:`_layout_parts`'s list.
_LAYOUT = "layout"


def _layout_parts(prefixes: list[str]) -> list[str]:
    """``[p0, _, "\\n" + p1, _, ..., "\\n" + pN, _, "\\n"]``: with each ``_`` set to a line's last
    token, joined, the whole body."""
    parts = [""] * (2 * len(prefixes) + 1)
    parts[0:-1:2] = [prefixes[0], *("\n" + prefix for prefix in prefixes[1:])] if prefixes else []
    parts[-1] = "\n"
    return parts


def _no_values(_values: list[float]) -> tuple[float, ...]:
    return ()


def _one(position: int) -> _FloatPicker:
    """A picker of one value that still answers a tuple, as ``itemgetter`` of several does."""

    def pick(values: list[float]) -> tuple[float, ...]:
        return (values[position],)

    return pick


def _gauge_columns(planned: _GaugePlan) -> tuple[SeriesAttributes, _FloatPicker, list[SeriesState]]:
    positions = [pos for pos, _attrs, _state in planned.points]
    pick: _FloatPicker
    if len(positions) == 1:
        pick = _one(positions[0])
    else:
        pick = itemgetter(*positions) if positions else _no_values
    return (
        SeriesAttributes([attrs for _pos, attrs, _state in planned.points]),
        pick,
        [state for _pos, _attrs, state in planned.points],
    )


def _evaluate(plan: _Plan, values: list[float], now: int, derived: dict[object, Any]) -> list[Metric]:
    """The metrics of one scrape from its values. ``derived`` holds what is computed once per
    plan: counters' and gauges' attribute maps as one shared :class:`SeriesAttributes` each, so
    their points are columns (:class:`NumberPoints`) rather than one object per sample."""
    out: list[Metric] = []
    for index, planned in enumerate(plan.metrics):
        template = planned.template
        if isinstance(planned, _GaugePlan):
            gauge = derived.get(index)
            if gauge is None:
                gauge = derived[index] = _gauge_columns(planned)
            shared, pick, states = gauge
            for state in states:
                state.last_seen_ns = now
            picked = pick(values)
            points = NumberPoints(shared, [0] * len(picked), now, picked)
            out.append(Metric(template.name, template.description, template.unit, Gauge(points)))
        elif isinstance(planned, _SumPlan):
            shared = derived.get(index)
            if shared is None:
                shared = derived[index] = SeriesAttributes(planned.attributes)
            picked = planned.values(values)
            starts = advance_all(planned.states, picked, now)
            points = NumberPoints(shared, starts, now, picked)
            out.append(
                Metric(template.name, template.description, template.unit, Sum(points, _CUMULATIVE, planned.monotonic))
            )
        elif isinstance(planned, _HistogramPlan):
            histogram_points = []
            counts_of_points = [values[point[1]] for point in planned.points]
            starts = advance_all(planned.states, counts_of_points, now)
            for (positions, _count_pos, sum_pos, _state, bounds, attrs), count, start in zip(
                planned.points, counts_of_points, starts
            ):
                counts = []
                previous = 0.0
                for pos in positions:
                    cumulative = values[pos]
                    delta = cumulative - previous
                    # max(_whole(delta), 0), inlined: this runs once per bucket of every scrape
                    counts.append(int(delta) if 0.0 < delta < _INF else 0)
                    previous = cumulative
                counts.append(max(_whole(count - previous), 0))
                # attributes and bounds are shared with earlier scrapes' points: sinks only read them
                histogram_points.append(
                    FlaggedHistogramDataPoint(
                        attrs, start, now, _whole(count),
                        values[sum_pos] if sum_pos >= 0 else 0.0, counts, bounds,
                        math.nan, math.nan, [],
                    )
                )
            out.append(
                Metric(template.name, template.description, template.unit, Histogram(histogram_points, _CUMULATIVE))
            )
        else:
            summary_points = []
            counts_of_points = [values[point[1]] for point in planned.points]
            starts = advance_all(planned.states, counts_of_points, now)
            for (positions, _count_pos, sum_pos, _state, quantiles, attrs), count, start in zip(
                planned.points, counts_of_points, starts
            ):
                summary_points.append(
                    SummaryDataPoint(
                        dict(attrs), start, now, _whole(count),
                        values[sum_pos] if sum_pos >= 0 else 0.0,
                        tuple(QuantileValue(q, values[p]) for q, p in zip(quantiles, positions)),
                    )
                )
            out.append(Metric(template.name, template.description, template.unit, Summary(summary_points)))
    return out
