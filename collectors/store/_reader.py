"""Read the store's own state into OpenTelemetry ``MetricsData``, through the store's client.

The pipeline writes into ClickHouse, so it should also say when ClickHouse is filling up:
free disk per disk, the most active parts in one partition (inserts fail at the table's
``parts_to_throw_insert``, 3000 by default, and slow down long before), rows and bytes per
table, error counts, and on a server the replication queue, read-only replicas and merges
in progress. On chDB the same queries answer too (replication tables are simply empty).

The reader takes a query callable (SQL in, rows out) rather than the exporter's client, so
the collectors never import the exporters; :meth:`StoreStateReader.from_client` adapts a
clickhouse-connect client. One failing query (a user without access to ``system.replicas``)
costs only its metrics: the others are still returned and the failure is named.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from omni_core import __version__
from omni_core.errors import StorageUnavailable

from . import _queries as q

__all__ = ["QueryRows", "StoreReading", "StoreStateReader"]

_log = logging.getLogger(__name__)

#: SQL in, result rows out (e.g. ``lambda sql: client.query(sql).result_rows``).
QueryRows = Callable[[str], Sequence[Sequence[Any]]]

SCOPE = InstrumentationScope("omni-telemetry/store", __version__)
_NS = 1_000_000_000


@dataclass(frozen=True)
class StoreReading:
    """One reading: the metrics, and the parts of the state that could not be read (with why)."""

    metrics_data: MetricsData
    failures: tuple[str, ...] = ()


class _Metrics:
    """Collects points by metric name, one metric per name, in first-seen order."""

    def __init__(self, now_ns: int, start_ns: int) -> None:
        self.now_ns, self.start_ns = now_ns, start_ns
        self._gauges: dict[str, tuple[str, str, list[NumberDataPoint]]] = {}
        self._sums: dict[str, tuple[str, str, list[NumberDataPoint]]] = {}

    def gauge(self, name: str, attributes: dict[str, str], value: float, description: str, unit: str = "") -> None:
        self._gauges.setdefault(name, (description, unit, []))[2].append(
            NumberDataPoint(attributes, 0, self.now_ns, float(value))
        )

    def counter(self, name: str, attributes: dict[str, str], value: float, description: str, unit: str = "") -> None:
        self._sums.setdefault(name, (description, unit, []))[2].append(
            NumberDataPoint(attributes, self.start_ns, self.now_ns, float(value))
        )

    def metrics(self) -> list[Metric]:
        found = [Metric(name, d, u, Gauge(points)) for name, (d, u, points) in self._gauges.items()]
        found += [
            Metric(name, d, u, Sum(points, AggregationTemporality.CUMULATIVE, True))
            for name, (d, u, points) in self._sums.items()
        ]
        return found


class StoreStateReader:
    """Reads the store's state on each call of :meth:`read`.

    ``databases`` limits the table metrics to those databases (default: every database but
    the server's own). ``resource`` names the store (default ``service.name`` ``clickhouse``
    plus ``k8s.cluster.name`` when ``cluster`` is given), so the rows sit beside the other
    components' in the metric tables.
    """

    def __init__(
        self,
        query: QueryRows,
        *,
        databases: Sequence[str] = (),
        cluster: str = "",
        service_name: str = "clickhouse",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._query = query
        self._where = q.database_filter(tuple(databases))
        attributes = {"service.name": service_name}
        if cluster:
            attributes["k8s.cluster.name"] = cluster
        self._resource = Resource(attributes)
        self._clock = clock
        self._created_ns = int(clock() * _NS)

    @classmethod
    def from_client(cls, client: Any, **kwargs: Any) -> StoreStateReader:
        """A reader over a clickhouse-connect client (chDB or a server)."""
        return cls(lambda sql: client.query(sql).result_rows, **kwargs)

    def read(self) -> StoreReading:
        """Read every part of the state. Raises :class:`StorageUnavailable` only when nothing
        at all could be read (the store is down); partial failures are in ``failures``."""
        now_ns = int(self._clock() * _NS)
        failures: list[str] = []
        sections = 0

        def rows(what: str, sql: str) -> Sequence[Sequence[Any]]:
            nonlocal sections
            sections += 1
            try:
                return self._query(sql)
            except Exception as exc:  # driver errors of any kind: name the section, keep the rest
                failures.append(f"{what}: {exc}")
                _log.warning("store state: cannot read %s: %s", what, exc)
                return []

        uptime = rows("uptime", q.UPTIME)
        uptime_s = int(uptime[0][0]) if uptime and uptime[0][0] else 0
        # Counters count since the server started; chDB reports no uptime, and its counters
        # live as long as this process, which the reader's creation time stands in for.
        start_ns = now_ns - uptime_s * _NS if uptime_s else self._created_ns
        out = _Metrics(now_ns, start_ns)

        for disk, free, total in rows("system.disks", q.DISKS):
            out.gauge("omni_store_disk_free_bytes", {"disk": disk}, free, "Free space on the store's disk", "By")
            out.gauge("omni_store_disk_total_bytes", {"disk": disk}, total, "Size of the store's disk", "By")

        tables: list[dict[str, str]] = []
        for database, table, parts, table_rows, table_bytes in rows("system.parts", q.PARTS.format(where=self._where)):
            key = {"database": database, "table": table}
            tables.append(key)
            out.gauge("omni_store_active_parts", key, parts,
                      "Most active parts in any one partition of the table (inserts fail at parts_to_throw_insert)")
            out.gauge("omni_store_table_rows", key, table_rows, "Rows in the table's active parts")
            out.gauge("omni_store_table_bytes", key, table_bytes, "Bytes on disk of the table's active parts", "By")

        for name, code, count in rows("system.errors", q.ERRORS):
            out.counter("omni_store_errors_total", {"error": name, "code": str(code)}, count,
                        "Errors the store raised since it started, by error name")
        failed = rows("system.events", q.FAILED_INSERTS)
        if failed:
            out.counter("omni_store_failed_inserts_total", {}, failed[0][0] or 0,
                        "INSERT queries the store failed since it started")

        for database, table, queue, readonly, delay in rows("system.replicas", q.REPLICAS.format(where=self._where)):
            key = {"database": database, "table": table}
            out.gauge("omni_store_replica_queue_size", key, queue, "Replication queue entries waiting on this replica")
            out.gauge("omni_store_replica_readonly", key, 1 if readonly else 0,
                      "1 when the replica is read-only (lost its Keeper session or metadata): inserts fail")
            out.gauge("omni_store_replica_delay_seconds", key, delay, "How far the replica is behind", "s")

        before = len(failures)
        merging = {(d, t): n for d, t, n in rows("system.merges", q.MERGES.format(where=self._where))}
        if len(failures) == before:  # no zeros for a section that could not be read
            keys = {(k["database"], k["table"]) for k in tables} | set(merging)
            for database, table in sorted(keys):
                out.gauge("omni_store_merges_in_progress", {"database": database, "table": table},
                          merging.get((database, table), 0), "Merges running on the table")

        if len(failures) == sections:
            raise StorageUnavailable("cannot read the store's state: " + "; ".join(failures))
        scope = ScopeMetrics(SCOPE, out.metrics(), "")
        return StoreReading(MetricsData([ResourceMetrics(self._resource, [scope], "")]), tuple(failures))
