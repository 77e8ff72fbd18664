"""omni-telemetry's own ``/metrics`` (``metrics_port``), stored like any other target.

The Pipeline dashboard reads the collector's self-telemetry from ClickHouse, next to what
it collects: scrapes by result, samples, scrape duration, rows written, insert latency,
queue depth and drops. When ``metrics_port`` is set the collector adds a target of this
source for its own endpoint (:func:`self_target`), so no Prometheus is needed to watch it.
The ``job`` label of our scrape counters names the *scraped* job; the conversion keeps it as
``exported_job``, as it does for every exposed ``job``/``instance``.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

from .._source import Source
from .._target import ScrapeTarget

__all__ = ["OmniSource", "self_target"]


class OmniSource(Source):
    name: ClassVar[str] = "omni"
    reads_exposition: ClassVar[bool] = True
    description: ClassVar[str] = "omni-telemetry's own /metrics (metrics_port)"
    expected_families: ClassVar[Mapping[str, str]] = {
        "omni_scrapes_total": "counter",
        "omni_scrape_duration_seconds": "histogram",
    }


def self_target(port: int, *, timeout_s: float = 5.0, host: str = "127.0.0.1") -> ScrapeTarget:
    """The target a collector scrapes to store its own metrics (job ``omni``)."""
    return ScrapeTarget(
        url=f"http://{host}:{port}/metrics", source=OmniSource.name, job="omni", instance=f"{host}:{port}", timeout_s=timeout_s
    )
