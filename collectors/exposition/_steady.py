"""Per-target conversion with a steady-state shortcut, the way Prometheus's scrape cache works.

A target answers with the same lines every interval; only the values change. Once two full
parses in a row saw the same layout, this module keeps the layout of the body (every line's text up to its
last space, and the metadata lines whole) and which output point each value feeds. A later
body whose layout is identical is converted from its values alone: one regular expression
splits every line, one tuple comparison proves the layout unchanged, and the points are
rebuilt from the remembered attributes and series state. Any difference at all (a new
series, a changed HELP, a timestamp, a value that is not a plain number) falls back to the
full path, which also gives the exact error for invalid input. The result is the same as
the full path's, which the differential tests check.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Callable, Mapping

from opentelemetry.sdk.metrics.export import Gauge, Histogram, Metric, Sum

from omni_core.datamodel import FlaggedHistogramDataPoint, QuantileValue, Summary, SummaryDataPoint

from .._target import ParseLimits
from ._convert import ConversionReport, ConversionTrace, to_metrics
from ._gcpause import gc_paused
from ._model import Exposition
from ._parser import _decode, parse_exposition
from ._points import _CUMULATIVE, _NO_EXEMPLARS, _number_point, _whole
from ._tracker import SeriesTracker

__all__ = ["ConvertedScrape", "TargetConverter"]

_INF = math.inf

#: One match per line (the newline is consumed, so no empty matches): the text up to and
#: including the last space, and the last space-free token (the value of a sample line).
_LINE = re.compile(r"(.* )?(\S*)\n")
#: The same split, one side at a time: two passes returning flat lists of strings are cheaper
#: than one pass returning pairs that must then be unzipped.
_PREFIX = re.compile(r"(.* )?\S*\n")
_TOKEN = re.compile(r"(?:.* )?(\S*)\n")


@dataclass(frozen=True)
class ConvertedScrape:
    """One converted scrape. ``exposition`` is None when the steady-state shortcut was taken."""

    metrics: list[Metric]
    samples: int
    dropped: int
    warnings: tuple[str, ...]
    exposition: Exposition | None
    steady: bool = False


@dataclass
class _Plan:
    content_type: str
    prefixes: list[str]
    fixed_tokens: Callable[[tuple[str, ...]], object]  # picks the last tokens of the lines that are not values
    fixed: object  # ... and what they were
    value_lines: itemgetter  # picks the value tokens, in value-position order
    metrics: list[tuple[Metric, list[tuple[object, ...]]]]  # with positions instead of lines
    samples: int
    warnings: tuple[str, ...]
    series_count: int = 0
    kinds: list[str] = field(default_factory=list)


class TargetConverter:
    """Parse + convert for one target, remembering what the next scrape needs.

    Owns the target's :class:`SeriesTracker`. ``steady`` turns the shortcut off for sources
    whose normalisation depends on values or on other targets.
    """

    def __init__(self, tracker: SeriesTracker | None = None) -> None:
        self.tracker = tracker if tracker is not None else SeriesTracker()
        self._plan: _Plan | None = None
        self._last_prefixes: list[str] | None = None

    def forget_layout(self) -> None:
        """Drop the remembered layout (the target failed, or its source changed)."""
        self._plan = None
        self._last_prefixes = None

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
                return ConvertedScrape(metrics, plan.samples, 0, plan.warnings, None, True)
        self._plan = None
        exposition = parse_exposition(text, content_type, limits=limits)
        if normalize is not None:
            exposition = normalize(exposition)
        report = ConversionReport(exposition.dropped, list(exposition.warnings))
        # Remembering a layout costs about as much as converting; do it once the same layout has
        # been seen twice in a row, so a target whose series churn every scrape never pays for it.
        pairs: list[tuple[str, str]] = []
        prefixes: list[str] = []
        trace: ConversionTrace | None = None
        if steady and exposition.format == "prometheus":
            pairs = _LINE.findall(text)
            prefixes = [prefix for prefix, _token in pairs]
            if prefixes == self._last_prefixes:
                trace = ConversionTrace()
            self._last_prefixes = prefixes
        metrics = to_metrics(
            exposition, scrape_time_ns=scrape_time_ns, tracker=self.tracker,
            type_overrides=type_overrides, report=report, trace=trace,
        )
        warnings = list(report.warnings)
        if missing is not None:
            warnings.extend(missing(exposition))
        if trace is not None and trace.cacheable and not report.dropped:
            self._plan = _build_plan(
                text, pairs, prefixes, content_type, trace, exposition.sample_count, tuple(warnings), len(self.tracker)
            )
        return ConvertedScrape(metrics, exposition.sample_count, report.dropped, tuple(warnings), exposition)

    def _from_plan(self, plan: _Plan, text: str, now: int) -> list[Metric] | None:
        if _PREFIX.findall(text) != plan.prefixes:
            return None
        tokens = _TOKEN.findall(text)
        if len(tokens) != text.count("\n"):  # a line the expression could not split as one
            return None
        if plan.fixed_tokens(tokens) != plan.fixed:
            return None
        raw_values = plan.value_lines(tokens)
        if not isinstance(raw_values, tuple):
            raw_values = (raw_values,)
        joined = " ".join(raw_values)
        if "_" in joined or not joined.isascii():  # float() accepts more than the format does
            return None
        try:
            values = list(map(float, raw_values))
        except ValueError:
            return None  # the full path says which line is wrong
        with gc_paused():
            metrics = _evaluate(plan, values, now)
        tracker = self.tracker
        tracker._current = set()  # same series as last time: nothing vanished, nothing new
        tracker._sweep(now)
        if len(tracker) != plan.series_count:
            self._plan = None  # the tracker's bound evicted series this layout still points at
        return metrics


def _build_plan(
    text: str,
    pairs: list[tuple[str, str]],
    prefixes: list[str],
    content_type: str,
    trace: ConversionTrace,
    samples: int,
    warnings: tuple[str, ...],
    series: int,
) -> _Plan | None:
    if len(pairs) != text.count("\n") or not pairs:
        return None
    tokens = tuple(token for _prefix, token in pairs)
    # Value positions follow the order in which points use lines; lines are 1-based in the trace.
    used: dict[int, int] = {}
    metrics: list[tuple[Metric, list[tuple[object, ...]]]] = []
    kinds: list[str] = []
    for metric, entries in zip(trace.metrics, trace.series):
        planned: list[tuple[object, ...]] = []
        if isinstance(metric.data, (Gauge, Sum)):
            for (line, state), point in zip(entries, metric.data.data_points):
                slot = used.setdefault(line - 1, len(used))  # type: ignore[operator]
                planned.append((slot, point.attributes, state))
            kinds.append("gauge" if isinstance(metric.data, Gauge) else "sum")
        else:
            for (lines, count_line, sum_line, state, bounds, unused), point in zip(entries, metric.data.data_points):
                for line in unused:  # type: ignore[attr-defined]
                    used.setdefault(line - 1, len(used))  # still a value line: checked as a number, not used
                planned.append(
                    (
                        tuple(used.setdefault(line - 1, len(used)) for line in lines),  # type: ignore[attr-defined]
                        used.setdefault(count_line - 1, len(used)),  # type: ignore[operator]
                        used.setdefault(sum_line - 1, len(used)) if sum_line else -1,  # type: ignore[operator]
                        state,
                        bounds,
                        point.attributes,
                    )
                )
            kinds.append("histogram" if isinstance(metric.data, Histogram) else "summary")
        metrics.append((metric, planned))
    if not used:
        return None
    value_lines = list(used)  # slots were handed out in insertion order
    fixed_lines = sorted(set(range(len(tokens))) - used.keys())
    fixed_tokens = itemgetter(*fixed_lines) if fixed_lines else (lambda _tokens: ())
    return _Plan(
        content_type, prefixes, fixed_tokens, fixed_tokens(tokens), itemgetter(*value_lines),
        metrics, samples, warnings, series, kinds,
    )


def _evaluate(plan: _Plan, values: list[float], now: int) -> list[Metric]:
    out: list[Metric] = []
    for (template, series), kind in zip(plan.metrics, plan.kinds):
        if kind == "gauge":
            points = []
            append = points.append
            for pos, attrs, state in series:
                state.last_seen_ns = now  # type: ignore[attr-defined]
                append(_number_point(attrs, 0, now, values[pos], _NO_EXEMPLARS))  # type: ignore[arg-type,index]
            out.append(Metric(template.name, template.description, template.unit, Gauge(points)))
        elif kind == "sum":
            points = []
            append = points.append
            for pos, attrs, state in series:
                value = values[pos]  # type: ignore[index]
                if value < state.last_value:  # type: ignore[attr-defined]  # reset: a new cumulative series
                    state.start_ns = now  # type: ignore[attr-defined]
                state.last_value = value  # type: ignore[attr-defined]
                state.last_seen_ns = now  # type: ignore[attr-defined]
                append(_number_point(attrs, state.start_ns, now, value, _NO_EXEMPLARS))  # type: ignore[arg-type,attr-defined]
            data = template.data
            out.append(Metric(template.name, template.description, template.unit, Sum(points, _CUMULATIVE, data.is_monotonic)))  # type: ignore[union-attr]
        elif kind == "histogram":
            points = []
            for positions, count_pos, sum_pos, state, bounds, attrs in series:
                count = values[count_pos]  # type: ignore[index]
                counts = []
                previous = 0.0
                for pos in positions:  # type: ignore[attr-defined]
                    cumulative = values[pos]
                    delta = cumulative - previous
                    # max(_whole(delta), 0), inlined: this runs once per bucket of every scrape
                    counts.append(int(delta) if 0.0 < delta < _INF else 0)
                    previous = cumulative
                counts.append(max(_whole(count - previous), 0))
                _observe(state, count, now)
                # attributes and bounds are shared with earlier scrapes' points: sinks only read them
                points.append(
                    FlaggedHistogramDataPoint(
                        attrs, state.start_ns, now, _whole(count),  # type: ignore[arg-type,attr-defined]
                        values[sum_pos] if sum_pos >= 0 else 0.0, counts, bounds,  # type: ignore[index,operator,arg-type]
                        math.nan, math.nan, [],
                    )
                )
            out.append(Metric(template.name, template.description, template.unit, Histogram(points, _CUMULATIVE)))
        else:
            points = []
            for positions, count_pos, sum_pos, state, quantiles, attrs in series:
                count = values[count_pos]  # type: ignore[index]
                _observe(state, count, now)
                points.append(
                    SummaryDataPoint(
                        dict(attrs), state.start_ns, now, _whole(count),  # type: ignore[arg-type,attr-defined]
                        values[sum_pos] if sum_pos >= 0 else 0.0,  # type: ignore[index,operator]
                        tuple(QuantileValue(q, values[p]) for q, p in zip(quantiles, positions)),  # type: ignore[call-overload]
                    )
                )
            out.append(Metric(template.name, template.description, template.unit, Summary(points)))
    return out


def _observe(state: object, value: float, now: int) -> None:
    if value < state.last_value:  # type: ignore[attr-defined]
        state.start_ns = now  # type: ignore[attr-defined]
    state.last_value = value  # type: ignore[attr-defined]
    state.last_seen_ns = now  # type: ignore[attr-defined]
