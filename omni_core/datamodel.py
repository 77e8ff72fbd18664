"""What Prometheus data needs and the OpenTelemetry SDK data model lacks.

The SDK's ``opentelemetry.sdk.metrics.export`` types are the contract between collectors and
exporters. The SDK never produces summaries nor data point flags, so it has no types for them;
Prometheus has both (summaries, and staleness markers carried as the OTLP
``NO_RECORDED_VALUE`` flag). These subclasses add exactly that and nothing else, so every
consumer of SDK points keeps working and reads ``flags`` with :func:`point_flags`.

:class:`NumberPoints` is the one addition of a different kind: a metric's number points as
columns (attribute maps, start times, values) for a producer that makes tens of thousands of
them every scrape. It is a ``Sequence`` of SDK points, made on access, so any consumer works
unchanged, and the ClickHouse encoder and the queue's size estimate read its columns directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, overload

from opentelemetry.sdk.metrics.export import HistogramDataPoint, NumberDataPoint
from opentelemetry.util.types import Attributes

__all__ = [
    "NO_RECORDED_VALUE",
    "FlaggedHistogramDataPoint",
    "FlaggedNumberDataPoint",
    "NumberPoints",
    "SeriesAttributes",
    "QuantileValue",
    "Summary",
    "SummaryDataPoint",
    "build_number_point",
    "point_flags",
]

#: OTLP ``DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK``: a Prometheus staleness marker.
NO_RECORDED_VALUE = 1


@dataclass(frozen=True)
class FlaggedNumberDataPoint(NumberDataPoint):
    """A number point with OTLP data point flags (the SDK's has none)."""

    flags: int = 0


@dataclass(frozen=True)
class FlaggedHistogramDataPoint(HistogramDataPoint):
    """A histogram point with OTLP data point flags (the SDK's has none)."""

    flags: int = 0


@dataclass(frozen=True)
class QuantileValue:
    quantile: float
    value: float


@dataclass(frozen=True)
class SummaryDataPoint:
    """OTLP ``SummaryDataPoint``: Prometheus summaries, which the SDK cannot produce itself."""

    attributes: Attributes
    start_time_unix_nano: int
    time_unix_nano: int
    count: int
    sum: float
    quantile_values: Sequence[QuantileValue] = field(default_factory=tuple)
    flags: int = 0


@dataclass(frozen=True)
class Summary:
    """OTLP ``Summary`` metric data, used as ``Metric.data`` like the SDK's ``Gauge`` or ``Sum``."""

    data_points: Sequence[SummaryDataPoint]


def point_flags(point: object) -> int:
    """Flags of any data point, SDK or extended; SDK points have none, so 0."""
    return getattr(point, "flags", 0)


_NO_EXEMPLARS: tuple[Any, ...] = ()
_new = object.__new__


class SeriesAttributes(tuple):
    """The attribute maps of a run of series, in point order, shared by every scrape's points.

    Built once per layout by a producer and never changed afterwards (neither the tuple nor
    the maps: like every point's attributes, consumers only read them). Because it is shared,
    a consumer may remember what it derived from one (an encoder's check that the maps equal
    the ones it encoded, a size estimate) in :attr:`derived`, keyed by something of its own.
    """

    def __new__(cls, maps: Sequence[Attributes] = ()) -> "SeriesAttributes":
        self = super().__new__(cls, maps)
        self.derived: dict[object, Any] = {}
        return self


class NumberPoints(Sequence[FlaggedNumberDataPoint]):
    """One metric's number points as columns: same time, no exemplars, no flags.

    ``attributes[i]``, ``start_times[i]`` and ``values[i]`` make point ``i``; ``time_unix_nano``
    is every point's. Indexing or iterating makes ``FlaggedNumberDataPoint`` objects equal to
    the ones a producer would otherwise build, so this can stand for a list of them as
    ``Gauge.data_points`` or ``Sum.data_points``; it compares equal to any sequence of equal
    points. Raises ``ValueError`` when the columns differ in length.
    """

    __slots__ = ("attributes", "start_times", "time_unix_nano", "values")

    def __init__(
        self,
        attributes: SeriesAttributes,
        start_times: Sequence[int],
        time_unix_nano: int,
        values: Sequence[float],
    ) -> None:
        if not len(attributes) == len(start_times) == len(values):
            raise ValueError(
                f"number point columns differ in length: {len(attributes)} attribute maps, "
                f"{len(start_times)} start times, {len(values)} values"
            )
        self.attributes = attributes
        self.start_times = start_times
        self.time_unix_nano = time_unix_nano
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, index: int) -> FlaggedNumberDataPoint: ...

    @overload
    def __getitem__(self, index: slice) -> list[FlaggedNumberDataPoint]: ...

    def __getitem__(self, index: int | slice) -> FlaggedNumberDataPoint | list[FlaggedNumberDataPoint]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return build_number_point(self.attributes[index], self.start_times[index], self.time_unix_nano, self.values[index])

    def __iter__(self) -> Iterator[FlaggedNumberDataPoint]:
        return map(build_number_point, self.attributes, self.start_times, repeat(self.time_unix_nano), self.values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  (mutable content, like a list)

    def __repr__(self) -> str:
        return f"NumberPoints({list(self)!r})"


def build_number_point(
    attributes: Attributes, start_ns: int, time_ns: int, value: float, exemplars: Sequence[Any] = _NO_EXEMPLARS
) -> FlaggedNumberDataPoint:
    """A ``FlaggedNumberDataPoint`` (flags 0) built without the frozen dataclass ``__init__``.

    The generated ``__init__`` of a frozen dataclass sets each field through
    ``object.__setattr__``, which costs twice as much; the instance built here is identical
    (same class, same ``__dict__``). Producers that make one point per sample of every scrape
    use this.
    """
    point = _new(FlaggedNumberDataPoint)
    point.__dict__.update(
        attributes=attributes,
        start_time_unix_nano=start_ns,
        time_unix_nano=time_ns,
        value=value,
        exemplars=exemplars,
        flags=0,
    )
    return point
