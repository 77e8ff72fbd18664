"""Exporters: the ClickHouse store, OTLP push, and the delivery queue in front of them.

They only send; receiving OTLP is :mod:`collectors.otlp_receiver`.
"""

from .clickhouse import ClickHouseMetricExporter, ClickHouseWriter, SchemaOptions, connect

__all__ = ["ClickHouseMetricExporter", "ClickHouseWriter", "SchemaOptions", "connect"]
