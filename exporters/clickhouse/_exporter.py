"""The ClickHouse store as an OpenTelemetry SDK metric exporter.

Anything that drives an SDK exporter (a ``PeriodicExportingMetricReader``, our collectors)
can write to ClickHouse by swapping this in for the OTLP exporter. Like every SDK exporter
it never raises from ``export``: a failure is logged with its reason and reported as
``FAILURE`` so the caller decides whether to retry.
"""

from __future__ import annotations

import logging
import threading

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from omni_core.errors import StorageError, StorageUnavailable

from ._writer import ClickHouseWriter

__all__ = ["ClickHouseMetricExporter"]

logger = logging.getLogger(__name__)


class ClickHouseMetricExporter(MetricExporter):
    """Exports each ``MetricsData`` with one :class:`ClickHouseWriter` write.

    The client belongs to whoever created it (chDB clients are shared per data directory),
    so ``shutdown`` stops exporting but leaves the client open. Nothing is buffered, so
    ``force_flush`` has nothing to do. ``timeout_millis`` is not enforced per call: the
    client's connect and send/receive timeouts bound a server write, and chDB runs in-process.
    """

    def __init__(self, writer: ClickHouseWriter, **kwargs) -> None:
        super().__init__(**kwargs)
        self._writer = writer
        self._stopped = threading.Event()

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
        if self._stopped.is_set():
            logger.warning("ClickHouse exporter is shut down; dropping a batch")
            return MetricExportResult.FAILURE
        try:
            self._writer.write(metrics_data)
        except StorageUnavailable as exc:
            logger.warning("ClickHouse export failed, storage unavailable: %s", exc)
            return MetricExportResult.FAILURE
        except StorageError as exc:
            logger.error("ClickHouse export failed: %s", exc)
            return MetricExportResult.FAILURE
        except Exception:
            logger.exception("ClickHouse export failed unexpectedly")
            return MetricExportResult.FAILURE
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        self._stopped.set()
