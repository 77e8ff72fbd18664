"""The receiver's own Prometheus metrics: what clients sent and what they were answered."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from omni_core.selfmetrics import PerRegistry

__all__ = ["ReceiverMetrics"]


class ReceiverMetrics(PerRegistry):
    """Counters of OTLP requests, points and log records. One per registry: get it with :meth:`for_registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "omni_ingest_requests", "OTLP requests received, by HTTP status answered.", ["code"], registry=registry
        )
        self.samples = Counter(
            "omni_ingest_samples", "Data points received over OTLP, by outcome.", ["outcome"], registry=registry
        )
        self.log_records = Counter(
            "omni_ingest_log_records", "Log records received over OTLP, by outcome.", ["outcome"], registry=registry
        )
