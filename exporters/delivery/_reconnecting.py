"""A writer that is opened on first use and reopened after the storage went away.

Why: a receiver or scraper must start, accept and spool even while ClickHouse is down, and
a client whose server restarted must be replaced rather than retried forever. The queue
calls ``write``; this opens the real writer when needed and forgets it on unavailability.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from opentelemetry.sdk.metrics.export import MetricsData

from omni_core.errors import StorageUnavailable

from ._queue import TokenWriter

__all__ = ["ReconnectingWriter"]


class ReconnectingWriter:
    """``write`` through ``open_writer()``'s result, calling it again after ``StorageUnavailable``.

    ``open_writer`` connects (and may apply the schema); it raises ``StorageUnavailable``
    while the storage cannot be reached, which the delivery queue retries like any outage.
    """

    def __init__(self, open_writer: Callable[[], TokenWriter]) -> None:
        self._open_writer = open_writer
        self._writer: TokenWriter | None = None
        self._lock = threading.Lock()

    def write(self, metrics_data: MetricsData, *, insert_token: str | None = None) -> Any:
        with self._lock:
            if self._writer is None:
                self._writer = self._open_writer()
            writer = self._writer
        try:
            return writer.write(metrics_data, insert_token=insert_token)
        except StorageUnavailable:
            with self._lock:
                if self._writer is writer:
                    self._writer = None
            raise
