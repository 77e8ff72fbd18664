"""Exporters: the ClickHouse store, OTLP push and ingest, and the delivery queue in front of them."""

from .clickhouse import ClickHouseMetricExporter, ClickHouseWriter, SchemaOptions, connect

__all__ = ["ClickHouseMetricExporter", "ClickHouseWriter", "SchemaOptions", "connect"]
