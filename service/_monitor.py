"""The background evaluation loop and the latest snapshot it leaves behind.

``/health`` reads the snapshot, never the database, so a burst of refreshes costs nothing
and a slow store cannot make the endpoint hang; the snapshot's age says how fresh it is,
and one older than ``max_age_s`` is answered as ``unknown``.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from ._evaluate import Evaluator, Snapshot
from ._selfmetrics import HealthMetrics

__all__ = ["HealthMonitor"]

_log = logging.getLogger(__name__)


class HealthMonitor:
    def __init__(self, evaluator: Evaluator, *, interval_s: float, max_age_s: float, metrics: HealthMetrics) -> None:
        self.evaluator = evaluator
        self.interval_s = interval_s
        self.max_age_s = max_age_s
        self.metrics = metrics
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        metrics.snapshot_age.set_function(self.age_s)

    def evaluate(self, at: datetime | None = None) -> Snapshot:
        """Evaluate now (or at ``at``, which leaves the latest snapshot alone), counting time and errors."""
        started = time.perf_counter()
        try:
            snapshot = self.evaluator.evaluate(at)
        except Exception:
            self.metrics.evaluation_errors.labels(kind="exception").inc()
            raise
        finally:
            self.metrics.evaluation_duration.labels(kind="at" if at else "background").observe(time.perf_counter() - started)
        if snapshot.rule_errors:
            self.metrics.evaluation_errors.labels(kind="rule").inc(snapshot.rule_errors)
        if snapshot.store_error:
            self.metrics.evaluation_errors.labels(kind="store").inc()
        if at is None:
            with self._lock:
                self._snapshot = snapshot
        return snapshot

    def latest(self) -> Snapshot | None:
        with self._lock:
            return self._snapshot

    def age_s(self) -> float:
        snapshot = self.latest()
        if snapshot is None:
            return float("inf")
        return max(0.0, (datetime.now(snapshot.evaluated_at.tzinfo) - snapshot.evaluated_at).total_seconds())

    def start(self) -> None:
        """Evaluate once in the background thread right away, then every ``interval_s``."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="health-evaluation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.evaluate()
            except Exception:  # an evaluation bug must not end the loop; the snapshot ages and turns unknown
                _log.exception("health evaluation failed")
            # at least half an interval of rest, so a slow store does not get evaluations back to back
            self._stop.wait(max(0.5 * self.interval_s, self.interval_s - (time.monotonic() - started)))
