"""The parsed form of one scrape: families of raw samples, before conversion to OpenTelemetry.

Every source produces this shape, whether it read Prometheus text or a JSON API, so one
conversion path (:mod:`collectors.exposition._convert`) owns the Prometheus-receiver rules.
Sample names are kept exactly as exposed (``_total``, ``_bucket``, ``_sum``, ``_count``,
``_created`` included) because the stored metric name must be the exposed one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from itertools import repeat
from typing import Callable, Iterator

__all__ = ["Exemplar", "Exposition", "MetricFamily", "Sample", "SampleColumns", "FAMILY_TYPES"]

#: TYPE words of the Prometheus 0.0.4 and OpenMetrics 1.0 text formats.
FAMILY_TYPES = frozenset(
    {"counter", "gauge", "histogram", "summary", "untyped", "unknown", "info", "stateset", "gaugehistogram"}
)


@dataclass(slots=True)
class Exemplar:
    labels: dict[str, str]
    value: float
    timestamp: float | None = None  # seconds, as OpenMetrics writes it


@dataclass(slots=True)
class Sample:
    """One exposed line. ``labels`` may be shared between samples: replace it, never mutate it.

    ``line`` is the 1-based line of the body it was read from (0 when it was not read from text):
    it lets a target's next scrape with the same layout be converted without parsing again.
    """

    name: str
    labels: dict[str, str]
    value: float
    timestamp_ms: int | None = None
    exemplar: Exemplar | None = None
    line: int = 0


class SampleColumns(list):  # type: ignore[type-arg]
    """Plain samples (no timestamp, no exemplar) as the text parser reads them: four entries per
    sample in one flat list, its name, labels, value and line.

    A large scrape is tens of thousands of samples; kept like this they cost no object per sample
    (nor its share of garbage collection and freeing), and conversion reads them as they are.
    :attr:`MetricFamily.samples` turns them into :class:`Sample` objects only when asked.
    """

    __slots__ = ()

    @property
    def sample_count(self) -> int:
        return len(self) // 4

    def names(self) -> list[str]:
        return self[::4]

    def rows(self) -> Iterator[tuple[str, dict[str, str], float, None, None, int]]:
        """``(name, labels, value, timestamp_ms, exemplar, line)`` per sample, in order."""
        fields = iter(self)
        return zip(fields, fields, fields, repeat(None), repeat(None), fields)


class MetricFamily:
    """Samples that belong to one ``# TYPE`` (or, without TYPE, one sample name, typed ``untyped``).

    ``name`` is the family name as declared; for a histogram or summary it carries no suffix.
    ``samples`` is a plain list to read, extend or replace; the parser may hold part of it as
    :class:`SampleColumns` until it is first read (see :meth:`columns`).
    """

    __slots__ = ("name", "type", "help", "unit", "_samples", "_columns")

    def __init__(
        self, name: str, type: str, help: str = "", unit: str = "", samples: list[Sample] | None = None
    ) -> None:
        self.name = name
        self.type = type
        self.help = help
        self.unit = unit
        self._samples: list[Sample] = [] if samples is None else samples
        self._columns: SampleColumns | None = None

    @property
    def samples(self) -> list[Sample]:
        columns = self._columns
        if columns is not None:
            self._columns = None
            if not columns:
                return self._samples
            fields = iter(columns)
            made = [
                Sample(name, labels, value, None, None, line)
                for name, labels, value, line in zip(fields, fields, fields, fields)
            ]
            if self._samples:  # samples read the careful way: put every sample back in line order
                made.extend(self._samples)
                made.sort(key=_line_of)
            self._samples[:] = made  # the same list: the parser may hold its append
        return self._samples

    @samples.setter
    def samples(self, samples: list[Sample]) -> None:
        self._columns = None
        self._samples = samples

    @property
    def sample_count(self) -> int:
        """``len(samples)``, without turning columns into samples."""
        columns = self._columns
        return len(self._samples) + (columns.sample_count if columns is not None else 0)

    def columns(self) -> SampleColumns:
        """Where the text parser puts plain samples (in line order, like everything it appends
        to ``samples`` itself); created on first use."""
        if self._columns is None:
            self._columns = SampleColumns()
        return self._columns

    def sample_appender(self) -> Callable[[Sample], None]:
        """``samples.append`` for the parser, which leaves the columns as they are (both are
        merged in line order when ``samples`` is read)."""
        return self._samples.append

    def sample_names(self) -> set[str]:
        """The distinct sample names (``x_bucket``, ``x_count`` ...), without turning columns into samples."""
        names = {sample.name for sample in self._samples}
        if self._columns is not None:
            names.update(self._columns.names())
        return names

    def plain_columns(self) -> SampleColumns | None:
        """The samples as columns, when every sample is in them (a fresh parse without
        timestamps or exemplars); else None, and ``samples`` is what there is."""
        columns = self._columns
        return columns if columns is not None and not self._samples else None

    def clear_samples(self) -> None:
        self._samples.clear()
        self._columns = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetricFamily):
            return NotImplemented
        return (self.name, self.type, self.help, self.unit, self.samples) == (
            other.name, other.type, other.help, other.unit, other.samples
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return (
            f"MetricFamily(name={self.name!r}, type={self.type!r}, help={self.help!r}, unit={self.unit!r}, "
            f"samples={self.samples!r})"
        )


_line_of = attrgetter("line")


@dataclass(slots=True)
class Exposition:
    """A parsed scrape. ``dropped`` counts samples rejected during parsing; ``warnings`` says why."""

    families: list[MetricFamily]
    format: str = "prometheus"  # or "openmetrics"
    dropped: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def sample_count(self) -> int:
        return sum(f.sample_count for f in self.families)
