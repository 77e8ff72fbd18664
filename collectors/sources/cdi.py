"""CDI (Containerized Data Importer) operator and controller metrics (``cdi-prometheus-metrics`` :8080).

The ``kubevirt_cdi_{import,clone}_progress_total`` families are declared counters but hold a
0–100 percentage of one importer pod's progress; they are converted as gauges. Those pods
live only as long as an import, so a DataVolume's progress is read from the Kubernetes API
instead by :mod:`~collectors.sources.cdi_datavolumes`.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

from .._source import Source
from ..exposition import Exposition

__all__ = ["CdiSource"]


class CdiSource(Source):
    name: ClassVar[str] = "cdi"
    description: ClassVar[str] = "CDI operator/controller /metrics (cdi-prometheus-metrics service)"
    reads_exposition: ClassVar[bool] = True
    #: Any one of these identifies a CDI component (operator or controller).
    expected_families: ClassVar[Mapping[str, str]] = {
        "kubevirt_cdi_cr_ready": "gauge",
        "kubevirt_cdi_datavolume_pending": "gauge",
        "kubevirt_cdi_storageprofile_info": "gauge",
        "kubevirt_cdi_import_progress_total": "gauge",
        "kubevirt_cdi_clone_progress_total": "gauge",
    }
    type_overrides: ClassVar[Mapping[str, str]] = {
        "kubevirt_cdi_import_progress_total": "gauge",
        "kubevirt_cdi_clone_progress_total": "gauge",
    }

    def missing_families(self, exposition: Exposition) -> list[str]:
        missing = super().missing_families(exposition)
        return [] if len(missing) < len(self.expected_families) else missing
