"""Contour's own metrics (``:8000/metrics``): DAG rebuilds, HTTPProxy validity, status updates.

Contour uses controller-runtime's registry, so a scrape also carries Go, process,
``controller_runtime_*`` and the xDS server's ``grpc_server_*`` families; they are kept as
exposed. Nothing needs renaming: these are plain client_golang families.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

from .._source import Source

__all__ = ["ContourSource"]


class ContourSource(Source):
    name: ClassVar[str] = "contour"
    description: ClassVar[str] = "Contour controller /metrics (:8000)"
    reads_exposition: ClassVar[bool] = True
    expected_families: ClassVar[Mapping[str, str]] = {
        "contour_dagrebuild_total": "counter",
        "contour_dagrebuild_timestamp": "gauge",
    }
