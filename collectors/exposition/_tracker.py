"""Per-target memory of series across scrapes: start times, last values, presence.

Why it exists: Prometheus counters carry no start time, but OTLP cumulative sums need one,
and dashboards compute rates per series between resets. The Collector's Prometheus receiver
keeps a first-seen time per series that restarts when the value goes down; so does this. The
same state remembers which series the previous scrape had, so a series that vanishes (or a
target that goes down) gets exactly one staleness point.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SeriesTracker"]

# Kinds of series remembered for staleness markers.
_GAUGE, _SUM_MONO, _SUM, _HISTOGRAM, _SUMMARY = range(5)


@dataclass(slots=True)
class _SeriesState:
    start_ns: int
    last_value: float
    last_seen_ns: int
    kind: int
    description: str
    unit: str
    attributes: dict[str, str]


class SeriesTracker:
    """Per-target memory of series: start times, last values and presence in the last scrape.

    Bounded two ways: series unseen for ``forget_after_s`` are forgotten, and past
    ``max_series`` the least recently seen are evicted first, so a target that churns
    label values cannot grow the collector without limit.
    """

    def __init__(self, *, forget_after_s: float = 600.0, max_series: int = 1_000_000) -> None:
        self.forget_after_ns = int(forget_after_s * 1e9)
        self.max_series = max_series
        self._series: dict[tuple[str, tuple[tuple[str, str], ...]], _SeriesState] = {}
        self._previous: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        self._current: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        self._last_sweep_ns = 0

    def __len__(self) -> int:
        return len(self._series)

    def _observe(
        self,
        key: tuple[str, tuple[tuple[str, str], ...]],
        value: float,
        time_ns: int,
        kind: int,
        description: str,
        unit: str,
        attributes: dict[str, str],
        created_ns: int | None,
    ) -> int:
        """Record one cumulative observation and return its start time."""
        self._current.add(key)
        state = self._series.get(key)
        if state is None:
            start = created_ns if created_ns is not None else time_ns
            self._series[key] = _SeriesState(start, value, time_ns, kind, description, unit, attributes)
            return start
        if created_ns is not None:
            state.start_ns = created_ns
        elif value < state.last_value:  # reset: the counter restarted since the last scrape
            state.start_ns = time_ns
        state.last_value = value
        state.last_seen_ns = time_ns
        return state.start_ns

    def _finish(self, time_ns: int) -> list[tuple[str, _SeriesState]]:
        """Close a scrape: the series of the previous scrape missing from this one, then sweep."""
        vanished = self._previous - self._current
        self._previous = self._current
        self._current = set()
        stale = [(key[0], self._series[key]) for key in vanished if key in self._series]
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
        self._previous &= self._series.keys()

    def mark_all_stale(self, time_ns: int) -> list[tuple[str, _SeriesState]]:
        """The target is down: every series of its last good scrape goes stale now."""
        self._current = set()
        return self._finish(time_ns)
