"""Write SDK ``MetricsData`` into the metric tables: one column-oriented INSERT per table.

Insert contexts are created once per table (one DESCRIBE each) and reused, so a steady
write costs exactly one statement per metric kind present in the batch. An insert token
makes a batch idempotent: each table's INSERT carries ``insert_deduplication_token`` =
token + table suffix, so a retry after an ambiguous failure stores the rows once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.insert import InsertContext
from opentelemetry.sdk.metrics.export import MetricsData

from omni_core.errors import StorageError
from omni_core.sink import STORED, WriteResult

from ._attributes import SortedMapCache
from ._columns import ColumnSet, to_columns
from ._connect import cheap_insert_settings, engine_lock
from ._encoded import EncodedTable, NativeEncoder
from ._failures import storage_failure, write_outcome
from ._options import MetricKind, SchemaOptions, qualified
from ._schema import expected_columns

__all__ = ["ClickHouseWriter", "WriteReport"]

#: Column positions of StartTimeUnix and TimeUnix, the same in every metric table.
_TIME_COLUMNS = (12, 13)


@dataclass(frozen=True)
class WriteReport:
    """Rows sent per table (``db.table``) by one write, and points no table could hold.

    A batch that ClickHouse recognises as a duplicate (same insert token, or identical
    content within the deduplication window) is acknowledged and dropped by the server, so
    the counts are what was sent, not what was newly stored.
    """

    rows: Mapping[str, int] = field(default_factory=dict)
    skipped_points: int = 0

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class ClickHouseWriter:
    """Turns ``MetricsData`` into inserts on one client and schema.

    Thread-safe: a writer converts one batch at a time (its label-map cache and insert
    contexts are its own), and statements on one engine take turns (see ``engine_lock``).
    ``async_insert`` is off by default so each write is durable and deduplicated by the
    time it returns; turn it on only for a server tuned for it. ``pre_encoded`` (on by
    default) sends steady-state batches as Native blocks with their static columns encoded
    once per layout (same rows, a fraction of the client CPU); off, every batch is built
    column by column.
    """

    def __init__(
        self,
        client: Client,
        options: SchemaOptions = SchemaOptions(),
        *,
        async_insert: bool = False,
        pre_encoded: bool = True,
    ) -> None:
        self._client = client
        self._options = options
        self._async_insert = async_insert
        self._contexts: dict[MetricKind, InsertContext] = {}
        self._own_lock = threading.Lock()
        self._attribute_maps = SortedMapCache()
        # Steady-state batches go out as Native blocks whose static columns are encoded once
        # per layout (see _encoded); anything else takes the column path below.
        self._encoder = NativeEncoder(options, self._attribute_maps) if pre_encoded else None
        self._part_settings = cheap_insert_settings(client)

    @property
    def options(self) -> SchemaOptions:
        return self._options

    def write(self, metrics_data: MetricsData, *, insert_token: str | None = None) -> WriteReport:
        """Store every point of ``metrics_data``.

        Raises :class:`StorageUnavailable` when ClickHouse cannot be reached and
        :class:`StorageError` when it refuses an insert. Tables are written in a fixed
        order; after a failure, retry the whole batch with the same ``insert_token`` and the
        tables that already took it will not store it twice.
        """
        rows: dict[str, int] = {}
        # Our own lock guards the label-map cache and the insert contexts; the engine lock
        # is held only while statements run, so conversion overlaps other writers' inserts.
        with self._own_lock:
            encoded = self._encoder.encode(metrics_data) if self._encoder is not None else None
            if encoded is not None:
                with engine_lock(self._client):
                    for kind in MetricKind:
                        table = encoded.tables.get(kind)
                        if table is not None and table.rows:
                            rows[qualified(self._options, kind)] = self._insert_native(kind, table, insert_token)
                return WriteReport(rows, encoded.skipped)
            try:
                tables, skipped = to_columns(metrics_data, self._options.generation, self._attribute_maps)
            except (AttributeError, TypeError, ValueError) as exc:
                # Retrying cannot help a batch whose points do not have the SDK's shape.
                raise StorageError(f"the batch cannot be stored: a data point is malformed ({exc!r})") from exc
            _check_time_range(tables, seconds=self._options.generation != "classic")
            with engine_lock(self._client):
                for kind in MetricKind:
                    batch = tables.get(kind)
                    if batch is not None and batch.rows:
                        rows[qualified(self._options, kind)] = self._insert(kind, batch.columns, batch.rows, insert_token)
        return WriteReport(rows, skipped)

    def write_batch(self, metrics_data: MetricsData, *, insert_token: str) -> WriteResult:
        """:class:`~omni_core.sink.BatchSink`: :meth:`write`, answered as an outcome instead of raised.

        An outage, a full disk or the server's own setup (missing table, rejected password)
        is RETRY; a refusal of the data itself (a value its column cannot hold, a malformed
        point) is REFUSED, so the queue sets the batch aside instead of retrying it forever.
        """
        try:
            self.write(metrics_data, insert_token=insert_token)
        except StorageError as exc:
            return WriteResult(write_outcome(exc), str(exc))
        return STORED

    def _insert(self, kind: MetricKind, columns: list, row_count: int, insert_token: str | None) -> int:
        context = None
        try:
            context = self._context(kind)
            context.settings = self._settings(kind, insert_token)
            context.data = columns
            self._client.insert(context=context)
        except Exception as exc:
            if context is not None:
                context.data = None  # a failed insert must not leave rows behind for the next one
            raise storage_failure(exc, f"inserting {row_count} rows into {qualified(self._options, kind)}") from exc
        return row_count

    def _insert_native(self, kind: MetricKind, table: EncodedTable, insert_token: str | None) -> int:
        assert self._encoder is not None
        target = qualified(self._options, kind)
        try:
            self._client.raw_insert(
                target,
                self._encoder.column_names[kind],
                insert_block=table.payload,
                settings=self._settings(kind, insert_token),
                fmt="Native",
            )
        except Exception as exc:
            raise storage_failure(exc, f"inserting {table.rows} rows into {target}") from exc
        return table.rows

    def _context(self, kind: MetricKind) -> InsertContext:
        context = self._contexts.get(kind)
        if context is None:
            names = [name for name, _ in expected_columns(self._options, kind)]
            context = self._client.create_insert_context(
                table=qualified(self._options, kind), column_names=names, column_oriented=True
            )
            self._contexts[kind] = context
        return context

    def _settings(self, kind: MetricKind, insert_token: str | None) -> dict[str, str]:
        settings = {"async_insert": "1" if self._async_insert else "0", **self._part_settings}
        if insert_token:
            settings["insert_deduplication_token"] = f"{insert_token}:{kind.value}"
        return settings


def _check_time_range(tables: Mapping[MetricKind, ColumnSet], *, seconds: bool) -> None:
    """Refuse a batch with a timestamp its column cannot hold, before any table is written.

    Checked up front rather than left to the driver, whose encoding error comes only after
    the tables before it were inserted: refused here, nothing of the batch is stored, so the
    queue may retry its other parts alone without storing anything twice.
    """
    limit = 2**32 if seconds else 2**63  # DateTime (seconds, UInt32) or DateTime64(9) (Int64 nanoseconds)
    for kind, batch in tables.items():
        for index in _TIME_COLUMNS:
            column = batch.columns[index]
            if column and (min(column) < 0 or max(column) >= limit):
                bad = next(v for v in column if v < 0 or v >= limit)
                name = "StartTimeUnix" if index == 12 else "TimeUnix"
                raise StorageError(
                    f"a {kind.value} point has {name} {bad}{' s' if seconds else ' ns'}, outside what ClickHouse "
                    "can store (1970 to 2106 in seconds, to 2262 in nanoseconds); the batch is refused as data"
                )
