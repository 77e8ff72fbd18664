"""The receiver's own Prometheus metrics: what clients sent and what they were answered."""

from __future__ import annotations

import threading
import weakref

from prometheus_client import REGISTRY, CollectorRegistry, Counter

__all__ = ["ReceiverMetrics"]


class ReceiverMetrics:
    """Counters of OTLP requests, points and log records. One per registry: get it with :meth:`for_registry`."""

    _by_registry: "weakref.WeakKeyDictionary[CollectorRegistry, ReceiverMetrics]" = weakref.WeakKeyDictionary()
    _lock = threading.Lock()

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

    @classmethod
    def for_registry(cls, registry: CollectorRegistry | None = None) -> ReceiverMetrics:
        registry = REGISTRY if registry is None else registry
        with cls._lock:
            metrics = cls._by_registry.get(registry)
            if metrics is None:
                metrics = cls(registry)
                cls._by_registry[registry] = metrics
            return metrics
