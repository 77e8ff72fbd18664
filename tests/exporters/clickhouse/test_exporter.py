"""The ClickHouse store behind the OpenTelemetry SDK's MetricExporter interface."""

from __future__ import annotations

import logging

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Metric,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    PeriodicExportingMetricReader,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from exporters.clickhouse import ClickHouseMetricExporter, ClickHouseWriter, MetricKind, SchemaOptions, connect, qualified


def one_gauge() -> MetricsData:
    metric = Metric("up", "", "", Gauge([NumberDataPoint({"job": "envoy"}, 0, 1_700_000_000_000_000_000, 1.0)]))
    return MetricsData([ResourceMetrics(Resource({"service.name": "envoy"}), [
        ScopeMetrics(InstrumentationScope("omni_telemetry.collectors"), [metric], "")], "")])


def test_sdk_meter_provider_exports_through_it_like_through_otlp(chdb_store):
    exporter = ClickHouseMetricExporter(chdb_store.writer())
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(resource=Resource({"service.name": "checkout"}), metric_readers=[reader])
    counter = provider.get_meter("orders", "2.0").create_counter("orders_placed", unit="1", description="Orders")
    counter.add(3, {"region": "eu", "channel": "web"})
    counter.add(2, {"region": "eu", "channel": "web"})
    try:
        assert provider.force_flush()
        rows = chdb_store.client.query(
            "SELECT ServiceName, ScopeName, ScopeVersion, MetricName, MetricUnit, Attributes, Value, "
            f"AggregationTemporality, IsMonotonic FROM {qualified(chdb_store.options, MetricKind.SUM)}"
        ).result_rows
    finally:
        provider.shutdown()
    assert rows == [("checkout", "orders", "2.0", "orders_placed", "1", {"channel": "web", "region": "eu"}, 5.0, 2, True)]


def test_export_returns_failure_instead_of_raising_when_storage_is_down(chdb_store, caplog):
    exporter = ClickHouseMetricExporter(chdb_store.writer())
    chdb_store.client.close()  # the engine is gone: every statement fails
    with caplog.at_level(logging.WARNING):
        result = exporter.export(one_gauge())
    assert result is MetricExportResult.FAILURE
    assert "storage unavailable" in caplog.text


def test_export_returns_failure_when_clickhouse_refuses_the_insert(chdb_store, caplog):
    exporter = ClickHouseMetricExporter(ClickHouseWriter(connect(chdb_store.dsn), SchemaOptions(database="absent")))
    with caplog.at_level(logging.ERROR):
        assert exporter.export(one_gauge()) is MetricExportResult.FAILURE
    assert "absent" in caplog.text


def test_after_shutdown_batches_are_refused_and_flush_has_nothing_to_do(chdb_store):
    exporter = ClickHouseMetricExporter(chdb_store.writer())
    assert exporter.force_flush() is True
    exporter.shutdown()
    assert exporter.export(one_gauge()) is MetricExportResult.FAILURE
    assert chdb_store.all_rows() == 0
