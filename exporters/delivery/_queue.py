"""A bounded, retrying, coalescing, optionally disk-backed queue in front of any metrics or logs sink.

Why a decorator around the sink: scraping must not wait for storage, and a storage outage
must not lose the data scraped meanwhile. ``export`` and ``offer`` only enqueue; one worker
thread merges queued batches into large inserts (by points and by age, see
:class:`DeliveryOptions`) and delivers them oldest first, retrying each with back-off.

Exactly-once. Every insert (a *group*: one batch, or several merged) has one token for its
whole life: a single batch keeps its own id, a merged group gets a digest of its members'
ids. Once formed a group never changes: its retries, its spool file and its replay after a
restart all carry the same token, which the ClickHouse writer hands to the server as
``insert_deduplication_token``, so an insert that landed although its answer was lost is
stored once.

Where batches wait, oldest to newest: the spool directory (if configured), then memory.
Memory is bounded in points and in estimated bytes; beyond either its oldest batches move to
the spool, or are dropped when there is none. The spool is bounded in bytes; beyond it the
oldest spooled groups are dropped. Drops are counted in
``omni_exporter_samples_dropped_total{reason}``.

What a crash can lose. With a spool: a group is written to disk (fsync, atomic rename) as
soon as its first attempt fails, and while the sink is failing everything arriving is moved
there, so SIGKILL during an outage loses at most the batches accepted since the worker last
looked (milliseconds); with a healthy sink, what memory holds while it coalesces (at most
``batch_max_age_s`` of data). ``offer(durable=True)`` answers only once the batch is stored
or on the fsynced spool. ``shutdown`` delivers what it can within its timeout, then spools
(or, without a spool, counts as dropped) the rest, the in-flight group included, once.

A group the sink refuses as data (``WriteOutcome.REFUSED``) is never retried: it is moved to
the spool's ``quarantine/`` (or dropped without a spool) and counted, so it cannot hold back
the groups behind it.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

from omni_core.admission import Admission, OfferResult
from omni_core.sink import BatchSink, MetricExporterSink, WriteOutcome, WriteResult

from .._selfmetrics import ExporterMetrics
from ._kinds import METRIC_BATCHES, BatchKind
from ._options import DeliveryOptions
from ._size import exposition_samples
from ._spool import Spool, SpoolCorrupt, SpoolEntry

__all__ = ["DeliveryQueue", "DeliveryStatus", "group_token"]

_log = logging.getLogger(__name__)

_Fate = Literal["stored", "spooled", "refused", "dropped"]
#: The histogram's outcome label, by write outcome.
_OUTCOME_LABEL = {WriteOutcome.STORED: "delivered", WriteOutcome.RETRY: "unavailable", WriteOutcome.REFUSED: "refused"}


def group_token(batch_ids: list[str]) -> str:
    """The insert token of a merged group: the same members in the same order give the same token."""
    if len(batch_ids) == 1:
        return batch_ids[0]
    return hashlib.sha256("\n".join(batch_ids).encode()).hexdigest()[:40]


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


@dataclass(eq=False)
class _Batch:
    """One accepted ``export``/``offer``, in memory until a group takes it. Compared by identity."""

    batch_id: str
    points: int
    size: int
    metrics_data: Any
    """The batch itself (``MetricsData``, or a sequence of log records; see :class:`BatchKind`)."""
    accepted_at: float
    urgent: bool = False
    alone: bool = False
    """Inserted on its own: it was part of a merged group the store refused as data."""
    fate: _Fate | None = None


@dataclass(eq=False)
class _Group:
    """One insert. ``members`` are empty for a group read back from the spool."""

    token: str
    points: int
    size: int
    metrics_data: Any | None
    members: list[_Batch] = field(default_factory=list)
    spool_entry: SpoolEntry | None = None
    settled: bool = False
    """Shutdown decided this group's fate while an attempt on it was still running."""

    def settle_members(self, fate: _Fate) -> None:
        for member in self.members:
            member.fate = fate


def _merge(batches: list[_Batch], kind: BatchKind[Any]) -> _Group:
    data = batches[0].metrics_data if len(batches) == 1 else kind.merge([b.metrics_data for b in batches])
    return _Group(
        group_token([b.batch_id for b in batches]),
        sum(b.points for b in batches),
        sum(b.size for b in batches),
        data,
        batches,
    )


class DeliveryQueue(MetricExporter):
    """``MetricExporter`` that queues batches for ``inner`` and delivers them from a worker thread.

    ``inner`` is a :class:`~omni_core.sink.BatchSink` (the ClickHouse writer, which answers
    STORED / RETRY / REFUSED and takes the insert token) or an SDK ``MetricExporter`` (seen
    through :class:`~omni_core.sink.MetricExporterSink`: SUCCESS stored, anything else
    retried). RETRY is retried without limit; REFUSED never. Opening a spool replays what a
    previous process left there before anything new.

    ``kind`` says what a batch is: :data:`METRIC_BATCHES` by default; with
    :data:`LOG_BATCHES` the queue carries sequences of SDK ``ReadableLogRecord`` (``offer``
    and ``export`` take one) to a log :class:`BatchSink`, and its bounds, counters and spool
    count log records where they count points.
    """

    def __init__(
        self,
        inner: MetricExporter | BatchSink,
        options: DeliveryOptions = DeliveryOptions(),
        *,
        metrics: ExporterMetrics | None = None,
        rng: random.Random | None = None,
        kind: BatchKind[Any] = METRIC_BATCHES,
    ) -> None:
        self._kind = kind
        preferred = getattr(inner, "_preferred_temporality", None)
        super().__init__(preferred_temporality=preferred, preferred_aggregation=getattr(inner, "_preferred_aggregation", None))
        if isinstance(inner, BatchSink):
            self._sink: BatchSink = inner
        elif isinstance(inner, MetricExporter):
            self._sink = MetricExporterSink(inner, timeout_s=options.attempt_timeout_s)
        else:
            raise TypeError(f"cannot deliver to {type(inner).__name__}: it is neither a BatchSink nor a MetricExporter")
        self._inner = inner
        self._options = options
        self._metrics = metrics or ExporterMetrics.for_registry()
        self._rng = rng or random.Random()
        self._cond = threading.Condition()
        self._memory: deque[_Batch] = deque()
        self._memory_points = 0
        self._memory_bytes = 0
        self._urgent = 0
        self._inflight: _Group | None = None
        self._spooled: deque[_Group] = deque()
        self._spool_points = 0
        self._spool_bytes = 0
        self._quarantine_bytes = 0
        self._sink_available = True
        self._closed = False
        self._stop = False
        self._wake = False
        self._flush_requested = False
        self._spool: Spool | None = None
        if options.spool_dir is not None:
            self._spool = Spool(options.spool_dir, kind)
            for entry in self._spool.open():
                self._spooled.append(_Group(entry.batch_id, entry.points, 0, None, spool_entry=entry))
                self._spool_points += entry.points
                self._spool_bytes += entry.size_bytes
            self._quarantine_bytes = self._spool.quarantine_bytes()
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

    def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        """Enqueue; when the bounds are exceeded the OLDEST waiting data moves to disk or is dropped."""
        points = self._kind.count(metrics_data)
        if points == 0:
            return MetricExportResult.SUCCESS
        size = self._kind.estimate_bytes(metrics_data)
        with self._cond:
            if self._closed:
                _log.warning("%s: queue is shut down; %d %s not accepted", self._options.name, points, self._kind.unit)
                return MetricExportResult.FAILURE
            self._append(metrics_data, points, size, urgent=False)
            self._enforce_memory_bound()
            self._publish_depth()
            self._cond.notify_all()
        return MetricExportResult.SUCCESS

    def offer(self, metrics_data: Any, *, durable: bool = False, timeout_s: float = 10.0) -> OfferResult:
        """Enqueue only if that evicts nothing; a refusal tells the client when to retry.

        Receivers use this instead of :meth:`export`: a client that can retry should be told
        to, rather than have older data dropped to make room. ``TOO_LARGE`` for a batch larger
        than the whole memory bound (it could never be accepted). With ``durable`` and a spool,
        the answer is ``STORED`` or ``SPOOLED`` (fsynced) or a refusal, never ``QUEUED``: the
        batch is flushed at once rather than waiting to coalesce, written to the spool directly
        while the sink is failing, and spooled by this call if ``timeout_s`` passes first.
        Without a spool ``durable`` answers ``QUEUED``.
        """
        points = self._kind.count(metrics_data)
        if points == 0:
            return OfferResult(Admission.QUEUED)
        size = self._kind.estimate_bytes(metrics_data)
        options = self._options
        if points > options.max_memory_points or size > options.max_memory_bytes:
            return OfferResult(
                Admission.TOO_LARGE, None,
                f"the batch ({points} points, about {size} bytes) is larger than the whole buffer "
                f"(queue_max_samples={options.max_memory_points}, queue_max_bytes={options.max_memory_bytes}); "
                "send smaller requests",
            )
        durable = durable and self._spool is not None
        with self._cond:
            if self._closed:
                return OfferResult(Admission.CLOSED, self.retry_after_s, "the queue is shutting down")
            if durable and not self._sink_available:
                direct = True
            else:
                direct = False
                has_room = (self._held_points() + points <= options.max_memory_points
                            and self._held_bytes() + size <= options.max_memory_bytes)
                if not has_room and not self._spool_has_room(size):
                    return self._full()
                batch = self._append(metrics_data, points, size, urgent=durable)
                self._enforce_memory_bound()
                self._publish_depth()
                self._cond.notify_all()
                if not durable:
                    return OfferResult(Admission.QUEUED)
        if direct:
            return self._spool_directly(metrics_data, points)
        return self._await_durable(batch, time.monotonic() + timeout_s)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Wait until everything queued (memory and spool) reached the sink; ``False`` on timeout.

        Flushes without waiting for batches to coalesce, and cuts the current back-off short
        once, so a sink that just came back is tried now.
        """
        deadline = time.monotonic() + timeout_millis / 1000
        with self._cond:
            self._wake = True
            self._flush_requested = True
            self._cond.notify_all()
            while self._memory or self._spooled or self._inflight is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._worker.is_alive():
                    return False
                self._cond.wait(remaining)
            self._flush_requested = False
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Stop accepting, try to drain within the timeout, then spool (or count as dropped) the rest.

        The group in flight is accounted for once: spooled under its own token (a replay is
        deduplicated if the running attempt lands after all), or counted as dropped.
        """
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
            group = self._inflight
            if group is not None and not group.settled:
                group.settled = True
                if group.spool_entry is None and not self._spool_group(group):
                    self._count_dropped(group.points, "shutdown")
                    group.settle_members("dropped")
            while self._memory:
                leftover = self._take_group()
                if not self._spool_group(leftover):
                    self._count_dropped(leftover.points, "shutdown")
                    leftover.settle_members("dropped")
            self._publish_depth()
            self._cond.notify_all()
            if self._spool is not None:
                self._spool.close()
        inner_shutdown = getattr(self._inner, "shutdown", None)
        if callable(inner_shutdown):
            inner_shutdown(timeout_millis=max(0.0, deadline - time.monotonic()) * 1000)

    # -- state ----------------------------------------------------------------------

    def status(self) -> DeliveryStatus:
        with self._cond:
            inflight_in_memory = self._inflight is not None and self._inflight.spool_entry is None
            return DeliveryStatus(
                len(self._memory) + int(inflight_in_memory), self._held_points(),
                len(self._spooled) + int(self._inflight is not None and not inflight_in_memory), self._spool_points,
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

    # -- admission (callers hold self._cond unless noted) ---------------------------

    def _held_points(self) -> int:
        inflight = self._inflight
        extra = inflight.points if inflight is not None and inflight.spool_entry is None else 0
        return self._memory_points + extra

    def _held_bytes(self) -> int:
        inflight = self._inflight
        extra = inflight.size if inflight is not None and inflight.spool_entry is None else 0
        return self._memory_bytes + extra

    def _spool_has_room(self, size: int) -> bool:
        return self._spool is not None and self._spool_bytes + size <= self._options.max_spool_bytes

    def _full(self) -> OfferResult:
        if self._sink_available:
            return OfferResult(Admission.BUSY, self.retry_after_s, "the receive buffer is full")
        return OfferResult(Admission.UNAVAILABLE, self.retry_after_s, "storage is unavailable and the buffer is full")

    def _append(self, metrics_data: Any, points: int, size: int, *, urgent: bool) -> _Batch:
        batch = _Batch(str(uuid.uuid4()), points, size, metrics_data, time.monotonic(), urgent)
        self._memory.append(batch)
        self._memory_points += points
        self._memory_bytes += size
        self._urgent += urgent
        return batch

    def _return_to_memory(self, batches: list[_Batch]) -> None:
        """Put batches back at the head of memory, in their order."""
        for batch in reversed(batches):
            self._memory.appendleft(batch)
            self._memory_points += batch.points
            self._memory_bytes += batch.size
            self._urgent += batch.urgent

    def _pop_memory(self, batch: _Batch) -> None:
        self._memory.remove(batch)
        self._memory_points -= batch.points
        self._memory_bytes -= batch.size
        self._urgent -= batch.urgent

    def _spool_directly(self, metrics_data: Any, points: int) -> OfferResult:
        """Durable offer while the sink fails: fsync it to the spool in the caller's thread (no lock held)."""
        assert self._spool is not None
        with self._cond:
            if not self._spool_has_room(0):
                return self._full()
        batch_id = str(uuid.uuid4())
        try:
            entry = self._spool.write(batch_id, points, metrics_data)
        except OSError as exc:
            _log.error("%s: cannot spool an offered batch to %s: %s", self._options.name, self._spool.directory, exc)
            return OfferResult(Admission.UNAVAILABLE, self.retry_after_s, "storage is unavailable and the spool refused the batch")
        with self._cond:
            self._add_spooled(_Group(batch_id, points, 0, None, spool_entry=entry))
            self._spool_points += points
            self._spool_bytes += entry.size_bytes
            self._metrics.batches_spooled.labels(self._options.name).inc()
            self._enforce_spool_bound()
            self._publish_depth()
            self._cond.notify_all()
        return OfferResult(Admission.SPOOLED)

    def _await_durable(self, batch: _Batch, deadline: float) -> OfferResult:
        with self._cond:
            while batch.fate is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if batch.fate is None:
                # Not settled in time: put it on disk ourselves (it is still ours, or in flight).
                if batch in self._memory:
                    self._pop_memory(batch)
                    group = _merge([batch], self._kind)
                    if self._spool_group(group):
                        self._add_spooled(group)
                        self._enforce_spool_bound()
                    else:
                        batch.fate = "dropped"
                        self._publish_depth()
                        return OfferResult(Admission.UNAVAILABLE, self.retry_after_s, "the spool refused the batch")
                    self._publish_depth()
                elif self._inflight is not None and batch in self._inflight.members:
                    if not self._spool_group(self._inflight):
                        return OfferResult(Admission.QUEUED, None, "being written; the spool refused a copy")
            fate = batch.fate
        if fate == "stored":
            return OfferResult(Admission.STORED)
        if fate == "spooled":
            return OfferResult(Admission.SPOOLED)
        if fate == "refused":
            return OfferResult(Admission.QUEUED, None, "the store refused the data; the batch was set aside")
        return OfferResult(Admission.UNAVAILABLE, self.retry_after_s, "the buffer overflowed before the batch was kept")

    # -- bounds (callers hold self._cond) -------------------------------------------

    def _enforce_memory_bound(self) -> None:
        options = self._options
        while self._memory and (self._held_points() > options.max_memory_points
                                or self._held_bytes() > options.max_memory_bytes):
            victim = self._memory[0]
            self._pop_memory(victim)
            group = _merge([victim], self._kind)
            if self._spool_group(group):
                self._add_spooled(group)
            else:
                self._count_dropped(victim.points, "queue_full")
                victim.fate = "dropped"
        self._enforce_spool_bound()

    def _enforce_spool_bound(self) -> None:
        while self._spool_bytes > self._options.max_spool_bytes and self._spooled:
            victim = self._spooled.popleft()
            self._forget_spooled(victim)
            self._count_dropped(victim.points, "spool_full")
            victim.settle_members("dropped")

    def _spool_group(self, group: _Group) -> bool:
        """Write ``group`` to the spool if it is not there yet; False when there is no spool or it fails."""
        if group.spool_entry is not None:
            return True
        if self._spool is None or group.metrics_data is None:
            return False
        try:
            entry = self._spool.write(group.token, group.points, group.metrics_data)
        except OSError as exc:
            _log.error("%s: cannot spool %d %s to %s: %s", self._options.name, group.points, self._kind.unit,
                       self._spool.directory, exc)
            return False
        group.spool_entry = entry
        self._spool_points += group.points
        self._spool_bytes += entry.size_bytes
        group.settle_members("spooled")
        self._metrics.batches_spooled.labels(self._options.name).inc()
        return True

    def _add_spooled(self, group: _Group) -> None:
        """Queue a group already on disk for delivery; its data is re-read from there when its turn comes."""
        group.metrics_data = None
        self._spooled.append(group)

    def _forget_spooled(self, group: _Group) -> None:
        if group in self._spooled:
            self._spooled.remove(group)
        if group.spool_entry is not None:
            assert self._spool is not None
            self._spool.remove(group.spool_entry)
            self._spool_points -= group.points
            self._spool_bytes -= group.spool_entry.size_bytes
            group.spool_entry = None

    def _count_dropped(self, points: int, reason: str) -> None:
        self._metrics.samples_dropped.labels(self._options.name, reason).inc(points)
        _log.warning("%s: dropped %d %s (%s)", self._options.name, points, self._kind.unit, reason)

    def _publish_depth(self) -> None:
        status_memory = self._held_points()
        name = self._options.name
        self._metrics.queue_batches.labels(name, "memory").set(len(self._memory))
        self._metrics.queue_samples.labels(name, "memory").set(status_memory)
        self._metrics.queue_batches.labels(name, "spool").set(len(self._spooled))
        self._metrics.queue_samples.labels(name, "spool").set(self._spool_points)

    # -- worker ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                group = self._next_group()
                if group is None:
                    return
                self._inflight = group
                self._publish_depth()
            if not self._deliver(group):
                return  # stopping: shutdown settles the group still in self._inflight
            with self._cond:
                self._inflight = None
                if not (self._memory or self._spooled):
                    self._flush_requested = False
                self._publish_depth()
                self._cond.notify_all()

    def _next_group(self) -> _Group | None:
        """The next insert, waiting until one is due; None when stopping."""
        options = self._options
        while not self._stop:
            if self._spooled:
                return self._spooled.popleft()
            if self._memory:
                waited = time.monotonic() - self._memory[0].accepted_at
                due = (
                    self._flush_requested or self._closed or self._urgent > 0 or self._memory[0].alone
                    or self._memory_points >= options.batch_max_points
                    or self._memory_points >= options.max_memory_points
                    or self._memory_bytes >= options.max_memory_bytes // 2
                    or waited >= options.batch_max_age_s
                )
                if due:
                    return self._take_group()
                self._cond.wait(options.batch_max_age_s - waited)
            else:
                self._cond.wait()
        return None

    def _take_group(self) -> _Group:
        """Merge batches from the head of memory up to ``batch_max_points`` (at least one)."""
        members = [self._memory[0]]
        points = members[0].points
        for batch in list(self._memory)[1:] if not members[0].alone else ():
            if batch.alone or points + batch.points > self._options.batch_max_points:
                break
            members.append(batch)
            points += batch.points
        for batch in members:
            self._pop_memory(batch)
        return _merge(members, self._kind)

    def _deliver(self, group: _Group) -> bool:
        """Deliver ``group`` or set it aside; False when stopping with it undelivered."""
        name = self._options.name
        attempt = 0
        while True:
            metrics_data = group.metrics_data
            if metrics_data is None:
                assert self._spool is not None and group.spool_entry is not None
                try:
                    metrics_data = group.metrics_data = self._spool.read(group.spool_entry)
                except SpoolCorrupt as exc:
                    _log.error("%s: %s", name, exc)
                    with self._cond:
                        self._spool_points -= group.points
                        self._spool_bytes -= group.spool_entry.size_bytes
                        group.spool_entry = None
                        self._count_dropped(group.points, "corrupt")
                    return True
            result = self._attempt(group, metrics_data)
            with self._cond:
                if group.settled:
                    if result.outcome is WriteOutcome.STORED and group.spool_entry is not None and self._spool:
                        self._spool.remove(group.spool_entry)
                    return True
                if result.outcome is WriteOutcome.STORED:
                    self._sink_available = True
                    self._forget_spooled(group)
                    group.settle_members("stored")
                    return True
                if result.outcome is WriteOutcome.REFUSED:
                    self._sink_available = True
                    if len(group.members) > 1 and group.spool_entry is None:
                        self._split(group)
                    else:
                        self._set_aside(group)
                    return True
                self._sink_available = False
                self._spool_group(group)  # the first failure puts it on disk: a crash now cannot lose it
                self._metrics.batches_retried.labels(name).inc()
                delay = self._options.retry.delay_s(attempt, self._rng)
                attempt += 1
                deadline = time.monotonic() + delay
                while not (self._stop or self._wake):
                    self._spool_memory()
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                self._wake = False
                if self._stop:
                    return False

    def _split(self, group: _Group) -> None:
        """A merged group refused as data: put its batches back first in line, each to be inserted alone.

        Only the batch carrying the bad data is then set aside; the others are stored under
        their own ids. Nothing of the group was stored before the refusal when the writer
        refuses it up front (out-of-range timestamps); a refusal by the server after some
        tables took their rows may store those rows again.
        """
        for batch in group.members:
            batch.alone = True
        self._return_to_memory(group.members)
        _log.warning("%s: a merged insert of %d batches was refused; inserting them one by one",
                     self._options.name, len(group.members))

    def _spool_memory(self) -> None:
        """While the sink fails, move what memory holds to disk, merged as it would be inserted."""
        if self._spool is None:
            return
        while self._memory:
            group = self._take_group()
            if not self._spool_group(group):
                self._return_to_memory(group.members)  # back where they were, still waiting
                return
            self._add_spooled(group)
            self._enforce_spool_bound()
        self._publish_depth()
        self._cond.notify_all()

    def _set_aside(self, group: _Group) -> None:
        """The store refused the data: quarantine it beside the spool (or drop it) and count it."""
        limit = self._options.max_spool_bytes // 10
        quarantined = False
        entry = group.spool_entry
        size = entry.size_bytes if entry is not None else group.size
        if self._spool is not None and self._quarantine_bytes + size <= limit:
            try:
                path = self._spool.quarantine(group.token, group.points, group.metrics_data, entry)
                quarantined = True
            except OSError as exc:
                _log.error("%s: cannot quarantine a refused batch: %s", self._options.name, exc)
            else:
                self._quarantine_bytes += path.stat().st_size
                if entry is not None:
                    self._spool_points -= group.points
                    self._spool_bytes -= entry.size_bytes
                    group.spool_entry = None
                _log.error("%s: %d %s refused by the store as data were moved to %s; they are not retried",
                           self._options.name, group.points, self._kind.unit, path)
        if not quarantined:
            self._forget_spooled(group)
        self._count_dropped(group.points, "quarantined" if quarantined else "refused")
        group.settle_members("refused")

    def _attempt(self, group: _Group, metrics_data: Any) -> WriteResult:
        """One delivery attempt; a sink that raises is a bug, and its batch is treated as refused."""
        name = self._options.name
        started = time.perf_counter()
        try:
            result = self._sink.write_batch(metrics_data, insert_token=group.token)
        except Exception as exc:  # noqa: BLE001 - the worker must survive any sink bug
            _log.exception("%s: batch %s (%d %s) failed unexpectedly", name, group.token, group.points, self._kind.unit)
            result = WriteResult(WriteOutcome.REFUSED, f"the sink raised {exc!r}")
        self._metrics.insert_seconds.labels(name, _OUTCOME_LABEL[result.outcome]).observe(time.perf_counter() - started)
        if result.outcome is WriteOutcome.STORED:
            self._metrics.batches_written.labels(name).inc()
            self._metrics.samples_written.labels(name).inc(group.points)
            if self._kind is METRIC_BATCHES:
                self._metrics.exposition_samples_written.labels(name).inc(exposition_samples(metrics_data))
        elif result.outcome is WriteOutcome.RETRY:
            _log.warning("%s: batch %s (%d %s) not stored, will retry: %s", name, group.token, group.points, self._kind.unit,
                         result.detail)
        else:
            _log.error("%s: batch %s (%d %s) refused by the store, not retried: %s", name, group.token,
                       group.points, self._kind.unit, result.detail)
        return result
