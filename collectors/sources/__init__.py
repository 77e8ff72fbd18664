"""The registry of sources: the name a target's ``source`` field refers to."""

from __future__ import annotations

from typing import ClassVar

from omni_core.errors import ConfigError

from .._source import Source
from .argocd import ArgoCdSource
from .cdi import CdiSource
from .cdi_datavolumes import CdiDataVolumeSource
from .clickhouse import ClickHouseSource
from .contour import ContourSource
from .envoy import EnvoySource
from .kubevirt import KubeVirtSource
from .kuma_api import KumaApiSource
from .kuma_cp import KumaControlPlaneSource
from .kuma_dp import KumaDataplaneSource
from .mayastor import MayastorCallHomeSource, MayastorExporterSource
from .mayastor_api import MayastorApiSource
from .omni import OmniSource

__all__ = ["SOURCES", "Source", "get_source"]


class PrometheusSource(Source):
    """Any Prometheus or OpenMetrics endpoint, converted as it is exposed."""

    reads_exposition: ClassVar[bool] = True


SOURCES: dict[str, type[Source]] = {
    source.name: source
    for source in (
        PrometheusSource,
        MayastorExporterSource,
        MayastorCallHomeSource,
        MayastorApiSource,
        EnvoySource,
        ContourSource,
        KumaControlPlaneSource,
        KumaDataplaneSource,
        KumaApiSource,
        KubeVirtSource,
        CdiSource,
        CdiDataVolumeSource,
        ArgoCdSource,
        ClickHouseSource,
        OmniSource,
    )
}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]()
    except KeyError:
        known = ", ".join(sorted(SOURCES))
        raise ConfigError(f"unknown source {name!r}; known sources: {known}", field="source") from None
