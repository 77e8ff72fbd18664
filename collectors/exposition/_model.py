"""The parsed form of one scrape: families of raw samples, before conversion to OpenTelemetry.

Every source produces this shape, whether it read Prometheus text or a JSON API, so one
conversion path (:mod:`collectors.exposition._convert`) owns the Prometheus-receiver rules.
Sample names are kept exactly as exposed (``_total``, ``_bucket``, ``_sum``, ``_count``,
``_created`` included) because the stored metric name must be the exposed one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Exemplar", "Exposition", "MetricFamily", "Sample", "FAMILY_TYPES"]

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


@dataclass(slots=True)
class MetricFamily:
    """Samples that belong to one ``# TYPE`` (or, without TYPE, one sample name, typed ``untyped``).

    ``name`` is the family name as declared; for a histogram or summary it carries no suffix.
    """

    name: str
    type: str
    help: str = ""
    unit: str = ""
    samples: list[Sample] = field(default_factory=list)


@dataclass(slots=True)
class Exposition:
    """A parsed scrape. ``dropped`` counts samples rejected during parsing; ``warnings`` says why."""

    families: list[MetricFamily]
    format: str = "prometheus"  # or "openmetrics"
    dropped: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def sample_count(self) -> int:
        return sum(len(f.samples) for f in self.families)
