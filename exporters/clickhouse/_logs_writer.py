"""Write OpenTelemetry SDK log records into ``otel_logs``: one column-oriented INSERT per batch.

The input is what the SDK hands a log exporter (``Sequence[ReadableLogRecord]``, the shape
``OTLPLogExporter.export`` takes), so anything that drives an SDK log pipeline, and any
decoder that builds SDK records, lands here. Field mapping follows the Collector's
``clickhouseexporter``: ``Timestamp`` is the record's time, or its observed time when the
record has none; trace and span ids are lowercase hex, empty for a missing id; ``Body`` and
attribute values are rendered like ``pcommon.Value.AsString``; ``ServiceName`` is the
resource's ``service.name``. Attribute maps have their keys sorted, as in the metric tables.

An insert token makes a batch idempotent exactly like the metrics writer's: the INSERT carries
``insert_deduplication_token`` = token + ``:logs``, so a retry after an ambiguous failure is
stored once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.insert import InsertContext
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from omni_core.errors import StorageError, StorageUnavailable
from omni_core.sink import STORED, WriteResult

from ._attributes import attribute_text, sorted_text_map
from ._connect import engine_lock
from ._failures import storage_failure, write_outcome
from ._logs_schema import LOGS_TABLE, logs_insert_columns, qualified_logs
from ._options import SchemaOptions
from ._writer import WriteReport

__all__ = ["ClickHouseLogExporter", "ClickHouseLogWriter", "log_columns"]

logger = logging.getLogger(__name__)

_WIDTH = len(logs_insert_columns())


def _trace_hex(value: int | None, width: int) -> str:
    return format(value, f"0{width}x") if value else ""


def log_columns(records: Sequence[ReadableLogRecord]) -> list[list[Any]]:
    """Insert columns in :func:`logs_insert_columns` order, one entry per record."""
    columns: list[list[Any]] = [[] for _ in range(_WIDTH)]
    (timestamp, trace_id, span_id, trace_flags, severity_text, severity_number, service, body,
     resource_schema, resource_attributes, scope_schema, scope_name, scope_version, scope_attributes,
     log_attributes) = columns
    resource_maps: dict[int, dict[str, str]] = {}
    for readable in records:
        record = readable.log_record
        resource = readable.resource
        rendered = resource_maps.get(id(resource))
        if rendered is None:
            rendered = resource_maps[id(resource)] = sorted_text_map(resource.attributes if resource else None)
        scope = readable.instrumentation_scope
        timestamp.append(record.timestamp or record.observed_timestamp or 0)
        trace_id.append(_trace_hex(record.trace_id, 32))
        span_id.append(_trace_hex(record.span_id, 16))
        trace_flags.append(int(record.trace_flags or 0) & 0xFF)
        severity_text.append(record.severity_text or "")
        number = record.severity_number
        severity_number.append(int(number.value) if number is not None else 0)
        service.append(rendered.get("service.name", ""))
        body.append(attribute_text(record.body))
        resource_schema.append((resource.schema_url if resource else "") or "")
        resource_attributes.append(rendered)
        scope_schema.append((scope.schema_url if scope else "") or "")
        scope_name.append((scope.name if scope else "") or "")
        scope_version.append((scope.version if scope else "") or "")
        scope_attributes.append(sorted_text_map(scope.attributes if scope else None))
        log_attributes.append(sorted_text_map(record.attributes))
    return columns


class ClickHouseLogWriter:
    """Turns SDK log records into inserts on one client and logs table.

    Thread-safe like :class:`ClickHouseWriter`: one batch at a time per writer, statements on
    one engine take turns. ``async_insert`` is off so a write is durable and deduplicated by
    the time it returns.
    """

    def __init__(
        self, client: Client, options: SchemaOptions = SchemaOptions(), *, table: str = LOGS_TABLE,
        async_insert: bool = False,
    ) -> None:
        self._client = client
        self._options = options
        self._table = qualified_logs(options, table)
        self._async_insert = async_insert
        self._context: InsertContext | None = None
        self._lock = threading.Lock()

    @property
    def table(self) -> str:
        """``db.table`` the writer inserts into."""
        return self._table

    def write(self, records: Sequence[ReadableLogRecord], *, insert_token: str | None = None) -> WriteReport:
        """Store every record. Raises :class:`StorageUnavailable` when ClickHouse cannot be
        reached (retry with the same ``insert_token``) and :class:`StorageError` when it
        refuses the insert or a record does not have the SDK's shape."""
        if not records:
            return WriteReport({})
        with self._lock:
            try:
                columns = log_columns(records)
            except (AttributeError, TypeError, ValueError) as exc:
                raise StorageError(f"the log batch cannot be stored: a record is malformed ({exc!r})") from exc
            with engine_lock(self._client):
                context = None
                try:
                    context = self._insert_context()
                    context.settings = self._settings(insert_token)
                    context.data = columns
                    self._client.insert(context=context)
                except Exception as exc:
                    if context is not None:
                        context.data = None  # a failed insert must not leave rows behind for the next one
                    raise storage_failure(exc, f"inserting {len(records)} log records into {self._table}") from exc
        return WriteReport({self._table: len(records)})

    def write_batch(self, records: Sequence[ReadableLogRecord], *, insert_token: str) -> WriteResult:
        """:class:`~omni_core.sink.BatchSink`: :meth:`write`, answered as an outcome (as the metrics
        writer answers), so a delivery queue of log batches retries outages and sets refusals aside."""
        try:
            self.write(records, insert_token=insert_token)
        except StorageError as exc:
            return WriteResult(write_outcome(exc), str(exc))
        return STORED

    def _insert_context(self) -> InsertContext:
        if self._context is None:
            self._context = self._client.create_insert_context(
                table=self._table, column_names=logs_insert_columns(), column_oriented=True
            )
        return self._context

    def _settings(self, insert_token: str | None) -> dict[str, str]:
        settings = {"async_insert": "1" if self._async_insert else "0"}
        if insert_token:
            settings["insert_deduplication_token"] = f"{insert_token}:logs"
        return settings


class ClickHouseLogExporter(LogRecordExporter):
    """The log writer as an SDK log exporter (for a ``BatchLogRecordProcessor``).

    Like every SDK exporter it never raises from ``export``: a failure is logged and reported
    as ``FAILURE``. The client belongs to whoever created it; ``shutdown`` only stops exporting.
    """

    def __init__(self, writer: ClickHouseLogWriter) -> None:
        self._writer = writer
        self._stopped = threading.Event()

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self._stopped.is_set():
            logger.warning("ClickHouse log exporter is shut down; dropping %d records", len(batch))
            return LogRecordExportResult.FAILURE
        try:
            self._writer.write(batch)
        except StorageUnavailable as exc:
            logger.warning("ClickHouse log export failed, storage unavailable: %s", exc)
            return LogRecordExportResult.FAILURE
        except StorageError as exc:
            logger.error("ClickHouse log export failed: %s", exc)
            return LogRecordExportResult.FAILURE
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        self._stopped.set()
