"""Kuma's control plane diagnostics endpoint (``kuma-cp`` :5680 ``/metrics``).

Every series carries the control plane's ``zone`` label (``Global`` on a global CP). Kuma
changed ``xds_generation`` and ``xds_delivery`` from summaries to histograms; both shapes
are taken as exposed, so a mixed-version fleet needs no configuration.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

from .._source import Source

__all__ = ["KumaControlPlaneSource"]


class KumaControlPlaneSource(Source):
    name: ClassVar[str] = "kuma-cp"
    description: ClassVar[str] = "Kuma control plane /metrics (:5680)"
    reads_exposition: ClassVar[bool] = True
    expected_families: ClassVar[Mapping[str, str]] = {
        "cp_info": "gauge",
        "leader": "gauge",
        "xds_streams_active": "gauge",
    }
