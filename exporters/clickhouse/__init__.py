"""ClickHouse store in the OpenTelemetry Collector ``clickhouseexporter`` metrics and logs schema."""

from ._connect import StorageDsn, close_embedded_engines, connect, engine_lock, parse_dsn, redact_dsn
from ._exporter import ClickHouseMetricExporter
from ._logs_schema import LOGS_TABLE, logs_expected_columns, qualified_logs, render_logs_schema
from ._logs_writer import ClickHouseLogExporter, ClickHouseLogWriter
from ._options import MetricKind, SchemaOptions, TableNames, qualified
from ._provision import apply_schema, verify_schema
from ._schema import expected_columns, render_schema
from ._writer import ClickHouseWriter, WriteReport

__all__ = [
    "LOGS_TABLE",
    "ClickHouseLogExporter",
    "ClickHouseLogWriter",
    "ClickHouseMetricExporter",
    "ClickHouseWriter",
    "MetricKind",
    "SchemaOptions",
    "StorageDsn",
    "TableNames",
    "WriteReport",
    "apply_schema",
    "close_embedded_engines",
    "connect",
    "engine_lock",
    "expected_columns",
    "logs_expected_columns",
    "parse_dsn",
    "qualified",
    "qualified_logs",
    "render_logs_schema",
    "redact_dsn",
    "render_schema",
    "verify_schema",
]
