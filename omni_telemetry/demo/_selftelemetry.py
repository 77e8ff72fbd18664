"""The demo's own telemetry, stored like a production collector's with ``metrics_port`` set.

The demo process serves its registry on an ephemeral 127.0.0.1 port and scrapes it as the
``omni`` source, and its store sits behind a :class:`~exporters.delivery.DeliveryQueue`
reporting into the same registry, so the Pipeline dashboard has scrape, insert and queue
series while the demo runs.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from collectors import CollectorMetrics, ScrapeTarget
from collectors.sources.omni import self_target
from exporters._selfmetrics import ExporterMetrics
from exporters.delivery import DeliveryOptions, DeliveryQueue

__all__ = ["SelfTelemetry"]


class SelfTelemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.collector_metrics = CollectorMetrics(self.registry)
        self._server: Any = None

    def wrap(self, sink: Any) -> DeliveryQueue:
        """The sink behind a delivery queue whose depth, latency and drops land in the registry."""
        # batch_max_age_s=0: each cycle is inserted at once, so the demo's view reads what it stored
        return DeliveryQueue(
            sink, DeliveryOptions(name="demo", batch_max_age_s=0), metrics=ExporterMetrics.for_registry(self.registry)
        )

    def start(self, timeout_s: float) -> ScrapeTarget:
        """Serve the registry and return the target that scrapes it."""
        self._server, _thread = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        return self_target(self._server.server_port, timeout_s=timeout_s)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
