"""Mayastor's ``metrics-exporter-io-engine`` (port 9502, ``/metrics``), every version since 2.0.

Why the fix-ups: versions before 2.6 name pool families ``disk_pool_*``; later ones
``diskpool_*``. Dashboards and health rules must not care, so legacy names are rewritten
to the current ones. The exporter declares its cumulative I/O totals as gauges although
they only grow (and reset when io-engine restarts), so they are converted as monotonic sums
with reset detection. ``diskpool_status`` and ``diskpool_io_alert_status`` are enums: the
number is kept and the state's name added as an attribute, so a panel or an on-call query
does not need the mapping table.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

from .._source import Source
from .._target import ScrapeTarget
from ..exposition import Exposition, MetricFamily, Sample

__all__ = ["MayastorCallHomeSource", "MayastorExporterSource", "POOL_ALERT_STATES", "POOL_STATES"]

#: gRPC ``PoolState`` (io-engine ``pool.proto``).
POOL_STATES: Mapping[int, str] = {0: "unknown", 1: "online", 2: "degraded", 3: "faulted", 4: "suspected"}
#: gRPC ``PoolAlertStatus``.
POOL_ALERT_STATES: Mapping[int, str] = {0: "healthy", 1: "attention", 2: "warning", 3: "critical"}

_IO_TOTALS = ("num_read_ops", "num_write_ops", "bytes_read", "bytes_written", "read_latency_us", "write_latency_us")
_CUMULATIVE = {
    *(f"{subsystem}_{name}" for subsystem in ("diskpool", "volume", "replica") for name in _IO_TOTALS),
    "diskpool_io_error_count",
    "diskpool_io_stall_transition_count",
}
_ENUMS: Mapping[str, tuple[str, Mapping[int, str]]] = {
    "diskpool_status": ("state", POOL_STATES),
    "diskpool_io_alert_status": ("alert", POOL_ALERT_STATES),
}
_LEGACY_PREFIX = "disk_pool_"
_PREFIX = "diskpool_"


class MayastorExporterSource(Source):
    name: ClassVar[str] = "mayastor"
    description: ClassVar[str] = "Mayastor metrics-exporter-io-engine, one target per io-engine pod (:9502/metrics)"
    reads_exposition: ClassVar[bool] = True
    expected_families: ClassVar[Mapping[str, str]] = {
        "diskpool_status": "gauge",
        "diskpool_total_size_bytes": "gauge",
        "diskpool_used_size_bytes": "gauge",
    }
    type_overrides: ClassVar[Mapping[str, str]] = {name: "counter" for name in _CUMULATIVE}
    layout_cache: ClassVar[bool] = False  # the state attribute depends on the value

    def normalize(self, exposition: Exposition, target: ScrapeTarget) -> Exposition:
        families: list[MetricFamily] = []
        for family in exposition.families:
            if family.name.startswith(_LEGACY_PREFIX):
                family = _renamed(family)
            enum = _ENUMS.get(family.name)
            if enum is not None:
                family = _with_state_names(family, *enum)
            families.append(family)
        exposition.families = families
        return exposition


def _renamed(family: MetricFamily) -> MetricFamily:
    def current(name: str) -> str:
        return _PREFIX + name[len(_LEGACY_PREFIX):] if name.startswith(_LEGACY_PREFIX) else name

    return MetricFamily(
        current(family.name),
        family.type,
        family.help,
        family.unit,
        [Sample(current(s.name), s.labels, s.value, s.timestamp_ms, s.exemplar) for s in family.samples],
    )


def _with_state_names(family: MetricFamily, label: str, names: Mapping[int, str]) -> MetricFamily:
    samples = []
    for sample in family.samples:
        state = names.get(int(sample.value), "unknown") if sample.value in names else "unknown"
        value = sample.value
        samples.append(Sample(sample.name, {**sample.labels, label: state}, value, sample.timestamp_ms))
    return MetricFamily(family.name, family.type, family.help, family.unit, samples)


class MayastorCallHomeSource(Source):
    """Mayastor's ``obs-callhome-stats`` (port 9090 ``/stats``): lifecycle event counters.

    ``nexus{action="rebuild_started"} - nexus{action="rebuild_ended"}`` is the number of
    rebuilds in flight, which the pool exporter cannot tell.
    """

    name: ClassVar[str] = "mayastor-callhome"
    description: ClassVar[str] = "Mayastor obs-callhome-stats event counters (:9090/stats, eventing enabled)"
    reads_exposition: ClassVar[bool] = True
    expected_families: ClassVar[Mapping[str, str]] = {"pool": "counter", "volume": "counter", "nexus": "counter"}
