"""Kuma data plane proxies: kuma-dp's merged endpoint (:5670 ``/metrics``).

kuma-dp serves Envoy's stats (plus the application's, when configured) and already merges
clusters Envoy split per configuration hash. What a Prometheus server would add through
Kuma's service discovery (``mesh``, ``kuma_io_service``, ``kuma_io_zone``) is added here from
the target's options, for a proxy whose series do not carry them yet; series that carry
them (MeshMetric adds ``mesh`` and ``kuma_workload`` itself) keep their own values.

Options: ``mesh``, ``service``, ``zone`` (the labels above), and ``usedonly``/``filter`` as
for :mod:`~collectors.sources.envoy` when scraping Envoy's admin directly.
Cluster names get ``cluster_kind`` (``inbound``/``outbound``/``internal``) and, where the
name encodes them, ``service``, ``namespace``, ``port`` attributes.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

from .._source import Source
from .._target import ScrapeTarget
from ..exposition import Exposition
from ._envoy_stats import kuma_cluster_attributes, normalize_envoy_stats
from .envoy import envoy_query_params

__all__ = ["KumaDataplaneSource"]

#: target option -> label, in the spelling Kuma's Prometheus service discovery produces.
_OPTION_LABELS: Mapping[str, str] = {"mesh": "mesh", "service": "kuma_io_service", "zone": "kuma_io_zone"}


class KumaDataplaneSource(Source):
    name: ClassVar[str] = "kuma-dp"
    description: ClassVar[str] = "Kuma data plane proxy metrics (kuma-dp :5670/metrics, Envoy stats)"
    reads_exposition: ClassVar[bool] = True
    expected_families: ClassVar[Mapping[str, str]] = {
        "envoy_server_live": "gauge",
    }

    def query_params(self, target: ScrapeTarget) -> dict[str, str] | None:
        return envoy_query_params(target.options)

    def normalize(self, exposition: Exposition, target: ScrapeTarget) -> Exposition:
        extra = {label: target.options[key] for key, label in _OPTION_LABELS.items() if target.options.get(key)}
        return normalize_envoy_stats(exposition, kuma_cluster_attributes, extra)
