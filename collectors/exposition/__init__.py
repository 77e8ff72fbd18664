"""Prometheus/OpenMetrics text -> :class:`Exposition` -> OpenTelemetry metrics."""

from ._convert import ConversionReport, SeriesTracker, staleness_metrics, to_metrics
from ._model import FAMILY_TYPES, Exemplar, Exposition, MetricFamily, Sample
from ._parser import parse_exposition

__all__ = [
    "FAMILY_TYPES",
    "ConversionReport",
    "Exemplar",
    "Exposition",
    "MetricFamily",
    "Sample",
    "SeriesTracker",
    "parse_exposition",
    "staleness_metrics",
    "to_metrics",
]
