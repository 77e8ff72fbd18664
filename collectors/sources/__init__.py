"""The registry of sources: the name a target's ``source`` field refers to."""

from __future__ import annotations

from omni_telemetry.errors import ConfigError

from .._source import Source
from .mayastor import MayastorCallHomeSource, MayastorExporterSource

__all__ = ["SOURCES", "Source", "get_source"]


class PrometheusSource(Source):
    """Any Prometheus or OpenMetrics endpoint, converted as it is exposed."""


SOURCES: dict[str, type[Source]] = {
    PrometheusSource.name: PrometheusSource,
    MayastorExporterSource.name: MayastorExporterSource,
    MayastorCallHomeSource.name: MayastorCallHomeSource,
}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]()
    except KeyError:
        known = ", ".join(sorted(SOURCES))
        raise ConfigError(f"unknown source {name!r}; known sources: {known}", field="source") from None
