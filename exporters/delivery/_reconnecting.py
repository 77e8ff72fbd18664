"""A writer that is opened on first use and reopened after the storage went away.

Why: a receiver or scraper must start, accept and spool even while ClickHouse is down, and
a client whose server restarted must be replaced rather than retried forever. The queue
calls ``write_batch``; this opens the real writer when needed and forgets it after a
failure worth retrying. Batches pass through untouched, so log writers are served alike.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from omni_core.errors import OmniError
from omni_core.sink import BatchSink, WriteOutcome, WriteResult

__all__ = ["ReconnectingWriter"]


class ReconnectingWriter:
    """A :class:`~omni_core.sink.BatchSink` writing through ``open_writer()``'s result.

    ``open_writer`` connects (and may apply the schema). Failing to open is never the
    data's fault, so any error it raises answers RETRY; so does the opened writer's RETRY,
    after which the next write opens a fresh one.
    """

    def __init__(self, open_writer: Callable[[], BatchSink]) -> None:
        self._open_writer = open_writer
        self._writer: BatchSink | None = None
        self._lock = threading.Lock()

    def write_batch(self, metrics_data: Any, *, insert_token: str) -> WriteResult:
        with self._lock:
            if self._writer is None:
                try:
                    self._writer = self._open_writer()
                except OmniError as exc:
                    return WriteResult(WriteOutcome.RETRY, f"cannot open the store: {exc}")
            writer = self._writer
        result = writer.write_batch(metrics_data, insert_token=insert_token)
        if result.outcome is WriteOutcome.RETRY:
            with self._lock:
                if self._writer is writer:
                    self._writer = None
        return result
