"""What Prometheus data needs and the OpenTelemetry SDK data model lacks.

The SDK's ``opentelemetry.sdk.metrics.export`` types are the contract between collectors and
exporters. The SDK never produces summaries nor data point flags, so it has no types for them;
Prometheus has both (summaries, and staleness markers carried as the OTLP
``NO_RECORDED_VALUE`` flag). These subclasses add exactly that and nothing else, so every
consumer of SDK points keeps working and reads ``flags`` with :func:`point_flags`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from opentelemetry.sdk.metrics.export import HistogramDataPoint, NumberDataPoint
from opentelemetry.util.types import Attributes

__all__ = [
    "NO_RECORDED_VALUE",
    "FlaggedHistogramDataPoint",
    "FlaggedNumberDataPoint",
    "QuantileValue",
    "Summary",
    "SummaryDataPoint",
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
