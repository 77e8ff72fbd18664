"""omni-telemetry's own ``/metrics`` (``metrics_port``), stored like any other target.

The Pipeline dashboard reads the collector's self-telemetry from ClickHouse, next to what
it collects: scrapes by result, samples, scrape duration, rows written, insert latency,
queue depth and drops. When ``metrics_port`` is set the collector adds a target of this
source for its own endpoint (:func:`self_target`), so no Prometheus is needed to watch it.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

from .._source import Source
from .._target import ScrapeTarget
from ..exposition import Exposition, MetricFamily, Sample

#: Labels our own metrics expose that name the scraped target, and the name they get when stored.
_EXPORTED = {"job": "exported_job", "instance": "exported_instance"}

__all__ = ["OmniSource", "self_target"]


class OmniSource(Source):
    name: ClassVar[str] = "omni"
    description: ClassVar[str] = "omni-telemetry's own /metrics (metrics_port)"
    expected_families: ClassVar[Mapping[str, str]] = {
        "omni_scrapes_total": "counter",
        "omni_scrape_duration_seconds": "histogram",
    }

    def normalize(self, exposition: Exposition, target: ScrapeTarget) -> Exposition:
        """``job`` on our scrape counters is the *scraped* job: keep it as ``exported_job``.

        The conversion drops ``job``/``instance`` labels (they are the scraping target's
        identity), which would merge the counters of every job into one series; Prometheus
        renames such clashing labels to ``exported_*`` the same way.
        """
        exposition.families = [_exported(family) for family in exposition.families]
        return exposition


def _exported(family: MetricFamily) -> MetricFamily:
    if not any(label in sample.labels for sample in family.samples for label in _EXPORTED):
        return family
    samples = [
        Sample(s.name, {_EXPORTED.get(k, k): v for k, v in s.labels.items()}, s.value, s.timestamp_ms, s.exemplar)
        for s in family.samples
    ]
    return MetricFamily(family.name, family.type, family.help, family.unit, samples)


def self_target(port: int, *, timeout_s: float = 5.0, host: str = "127.0.0.1") -> ScrapeTarget:
    """The target a collector scrapes to store its own metrics (job ``omni``)."""
    return ScrapeTarget(
        url=f"http://{host}:{port}/metrics", source=OmniSource.name, job="omni", instance=f"{host}:{port}", timeout_s=timeout_s
    )
