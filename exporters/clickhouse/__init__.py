"""ClickHouse store in the OpenTelemetry Collector ``clickhouseexporter`` metrics schema."""

from ._connect import StorageDsn, connect, engine_lock, parse_dsn
from ._exporter import ClickHouseMetricExporter
from ._schema import (
    MetricKind,
    SchemaOptions,
    TableNames,
    apply_schema,
    expected_columns,
    qualified,
    render_schema,
    verify_schema,
)
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
    "connect",
    "engine_lock",
    "expected_columns",
    "parse_dsn",
    "qualified",
    "render_schema",
    "verify_schema",
]
