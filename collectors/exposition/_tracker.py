"""Per-target memory of series across scrapes: start times, last values, presence.

Why it exists: Prometheus counters carry no start time, but OTLP cumulative sums need one,
and dashboards compute rates per series between resets. The Collector's Prometheus receiver
keeps a first-seen time per series that restarts when the value goes down; so does this. The
same state remembers which series the previous scrape had, so a series that vanishes (or a
target that goes down) gets exactly one staleness point, and how many series a scrape added
(``scrape_series_added``).

The API is shaped for the hot loops that call it once per sample: :meth:`MetricSeries.observe`
(from :meth:`SeriesTracker.metric`, once per metric) records one series of the scrape being
converted and hands back its :class:`SeriesState`,
and :func:`advance_all` (behind :meth:`SeriesState.advance`) is the one place the counter-reset
rule lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

__all__ = [
    "AttributesKey", "MetricSeries", "ScrapeSummary", "SeriesKey", "SeriesKind", "SeriesMeta", "SeriesState",
    "SeriesTracker", "advance_all",
]


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

#: Sorted attribute pairs: one stored series among those of one metric name.
AttributesKey = tuple[tuple[str, str], ...]
#: ``(metric name, sorted attribute pairs)``: one stored series.
SeriesKey = tuple[str, AttributesKey]
#: What all series of one converted metric share: ``(metric name, kind, description, unit)``.
SeriesMeta = tuple[str, int, str, str]

#: Distinct collisions remembered per target so each is logged once; past this, new ones are not logged.
_MAX_REMEMBERED_COLLISIONS = 1000


class SeriesState:
    """What the next scrape needs to know about one series.

    One small object per series, kept for as long as the target's series live: what all series
    of a metric share (name, kind, description, unit) is one tuple, ``meta``, shared by them all;
    ``attributes`` is the same dict the series' points carry; ``scrape`` is the number of the
    last scrape that had the series, which is all the tracker needs to tell present, vanished
    and new series apart (no per-scrape sets of keys). ``width`` is how many exposed samples make
    up the series' point (1 for a counter or gauge; buckets, ``_count`` and ``_sum`` for a
    histogram), so ``scrape_series_added`` counts exposed series as Prometheus does even though
    a histogram is one stored point.
    """

    __slots__ = ("start_ns", "last_value", "last_seen_ns", "scrape", "meta", "attributes", "width")

    def __init__(
        self,
        start_ns: int,
        last_value: float,
        last_seen_ns: int,
        scrape: int,
        meta: SeriesMeta,
        attributes: dict[str, str],
        width: int = 1,
    ) -> None:
        self.start_ns = start_ns
        self.last_value = last_value
        self.last_seen_ns = last_seen_ns
        self.scrape = scrape
        self.meta = meta
        self.attributes = attributes
        self.width = width

    @property
    def name(self) -> str:
        return self.meta[0]

    @property
    def kind(self) -> int:
        return self.meta[1]

    @property
    def description(self) -> str:
        return self.meta[2]

    @property
    def unit(self) -> str:
        return self.meta[3]

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


class MetricSeries:
    """The series of one metric name within a tracker, as one conversion of that metric sees them.

    Conversion asks the tracker for this once per metric (:meth:`SeriesTracker.metric`) and then
    calls :meth:`observe` once per sample with just the sample's attribute key, so no per-series
    key tuple is built, hashed or kept: the tracker holds one table of states per metric name.
    """

    __slots__ = ("_tracker", "_states", "_meta", "_scrape", "_last_good")

    def __init__(self, tracker: SeriesTracker, states: dict[AttributesKey, SeriesState], meta: SeriesMeta) -> None:
        self._tracker = tracker
        self._states = states
        self._meta = meta
        self._scrape = tracker._scrape
        self._last_good = tracker._last_good

    def observe(
        self,
        key: AttributesKey,
        value: float,
        time_ns: int,
        attributes: dict[str, str],
        created_ns: int | None = None,
        width: int = 1,
    ) -> SeriesState | None:
        """Record one series of the scrape being converted; None if this scrape already had it.

        Gauges (kind ``GAUGE``) only record presence; cumulative kinds also get a start time:
        ``created_ns`` when the body gave one, else the first time the series was seen,
        restarted on a reset. None means two exposed series became one stored series (their
        labels differ only in what conversion drops): the caller keeps the first.
        """
        state = self._states.get(key)
        if state is None:
            meta = self._meta
            start = 0 if meta[1] == _GAUGE else created_ns if created_ns is not None else time_ns
            state = self._states[key] = SeriesState(start, value, time_ns, self._scrape, meta, attributes, width)
            tracker = self._tracker
            tracker._count += 1
            tracker._added += width
            return state
        scrape = self._scrape
        if state.scrape == scrape:
            return None
        if state.scrape != self._last_good:
            self._tracker._added += width
        state.scrape = scrape
        kind = self._meta[1]
        if kind == _GAUGE:
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


class SeriesTracker:
    """Per-target memory of series: start times, last values and presence in the last scrape.

    A scrape is converted by observing each series through :meth:`metric` (once per metric,
    then once per sample), then :meth:`finish_scrape`; a scrape known to carry exactly the
    previous scrape's series (the steady-state path) is closed with
    :meth:`finish_unchanged_scrape` instead. Bounded two ways: series unseen for
    ``forget_after_s`` are forgotten, and past ``max_series`` the least recently seen are
    evicted first, so a target that churns label values cannot grow the collector without limit.

    Presence is kept as scrape numbers: each scrape being converted has a number, each series
    remembers the number of the last scrape that had it, and the tracker remembers the numbers
    of the previous scrape (none after a failed one, whose series already went stale) and of
    the last successful one (for ``scrape_series_added``).
    """

    def __init__(self, *, forget_after_s: float = 600.0, max_series: int = 1_000_000) -> None:
        self.forget_after_ns = int(forget_after_s * 1e9)
        self.max_series = max_series
        #: metric name -> attribute key -> state
        self._series: dict[str, dict[AttributesKey, SeriesState]] = {}
        self._count = 0  # series held, over all metric names
        self._scrape = 1  # number of the scrape being converted
        self._previous = 0  # number of the previous scrape (0: none, or it failed)
        self._last_good = 0  # number of the last successful scrape
        self._added = 0  # exposed series of this scrape not in the last successful one
        self._collisions: set[object] = set()
        self._last_sweep_ns = 0

    def __len__(self) -> int:
        return self._count

    def metric(self, name: str, meta: SeriesMeta) -> MetricSeries:
        """The series of metric ``name``, for observing this scrape's samples of it.

        ``meta`` (``(name, kind, description, unit)``) is what new series of it remember, for
        their staleness points; the kind also selects how :meth:`MetricSeries.observe` records.
        """
        states = self._series.get(name)
        if states is None:
            states = self._series[name] = {}
        return MetricSeries(self, states, meta)

    def observe(
        self,
        key: SeriesKey,
        value: float,
        time_ns: int,
        meta: SeriesMeta,
        attributes: dict[str, str],
        created_ns: int | None = None,
        width: int = 1,
    ) -> SeriesState | None:
        """One series at once (``key`` is ``(metric name, attribute key)``): see :meth:`MetricSeries.observe`."""
        return self.metric(key[0], meta).observe(key[1], value, time_ns, attributes, created_ns, width)

    def first_collision(self, collision: object) -> bool:
        """True the first time this target shows ``collision`` (a hashable description), so it is logged once."""
        if collision in self._collisions or len(self._collisions) >= _MAX_REMEMBERED_COLLISIONS:
            return False
        self._collisions.add(collision)
        return True

    def finish_scrape(self, time_ns: int) -> ScrapeSummary:
        """Close a successful scrape: which series vanished, how many are new; then sweep."""
        stale = self._of_scrape(self._previous)
        series_added = self._added
        self._previous = self._last_good = self._scrape
        self._next_scrape()
        self._sweep(time_ns)
        return ScrapeSummary(stale, series_added)

    def finish_unchanged_scrape(self, time_ns: int) -> bool:
        """Close a scrape that had exactly the last scrape's series, each already advanced.

        Nothing vanished and nothing is new. False when the sweep evicted series (the tracker's
        bound), so whoever holds on to their states must stop doing so.
        """
        self._next_scrape()
        before = self._count
        self._sweep(time_ns)
        return self._count == before

    def mark_all_stale(self, time_ns: int) -> list[tuple[str, SeriesState]]:
        """The target is down: every series of its last scrape goes stale now.

        The last successful scrape's series stay remembered for ``scrape_series_added``, as
        Prometheus keeps its scrape cache across failed scrapes.
        """
        stale = self._of_scrape(self._previous)
        self._previous = 0
        self._next_scrape()
        self._sweep(time_ns)
        return stale

    def _of_scrape(self, scrape: int) -> list[tuple[str, SeriesState]]:
        """The series whose last scrape is ``scrape`` (0: none), with their metric names."""
        if not scrape:
            return []
        return [
            (name, state)
            for name, states in self._series.items()
            for state in states.values()
            if state.scrape == scrape
        ]

    def _next_scrape(self) -> None:
        """Start numbering the next scrape; whatever the current one observed so far stays its own."""
        self._scrape += 1
        self._added = 0

    def _sweep(self, now_ns: int) -> None:
        if self._count <= self.max_series and now_ns - self._last_sweep_ns < self.forget_after_ns // 4:
            return
        self._last_sweep_ns = now_ns
        horizon = now_ns - self.forget_after_ns
        for states in self._series.values():
            old = [key for key, state in states.items() if state.last_seen_ns < horizon]
            for key in old:
                del states[key]
            self._count -= len(old)
        if self._count > self.max_series:
            by_age = sorted(
                (
                    (state.last_seen_ns, name, key)
                    for name, states in self._series.items()
                    for key, state in states.items()
                ),
                key=lambda entry: entry[0],
            )
            for _seen, name, key in by_age[: self._count - self.max_series]:
                del self._series[name][key]
            self._count = self.max_series
        for name in [name for name, states in self._series.items() if not states]:
            del self._series[name]
