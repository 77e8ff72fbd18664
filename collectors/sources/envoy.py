"""Envoy's ``/stats/prometheus``: Contour's metrics listener (:8002) or any Envoy admin port.

Options (``target.options``):

* ``usedonly`` (``true``/``false``, default false): ask Envoy for stats that were ever
  written only. Cuts a large proxy's scrape by an order of magnitude; a stat that never
  moved is then absent rather than zero, which dashboards must read as "unused".
* ``filter``: Envoy's stat-name regex (RE2 on current Envoys), e.g.
  ``^cluster\\..*\\.upstream_rq``. Contour's stats listener forwards the query string
  to the admin interface (its routes match on path only).
* ``cluster_naming`` (``contour`` default, or ``none``): split ``envoy_cluster_name`` by
  Contour's ``<namespace>_<service>_<port>`` stat naming into ``namespace``, ``service``,
  ``port`` and ``cluster_kind`` attributes. ``none`` leaves cluster names alone, for an Envoy
  whose clusters follow another convention.

Envoy's tag labels (``envoy_cluster_name``, ``envoy_response_code_class``,
``envoy_http_conn_manager_prefix``, ``envoy_listener_address``, ...) are kept as attributes.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

from .._source import Source
from .._target import ScrapeTarget
from ..exposition import Exposition
from ._envoy_stats import contour_cluster_attributes, normalize_envoy_stats

__all__ = ["EnvoySource", "envoy_query_params"]

_TRUE = frozenset({"1", "true", "yes", "on"})


def envoy_query_params(options: Mapping[str, str]) -> dict[str, str] | None:
    """``usedonly`` and ``filter`` from target options, as Envoy's admin handler reads them."""
    params: dict[str, str] = {}
    if options.get("usedonly", "").strip().lower() in _TRUE:
        # Envoy tests for the parameter's presence; any value works.
        params["usedonly"] = ""
    stat_filter = options.get("filter", "")
    if stat_filter:
        params["filter"] = stat_filter
    return params or None


class EnvoySource(Source):
    name: ClassVar[str] = "envoy"
    description: ClassVar[str] = "Envoy /stats/prometheus (Contour's Envoy :8002, or any Envoy admin)"
    reads_exposition: ClassVar[bool] = True
    expected_families: ClassVar[Mapping[str, str]] = {
        "envoy_server_live": "gauge",
        "envoy_server_uptime": "gauge",
    }

    def query_params(self, target: ScrapeTarget) -> dict[str, str] | None:
        return envoy_query_params(target.options)

    def normalize(self, exposition: Exposition, target: ScrapeTarget) -> Exposition:
        naming = target.options.get("cluster_naming", "contour").strip().lower()
        attributes = contour_cluster_attributes if naming == "contour" else None
        return normalize_envoy_stats(exposition, attributes)
