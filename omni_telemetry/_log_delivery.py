"""Log records to the store in batches, on a thread of their own, retrying while it is down.

The events source hands over one record at a time from its watch threads; one INSERT per
record would make a part per event. This gathers records for up to ``flush_interval_s``
(or ``max_batch`` records) and writes each batch with an insert token of its own, so a retry
after an ambiguous failure is stored once. While the store is unreachable the batch is kept
and retried with back-off; records beyond ``max_records`` held in memory are dropped oldest
first and counted. A batch the store refuses as data is dropped, logged and counted: it
would never succeed. Nothing is spooled to disk: Kubernetes keeps events for about an hour
and the source replays what it has not seen after a restart (``include_existing``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from omni_core.errors import StorageError, StorageUnavailable

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord
    from prometheus_client import CollectorRegistry

__all__ = ["LogDelivery", "LogWriter"]

_log = logging.getLogger(__name__)


class LogWriter(Protocol):
    def write(self, records: Sequence["ReadableLogRecord"], *, insert_token: str | None = None) -> Any: ...


class LogDelivery:
    """Batches records from any thread and writes them with writers from ``open_writer``
    (called again after a failure, so a dropped connection is reopened)."""

    def __init__(
        self,
        open_writer: Callable[[], LogWriter],
        *,
        max_batch: int = 1000,
        max_records: int = 100_000,
        flush_interval_s: float = 1.0,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
        registry: "CollectorRegistry | None" = None,
    ) -> None:
        self._open_writer = open_writer
        self._writer: LogWriter | None = None
        self._max_batch = max_batch
        self._max_records = max_records
        self._flush_interval_s = flush_interval_s
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._pending: deque[ReadableLogRecord] = deque()
        self._batch: list[ReadableLogRecord] = []
        self._token = ""
        self._lock = threading.Condition()
        self._stopping = threading.Event()  # write what is held, then end
        self._abandon = threading.Event()  # the stop budget is spent: end now
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0
        self._counters = _counters(registry) if registry is not None else None

    def __call__(self, records: Sequence["ReadableLogRecord"]) -> None:
        """Accept records (the events source's sink). Never blocks on the store."""
        with self._lock:
            self._pending.extend(records)
            overflow = len(self._pending) + len(self._batch) - self._max_records
            for _ in range(max(overflow, 0)):
                self._pending.popleft()
            if overflow > 0:
                self._drop(overflow, "the store has been down too long: more records than max_records waiting")
            if len(self._pending) >= self._max_batch:
                self._lock.notify()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="log-delivery", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float) -> bool:
        """Write what is held within ``timeout_s`` (retrying through an outage meanwhile);
        True when nothing was left behind."""
        self._stopping.set()
        with self._lock:
            self._lock.notify()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._abandon.set()
        with self._lock:
            left = len(self._pending) + len(self._batch)
        if left:
            _log.warning("%d log records were not stored before shutdown", left)
        return left == 0

    def _run(self) -> None:
        delay = self._retry_initial_s
        while True:
            with self._lock:
                if not self._batch:
                    if len(self._pending) < self._max_batch and not self._stopping.is_set():
                        self._lock.wait(self._flush_interval_s)  # gather a batch, woken early when full
                    if not self._pending:
                        if self._stopping.is_set():
                            return
                        continue
                    while self._pending and len(self._batch) < self._max_batch:
                        self._batch.append(self._pending.popleft())
                    self._token = uuid.uuid4().hex
                batch, token = list(self._batch), self._token
            if self._write(batch, token):
                delay = self._retry_initial_s
                with self._lock:
                    self._batch.clear()
                continue
            if self._abandon.wait(delay):
                return  # stop() reports what is left
            delay = min(delay * 2, self._retry_max_s)

    def _write(self, batch: list["ReadableLogRecord"], token: str) -> bool:
        """True when the batch is done with (stored, or refused and dropped)."""
        try:
            if self._writer is None:
                self._writer = self._open_writer()
            self._writer.write(batch, insert_token=token)
        except StorageUnavailable as exc:
            self._writer = None
            _log.warning("log records not stored yet, the store is unavailable (will retry): %s", exc)
            return False
        except StorageError as exc:
            with self._lock:
                self._drop(len(batch), f"the store refused them: {exc}")
            return True
        except Exception as exc:  # an unexpected failure is retried like an outage, never lost silently
            self._writer = None
            _log.exception("log records not stored yet (will retry): %s", exc)
            return False
        self.written += len(batch)
        if self._counters is not None:
            self._counters[0].inc(len(batch))
        return True

    def _drop(self, count: int, why: str) -> None:
        self.dropped += count
        if self._counters is not None:
            self._counters[1].inc(count)
        _log.error("dropped %d log records: %s", count, why)


def _counters(registry: "CollectorRegistry") -> tuple[Any, Any]:
    from prometheus_client import Counter

    return (
        Counter("omni_log_records_written", "Log records stored in otel_logs", registry=registry),
        Counter("omni_log_records_dropped", "Log records given up on (refused by the store, or overflow)", registry=registry),
    )

