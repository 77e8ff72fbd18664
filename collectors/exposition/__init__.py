"""Prometheus/OpenMetrics text -> :class:`Exposition` -> OpenTelemetry metrics."""

from ._convert import ConversionReport, staleness_metrics, to_metrics
from ._model import FAMILY_TYPES, Exemplar, Exposition, MetricFamily, Sample
from ._parser import parse_exposition
from ._steady import ConvertedScrape, TargetConverter
from ._tracker import SeriesTracker

__all__ = [
    "FAMILY_TYPES",
    "ConversionReport",
    "ConvertedScrape",
    "Exemplar",
    "Exposition",
    "MetricFamily",
    "Sample",
    "SeriesTracker",
    "TargetConverter",
    "parse_exposition",
    "staleness_metrics",
    "to_metrics",
]
