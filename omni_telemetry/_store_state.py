"""The store's own state as one more producer of each scrape cycle.

The scrape loop hands every cycle's ``MetricsData`` to one sink. Wrapping that sink here
(rather than teaching the loop about ClickHouse) adds the store-state reading to the same
export: it rides the same delivery queue (retries, spool, insert deduplication) and lands in
the same tables as the scraped targets. The reading runs inside ``export``, which the loop
already calls off its event loop, so a slow server never stalls scraping. A reading that
fails is logged and counted, and the cycle's scraped data is exported all the same.

Why not every cycle: a reading queries system tables (parts, disks, errors), which costs the
process about a tenth of its CPU when a large target is scraped every 2 s, while what it
reports (disk space, part counts) moves over minutes. So it is taken at most once per
``interval_s`` (``store_state_interval_s``), on the first cycle at or after each due time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from collectors.store import StoreStateReader
from omni_core.errors import ConfigError

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["StoreStateReading", "WithStoreState"]

_log = logging.getLogger(__name__)


class StoreStateReading:
    """Reads the store's state through a client opened on first use (and again after a
    failure), counting readings and failures in the process's own registry.

    ``open_query`` returns the query callable (SQL in, rows out) of a fresh or shared
    client; on chDB that is the process's one engine, so the reader never opens a second.
    ``interval_s`` spaces readings: a call before the next due time returns ``None`` without
    reading (0 reads on every call). Due times advance by ``interval_s`` from the first
    reading, so a cycle a few milliseconds early does not push the reading a whole cycle back.
    """

    def __init__(
        self,
        open_query: Callable[[], Callable[[str], Any]],
        *,
        databases: tuple[str, ...] = (),
        cluster: str = "",
        registry: "CollectorRegistry | None" = None,
        interval_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval_s < 0:
            raise ConfigError(f"store_state_interval_s must be 0 or more, got {interval_s:g}", field="store_state_interval_s")
        self._open_query = open_query
        self._interval_s = interval_s
        self._clock = clock
        self._due: float | None = None
        self._databases = databases
        self._cluster = cluster
        self._reader: StoreStateReader | None = None
        self.readings = 0
        self.failures = 0
        self._counters = _counters(registry) if registry is not None else None

    @property
    def interval_s(self) -> float:
        return self._interval_s

    def __call__(self) -> MetricsData | None:
        """This cycle's reading; ``None`` when no reading is due yet or the store could not be read at all."""
        if not self._take_turn():
            return None
        try:
            if self._reader is None:
                self._reader = StoreStateReader(
                    self._open_query(), databases=self._databases, cluster=self._cluster
                )
            reading = self._reader.read()
        except Exception as exc:  # never stops the cycle: the scraped data is exported regardless
            self._reader = None  # reconnect next cycle
            self._count(failed=True)
            _log.warning("store state not read this cycle: %s", exc)
            return None
        self._count(failed=bool(reading.failures))
        return reading.metrics_data

    def _take_turn(self) -> bool:
        if self._interval_s <= 0:
            return True
        now = self._clock()
        if self._due is not None and now < self._due:
            return False
        self._due = now + self._interval_s if self._due is None else self._due + self._interval_s
        if self._due <= now:  # behind by more than an interval (a long stall): start again from now
            self._due = now + self._interval_s
        return True

    def _count(self, *, failed: bool) -> None:
        self.readings += 1
        self.failures += int(failed)
        if self._counters is not None:
            self._counters[0].inc()
            if failed:
                self._counters[1].inc()


def _counters(registry: "CollectorRegistry") -> tuple[Any, Any]:
    from prometheus_client import Counter

    return (
        Counter("omni_store_state_reads", "Readings of the store's own state (at most one per store_state_interval_s)", registry=registry),
        Counter(
            "omni_store_state_read_failures",
            "Readings of the store's state that failed entirely or in part (see the log)",
            registry=registry,
        ),
    )


class WithStoreState(MetricExporter):
    """A sink that adds the store's reading to each cycle's data, then exports through ``inner``.

    ``force_flush`` and ``shutdown`` are the inner sink's: the reading holds nothing.
    """

    def __init__(self, inner: MetricExporter, read: Callable[[], MetricsData | None]) -> None:
        super().__init__()
        self.inner = inner
        self._read = read

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        reading = self._read()
        if reading is not None:
            metrics_data = MetricsData([*metrics_data.resource_metrics, *reading.resource_metrics])
        return self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)
