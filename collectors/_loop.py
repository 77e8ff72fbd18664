"""The scrape loop: every interval, scrape all targets concurrently and hand one
``MetricsData`` to a sink.

One target never holds back the others: every scrape has a deadline for its whole request
(the target's timeout, see :meth:`Scraper.scrape`), and a cycle waits at most one interval for
its scrapes; one still running then (queued behind the concurrency bound, or stuck where no
deadline reaches) is given up as ``up=0`` so the other targets' data is stored on time.

The sink is any SDK ``MetricExporter`` (the ClickHouse writer, the OTLP push, or a delivery
queue in front of either); the loop neither knows nor cares which. A sink failure is
logged and the loop goes on: buffering and retrying is the sink's job, not the scraper's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

from ._scrape import ScrapeResult, Scraper, metrics_data
from ._target import ScrapeTarget

__all__ = ["CollectionLoop", "CycleReport"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CycleReport:
    results: tuple[ScrapeResult, ...]
    export_result: MetricExportResult
    started_ns: int
    duration_s: float


class CollectionLoop:
    def __init__(
        self,
        scraper: Scraper,
        exporter: MetricExporter,
        targets: Callable[[], Sequence[ScrapeTarget]] | Sequence[ScrapeTarget],
        *,
        interval_s: float = 15.0,
        concurrency: int = 32,
        export_timeout_s: float = 30.0,
        on_cycle: Callable[[CycleReport], None] | None = None,
    ) -> None:
        self.scraper = scraper
        self.exporter = exporter
        self._targets = targets
        self.interval_s = interval_s
        self.export_timeout_s = export_timeout_s
        self._semaphore = asyncio.Semaphore(concurrency)
        self._on_cycle = on_cycle

    def targets(self) -> Sequence[ScrapeTarget]:
        return self._targets() if callable(self._targets) else self._targets

    async def _scrape_one(self, target: ScrapeTarget) -> ScrapeResult:
        async with self._semaphore:
            return await self.scraper.scrape(target)

    async def _scrape_all(self, targets: list[ScrapeTarget], started_ns: int) -> tuple[ScrapeResult, ...]:
        """Every target's result, in order, within one interval: late ones become ``up=0``."""
        if not targets:
            return ()
        tasks = [asyncio.ensure_future(self._scrape_one(t)) for t in targets]
        _done, late = await asyncio.wait(tasks, timeout=self.interval_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
        results = []
        for target, task in zip(targets, tasks):
            if task in late:
                reason = (
                    f"scrape not finished within the scrape interval of {self.interval_s:g} s "
                    "(too many slow targets for the concurrency bound?); given up so the other targets' "
                    "data is stored on time"
                )
                results.append(self.scraper.failed(target, reason, started_ns, self.interval_s))
            else:
                results.append(task.result())
        return tuple(results)

    async def run_once(self) -> CycleReport:
        started_ns = time.time_ns()
        started = time.perf_counter()
        targets = list(self.targets())
        self.scraper.forget(targets)
        results = await self._scrape_all(targets, started_ns)
        data = metrics_data(results)
        try:
            outcome = await asyncio.to_thread(
                self.exporter.export, data, timeout_millis=self.export_timeout_s * 1000
            )
        except Exception:  # an exporter must not raise, but one that does must not stop scraping
            _log.exception("exporter raised; this cycle's data is lost unless the exporter queued it")
            outcome = MetricExportResult.FAILURE
        if outcome is not MetricExportResult.SUCCESS:
            _log.warning("export of %d targets' metrics failed", len(results))
        report = CycleReport(results, outcome, started_ns, time.perf_counter() - started)
        if self._on_cycle is not None:
            self._on_cycle(report)
        return report

    async def run(self, *, stop: asyncio.Event | None = None, duration_s: float | None = None) -> None:
        """Scrape every ``interval_s`` until ``stop`` is set or ``duration_s`` has passed."""
        stop = stop or asyncio.Event()
        deadline = time.monotonic() + duration_s if duration_s is not None else None
        while not stop.is_set():
            cycle_start = time.monotonic()
            await self.run_once()
            wait = self.interval_s - (time.monotonic() - cycle_start)
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0 and time.monotonic() >= deadline:
                    break
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(wait, 0))
            except asyncio.TimeoutError:
                pass
        await self.scraper.aclose()
