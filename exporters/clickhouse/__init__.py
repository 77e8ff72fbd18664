"""ClickHouse store in the OpenTelemetry Collector ``clickhouseexporter`` metrics schema."""

from ._connect import StorageDsn, close_embedded_engines, connect, engine_lock, parse_dsn, redact_dsn
from ._exporter import ClickHouseMetricExporter
from ._options import MetricKind, SchemaOptions, TableNames, qualified
from ._provision import apply_schema, verify_schema
from ._schema import expected_columns, render_schema
from ._writer import ClickHouseWriter, WriteReport

__all__ = [
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
    "parse_dsn",
    "qualified",
    "redact_dsn",
    "render_schema",
    "verify_schema",
]
