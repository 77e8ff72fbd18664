"""A bounded, retrying, optionally disk-backed queue in front of any metrics sink.

Why a decorator around the sink: scraping must not wait for storage, and a storage outage
must not lose the data scraped meanwhile. ``export`` only enqueues; one worker thread
delivers batches oldest first, retrying each with back-off until the sink takes it.

Where batches wait, oldest to newest: the spool directory (if configured), then memory.
When memory holds more than ``max_memory_points``, its oldest batches move to the spool;
when the spool grows past ``max_spool_bytes`` (or there is none), the oldest batches are
dropped and their points counted in ``omni_exporter_samples_dropped_total``. The batch
being delivered is never evicted. Every batch keeps one id for its whole life (memory,
spool, restart); a writer sink gets it as ``insert_token`` so a retried batch is stored once.

Loss bound. Data acknowledged by ``export`` is lost only (1) when a bound evicts it, counted
in ``omni_exporter_samples_dropped_total{reason}``; (2) when the process dies without
``shutdown``: what sat in memory, at most ``max_memory_points`` points. With a spool, a batch
the sink failed on is written to disk before the first back-off, so during an outage memory
holds only batches not yet attempted; ``shutdown`` spools whatever it could not deliver.
Spooled batches survive a crash (fsync + atomic rename) and are replayed on the next start.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from omni_core.admission import Admission, OfferResult
from omni_core.errors import StorageError, StorageUnavailable

from .._selfmetrics import ExporterMetrics
from ..otlp import count_data_points
from ._options import DeliveryOptions
from ._spool import Spool, SpoolCorrupt, SpoolEntry

__all__ = ["DeliveryQueue", "DeliveryStatus", "TokenWriter"]

_log = logging.getLogger(__name__)


@runtime_checkable
class TokenWriter(Protocol):
    """A sink that stores a batch idempotently given a stable token (the ClickHouse writer)."""

    def write(self, metrics_data: MetricsData, *, insert_token: str | None = None) -> Any: ...


@dataclass(frozen=True)
class DeliveryStatus:
    """What is waiting, and whether the sink took the last attempt."""

    memory_batches: int
    memory_points: int
    spool_batches: int
    spool_points: int
    spool_bytes: int
    sink_available: bool

    @property
    def pending_points(self) -> int:
        return self.memory_points + self.spool_points


class _Rejected(Exception):
    """The sink answered FAILURE (SDK exporters carry no reason; their log line has it)."""


@dataclass(eq=False)
class _Batch:
    """Compared by identity: two batches with equal content are still two deliveries."""

    batch_id: str
    points: int
    metrics_data: MetricsData | None
    spool_entry: SpoolEntry | None = None
    error_attempts: int = 0


class DeliveryQueue(MetricExporter):
    """``MetricExporter`` that queues batches for ``inner`` and delivers them from a worker thread.

    ``inner`` is either an SDK ``MetricExporter`` (``export`` returning SUCCESS/FAILURE, no
    token) or a :class:`TokenWriter` (``write(metrics_data, insert_token=...)`` raising
    :class:`StorageUnavailable` for outages, other :class:`StorageError` for refusals).
    Outages and FAILURE results are retried without limit; refusals ``max_error_attempts``
    times. Opening a spool replays what a previous process left there before anything new.
    """

    def __init__(
        self,
        inner: MetricExporter | TokenWriter,
        options: DeliveryOptions = DeliveryOptions(),
        *,
        metrics: ExporterMetrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        preferred = getattr(inner, "_preferred_temporality", None)
        super().__init__(preferred_temporality=preferred, preferred_aggregation=getattr(inner, "_preferred_aggregation", None))
        self._inner = inner
        self._options = options
        self._metrics = metrics or ExporterMetrics.for_registry()
        self._rng = rng or random.Random()
        self._cond = threading.Condition()
        self._memory: deque[_Batch] = deque()
        self._memory_points = 0
        self._spooled: deque[_Batch] = deque()
        self._spool_points = 0
        self._spool_bytes = 0
        self._inflight: _Batch | None = None
        self._sink_available = True
        self._closed = False
        self._stop = False
        self._wake = False
        self._spool: Spool | None = None
        if options.spool_dir is not None:
            self._spool = Spool(options.spool_dir)
            for entry in self._spool.open():
                self._spooled.append(_Batch(entry.batch_id, entry.points, None, entry))
                self._spool_points += entry.points
                self._spool_bytes += entry.size_bytes
            if self._spooled:
                _log.info(
                    "%s: replaying %d spooled batches (%d points) from %s",
                    options.name, len(self._spooled), self._spool_points, options.spool_dir,
                )
            with self._cond:
                self._enforce_spool_bound()
        self._publish_depth()
        self._worker = threading.Thread(target=self._run, name=f"delivery-{options.name}", daemon=True)
        self._worker.start()

    # -- MetricExporter -------------------------------------------------------------

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        """Enqueue; when the bounds are exceeded the OLDEST waiting data moves to disk or is dropped."""
        points = count_data_points(metrics_data)
        if points == 0:
            return MetricExportResult.SUCCESS
        with self._cond:
            if self._closed:
                _log.warning("%s: queue is shut down; %d points not accepted", self._options.name, points)
                return MetricExportResult.FAILURE
            self._append(metrics_data, points)
            self._enforce_memory_bound()
            self._publish_depth()
            self._cond.notify_all()
        return MetricExportResult.SUCCESS

    def offer(self, metrics_data: MetricsData, *, durable: bool = False, timeout_s: float = 10.0) -> OfferResult:
        """Enqueue only if that evicts nothing; a refusal tells the client to retry.

        Receivers use this instead of :meth:`export`: a client that can retry should be told
        to, rather than have older data dropped to make room. ``durable`` is not honoured
        yet beyond ``QUEUED``.
        """
        points = count_data_points(metrics_data)
        if points == 0:
            return OfferResult(Admission.QUEUED)
        with self._cond:
            if self._closed:
                return OfferResult(Admission.CLOSED, self.retry_after_s, "the queue is shutting down")
            memory_room = self._memory_points + points <= self._options.max_memory_points
            if not memory_room and (self._spool is None or not self._spool_has_room_for_overflow(points)):
                if self._sink_available:
                    return OfferResult(Admission.BUSY, self.retry_after_s, "the receive buffer is full")
                return OfferResult(Admission.UNAVAILABLE, self.retry_after_s, "storage is unavailable and the buffer is full")
            self._append(metrics_data, points)
            self._enforce_memory_bound()
            self._publish_depth()
            self._cond.notify_all()
        return OfferResult(Admission.QUEUED)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Wait until everything queued (memory and spool) reached the sink; ``False`` on timeout.

        Cuts the current back-off short once, so a sink that just came back is tried now.
        """
        deadline = time.monotonic() + timeout_millis / 1000
        with self._cond:
            self._wake = True
            self._cond.notify_all()
            while self._memory or self._spooled:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._worker.is_alive():
                    return False
                self._cond.wait(remaining)
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Stop accepting, try to drain within the timeout, then spool (or count as dropped) the rest."""
        deadline = time.monotonic() + timeout_millis / 1000
        with self._cond:
            if self._closed:
                return
            self._closed = True
        self.force_flush(max(0.0, deadline - time.monotonic()) * 1000)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._worker.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            leftover = list(self._memory)
            self._memory.clear()
            self._memory_points = 0
            for batch in leftover:
                if not self._move_to_spool(batch):
                    self._count_dropped(batch.points, "shutdown")
            self._publish_depth()
            if self._spool is not None:
                self._spool.close()
        inner_shutdown = getattr(self._inner, "shutdown", None)
        if callable(inner_shutdown):
            inner_shutdown(timeout_millis=max(0.0, deadline - time.monotonic()) * 1000)

    # -- state ----------------------------------------------------------------------

    def status(self) -> DeliveryStatus:
        with self._cond:
            return DeliveryStatus(
                len(self._memory), self._memory_points, len(self._spooled), self._spool_points,
                self._spool_bytes, self._sink_available,
            )

    @property
    def sink_available(self) -> bool:
        """False from a failed delivery attempt until the next successful one."""
        return self._sink_available

    @property
    def retry_after_s(self) -> float:
        """A fair ``Retry-After`` for a client refused while full: one back-off step."""
        return self._options.retry.initial_interval_s

    # -- bounds (callers hold self._cond) -------------------------------------------

    def _append(self, metrics_data: MetricsData, points: int) -> None:
        self._memory.append(_Batch(str(uuid.uuid4()), points, metrics_data))
        self._memory_points += points

    def _enforce_memory_bound(self) -> None:
        while self._memory_points > self._options.max_memory_points:
            victim = next((b for b in self._memory if b is not self._inflight), None)
            if victim is None:
                return
            self._memory.remove(victim)
            self._memory_points -= victim.points
            if not self._move_to_spool(victim):
                self._count_dropped(victim.points, "queue_full")

    def _move_to_spool(self, batch: _Batch) -> bool:
        if self._spool is None or batch.metrics_data is None:
            return False
        try:
            entry = self._spool.write(batch.batch_id, batch.points, batch.metrics_data)
        except OSError as exc:
            _log.error("%s: cannot spool a batch of %d points to %s: %s", self._options.name, batch.points,
                       self._spool.directory, exc)
            return False
        self._spooled.append(_Batch(batch.batch_id, batch.points, None, entry, batch.error_attempts))
        self._spool_points += batch.points
        self._spool_bytes += entry.size_bytes
        self._metrics.batches_spooled.labels(self._options.name).inc()
        self._enforce_spool_bound()
        return True

    def _enforce_spool_bound(self) -> None:
        while self._spool_bytes > self._options.max_spool_bytes:
            victim = next((b for b in self._spooled if b is not self._inflight), None)
            if victim is None:
                return
            self._forget_spooled(victim)
            self._count_dropped(victim.points, "spool_full")

    def _spool_has_room_for_overflow(self, points: int) -> bool:
        # Rough: assume spooled bytes per point stay as they were (or 100 B when unknown).
        per_point = self._spool_bytes / self._spool_points if self._spool_points else 100.0
        overflow = self._memory_points + points - self._options.max_memory_points
        return self._spool_bytes + overflow * per_point <= self._options.max_spool_bytes

    def _forget_spooled(self, batch: _Batch) -> None:
        self._spooled.remove(batch)
        self._spool_points -= batch.points
        assert batch.spool_entry is not None
        self._spool_bytes -= batch.spool_entry.size_bytes
        assert self._spool is not None
        self._spool.remove(batch.spool_entry)

    def _count_dropped(self, points: int, reason: str) -> None:
        self._metrics.samples_dropped.labels(self._options.name, reason).inc(points)
        _log.warning("%s: dropped a batch of %d points (%s)", self._options.name, points, reason)

    def _publish_depth(self) -> None:
        name = self._options.name
        self._metrics.queue_batches.labels(name, "memory").set(len(self._memory))
        self._metrics.queue_samples.labels(name, "memory").set(self._memory_points)
        self._metrics.queue_batches.labels(name, "spool").set(len(self._spooled))
        self._metrics.queue_samples.labels(name, "spool").set(self._spool_points)

    # -- worker ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._spooled or self._memory) and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                batch = self._spooled[0] if self._spooled else self._memory[0]
                self._inflight = batch
            try:
                self._deliver_with_retries(batch)
            finally:
                with self._cond:
                    self._inflight = None
                    self._publish_depth()
                    self._cond.notify_all()

    def _deliver_with_retries(self, batch: _Batch) -> None:
        """Deliver ``batch`` or give up on it; returns with the batch removed, or when stopping."""
        metrics_data = batch.metrics_data
        if metrics_data is None:
            assert self._spool is not None and batch.spool_entry is not None
            try:
                metrics_data = self._spool.read(batch.spool_entry)
            except SpoolCorrupt as exc:
                _log.error("%s: %s", self._options.name, exc)
                with self._cond:
                    self._forget_spooled(batch)
                    self._count_dropped(batch.points, "corrupt")
                return
        attempt = 0
        while True:
            outcome = self._attempt(batch, metrics_data)
            if outcome == "delivered":
                with self._cond:
                    self._sink_available = True
                    self._remove(batch)
                return
            if outcome == "refused":
                batch.error_attempts += 1
                if batch.error_attempts >= self._options.max_error_attempts:
                    with self._cond:
                        self._remove(batch)
                        self._count_dropped(batch.points, "refused")
                    return
            if batch.spool_entry is None:
                self._persist_failed(batch, metrics_data)
            self._metrics.batches_retried.labels(self._options.name).inc()
            delay = self._options.retry.delay_s(attempt, self._rng)
            attempt += 1
            with self._cond:
                self._sink_available = outcome == "refused"
                deadline = time.monotonic() + delay
                while not (self._stop or self._wake):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                self._wake = False
                if self._stop:
                    return

    def _attempt(self, batch: _Batch, metrics_data: MetricsData) -> str:
        """One delivery attempt: "delivered", "unavailable" (retry forever) or "refused" (bounded)."""
        name = self._options.name
        started = time.perf_counter()
        outcome = "delivered"
        try:
            if isinstance(self._inner, TokenWriter) and not isinstance(self._inner, MetricExporter):
                self._inner.write(metrics_data, insert_token=batch.batch_id)
            else:
                result = self._inner.export(metrics_data, timeout_millis=self._options.attempt_timeout_s * 1000)
                if result is not MetricExportResult.SUCCESS:
                    raise _Rejected("the sink answered FAILURE")
        except (StorageUnavailable, _Rejected, ConnectionError, TimeoutError) as exc:
            outcome = "unavailable"
            _log.warning("%s: batch %s (%d points) not delivered, will retry: %s", name, batch.batch_id, batch.points, exc)
        except StorageError as exc:
            outcome = "refused"
            _log.error("%s: batch %s (%d points) refused by the sink: %s", name, batch.batch_id, batch.points, exc)
        except Exception:  # noqa: BLE001 - the worker must survive any sink bug
            outcome = "refused"
            _log.exception("%s: batch %s (%d points) failed unexpectedly", name, batch.batch_id, batch.points)
        self._metrics.insert_seconds.labels(name, outcome).observe(time.perf_counter() - started)
        if outcome == "delivered":
            self._metrics.batches_written.labels(name).inc()
            self._metrics.samples_written.labels(name).inc(batch.points)
        return outcome

    def _persist_failed(self, batch: _Batch, metrics_data: MetricsData) -> None:
        """Put a batch the sink just failed on disk, so a crash during the outage cannot lose it."""
        if self._spool is None:
            return
        with self._cond:
            if batch not in self._memory:
                return
            try:
                entry = self._spool.write(batch.batch_id, batch.points, metrics_data)
            except OSError as exc:
                _log.error("%s: cannot spool a failing batch to %s: %s", self._options.name, self._spool.directory, exc)
                return
            self._memory.remove(batch)
            self._memory_points -= batch.points
            batch.spool_entry = entry
            batch.metrics_data = None
            # Stays first in line: it is the oldest batch and the one being retried.
            self._spooled.appendleft(batch)
            self._spool_points += batch.points
            self._spool_bytes += entry.size_bytes
            self._metrics.batches_spooled.labels(self._options.name).inc()
            self._enforce_spool_bound()
            self._publish_depth()

    def _remove(self, batch: _Batch) -> None:
        if batch.spool_entry is not None:
            if batch in self._spooled:
                self._forget_spooled(batch)
        elif batch in self._memory:
            self._memory.remove(batch)
            self._memory_points -= batch.points
