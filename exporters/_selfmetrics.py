"""The exporters' own Prometheus metrics: is data flowing, waiting, or being lost?

One :class:`ExporterMetrics` per ``CollectorRegistry`` (registering the same names twice
in one registry is an error in ``prometheus_client``), shared by every delivery queue
using that registry; the ``sink`` label tells the queues apart.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, make_asgi_app

from omni_core.selfmetrics import PerRegistry

__all__ = ["ExporterMetrics", "metrics_asgi_app"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ExporterMetrics(PerRegistry):
    """Counters and gauges of delivery. Get one with :meth:`for_registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.batches_written = Counter(
            "omni_exporter_batches_written", "Batches the sink accepted.", ["sink"], registry=registry
        )
        self.samples_written = Counter(
            "omni_exporter_samples_written", "Data points in the batches the sink accepted.", ["sink"], registry=registry
        )
        self.exposition_samples_written = Counter(
            "omni_exporter_exposition_samples_written",
            "Samples in the batches the sink accepted, counted as the Prometheus text format exposes them "
            "(a counter or gauge point 1, a histogram point its buckets + _count + _sum, a summary point its "
            "quantiles + _count + _sum): the unit of Prometheus's prometheus_tsdb_head_samples_appended_total.",
            ["sink"],
            registry=registry,
        )
        self.batches_retried = Counter(
            "omni_exporter_batches_retried", "Failed delivery attempts that will be retried.", ["sink"], registry=registry
        )
        self.batches_spooled = Counter(
            "omni_exporter_batches_spooled", "Batches written to the on-disk spool.", ["sink"], registry=registry
        )
        self.samples_dropped = Counter(
            "omni_exporter_samples_dropped",
            "Data points not stored, by reason: queue_full / spool_full (evicted by a bound), quarantined (refused "
            "by the store as data, kept in the spool's quarantine/), refused (the same, without room to keep it), "
            "corrupt (an unreadable spool file), shutdown (neither delivered nor spooled at shutdown).",
            ["sink", "reason"],
            registry=registry,
        )
        self.queue_batches = Gauge(
            "omni_exporter_queue_batches", "Batches waiting for the sink (memory and spool).", ["sink", "where"],
            registry=registry,
        )
        self.queue_samples = Gauge(
            "omni_exporter_queue_samples", "Data points waiting for the sink (memory and spool).", ["sink", "where"],
            registry=registry,
        )
        self.insert_seconds = Histogram(
            "omni_exporter_insert_duration_seconds", "Time the sink took per delivery attempt.", ["sink", "outcome"],
            buckets=_LATENCY_BUCKETS, registry=registry,
        )


def metrics_asgi_app(registry: CollectorRegistry | None = None):  # noqa: ANN201 - an ASGI callable
    """An ASGI app answering Prometheus scrapes of ``registry``; mount it at ``/metrics``."""
    return make_asgi_app(registry=REGISTRY if registry is None else registry)
