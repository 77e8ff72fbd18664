"""Collectors: read targets and turn every sample into OpenTelemetry ``MetricsData``.

Public surface: targets (:class:`ScrapeTarget`), the :class:`Scraper` and
:class:`CollectionLoop`, the source registry, and the exposition parser/converter. Data
pushed to us over OTLP comes in through :mod:`collectors.otlp_receiver`.
"""

from ._loop import CollectionLoop, CycleReport
from ._scrape import ScrapeResult, Scraper, metrics_data, target_resource
from ._selfmetrics import CollectorMetrics
from ._shard import TargetShard, shard_of
from ._source import Source
from ._target import ParseLimits, ScrapeTarget
from .exposition import Exposition, MetricFamily, Sample, SeriesTracker, parse_exposition, to_metrics
from .sources import SOURCES, get_source

__all__ = [
    "SOURCES",
    "CollectionLoop",
    "CollectorMetrics",
    "CycleReport",
    "Exposition",
    "MetricFamily",
    "ParseLimits",
    "Sample",
    "ScrapeResult",
    "ScrapeTarget",
    "Scraper",
    "SeriesTracker",
    "Source",
    "TargetShard",
    "get_source",
    "metrics_data",
    "parse_exposition",
    "shard_of",
    "target_resource",
    "to_metrics",
]
