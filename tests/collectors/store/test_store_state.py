"""The store's own state read from real chDB through clickhouse-connect, as OTel metrics."""

from __future__ import annotations

import os

import pytest
from opentelemetry.sdk.metrics.export import Gauge, Metric, MetricsData, NumberDataPoint, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from collectors.store import StoreStateReader
from exporters.clickhouse import ClickHouseWriter, MetricKind, SchemaOptions, apply_schema, connect, qualified
from omni_core.errors import StorageUnavailable

DAY = 86_400 * 1_000_000_000
T0 = 1_764_374_400 * 1_000_000_000  # a midnight UTC


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "db"
    client = connect(f"chdb://{path}")
    options = SchemaOptions(database="telemetry")
    apply_schema(client, options)
    return client, options, path


def one_point(value: float, t: int) -> MetricsData:
    metric = Metric("m", "", "", Gauge([NumberDataPoint({"v": str(value)}, 0, t, value)]))
    scope = ScopeMetrics(InstrumentationScope("test"), [metric], "")
    return MetricsData([ResourceMetrics(Resource({"service.name": "svc"}), [scope], "")])


def points(reading, name: str) -> dict[tuple, float]:
    found = {}
    for scope in reading.metrics_data.resource_metrics[0].scope_metrics:
        for metric in scope.metrics:
            if metric.name == name:
                for p in metric.data.data_points:
                    found[tuple(sorted(p.attributes.items()))] = p.value
    return found


def metric(reading, name: str):
    return next(m for s in reading.metrics_data.resource_metrics[0].scope_metrics for m in s.metrics if m.name == name)


def test_parts_rows_and_bytes_per_table_with_the_busiest_partition(store):
    client, options, _ = store
    gauge = qualified(options, MetricKind.GAUGE)
    client.command(f"SYSTEM STOP MERGES {gauge}")
    writer = ClickHouseWriter(client, options)
    for i in range(4):  # four inserts on one day: four parts in that partition
        writer.write(one_point(float(i), T0 + i))
    writer.write(one_point(9.0, T0 + DAY))  # one part in the next day's partition

    reading = StoreStateReader.from_client(client, cluster="lab").read()
    key = (("database", "telemetry"), ("table", "otel_metrics_gauge"))
    assert points(reading, "omni_store_active_parts")[key] == 4
    assert points(reading, "omni_store_table_rows")[key] == 5
    assert points(reading, "omni_store_table_bytes")[key] > 0
    assert points(reading, "omni_store_merges_in_progress")[key] == 0
    assert metric(reading, "omni_store_table_bytes").unit == "By"
    # Empty tables have no active parts, and the server's own databases are left out.
    assert {dict(k)["database"] for k in points(reading, "omni_store_table_rows")} == {"telemetry"}
    assert reading.failures == ()
    resource = reading.metrics_data.resource_metrics[0].resource.attributes
    assert dict(resource) == {"service.name": "clickhouse", "k8s.cluster.name": "lab"}


def test_disk_size_is_the_filesystem_holding_the_data(store):
    client, _, path = store
    reading = StoreStateReader.from_client(client).read()
    fs = os.statvfs(path)
    total = points(reading, "omni_store_disk_total_bytes")[(("disk", "default"),)]
    free = points(reading, "omni_store_disk_free_bytes")[(("disk", "default"),)]
    assert total == fs.f_blocks * fs.f_frsize
    assert 0 < free <= total


def test_errors_and_failed_inserts_are_cumulative_counters_that_grow(store):
    client, options, _ = store
    reader = StoreStateReader.from_client(client)
    before = reader.read()
    with pytest.raises(Exception):
        client.query("SELECT * FROM telemetry.no_such_table")
    with pytest.raises(Exception):
        client.command(f"INSERT INTO {qualified(options, MetricKind.GAUGE)} (Value) VALUES ('not a number')")
    after = reader.read()

    unknown = (("code", "60"), ("error", "UNKNOWN_TABLE"))
    assert points(after, "omni_store_errors_total")[unknown] == points(before, "omni_store_errors_total").get(unknown, 0) + 1
    failed_before = points(before, "omni_store_failed_inserts_total")[()]
    assert points(after, "omni_store_failed_inserts_total")[()] == failed_before + 1
    errors = metric(after, "omni_store_errors_total").data
    assert errors.is_monotonic and errors.aggregation_temporality == 2  # cumulative
    # One start time for every counter of a store, the same on every reading: no false resets.
    start = {p.start_time_unix_nano for p in errors.data_points}
    again = reader.read()
    assert len(start) == 1
    assert start == {p.start_time_unix_nano for p in metric(again, "omni_store_errors_total").data.data_points}
    assert start == {p.start_time_unix_nano for p in metric(before, "omni_store_failed_inserts_total").data.data_points}


def test_on_a_server_replication_queue_readonly_replicas_and_merges_are_reported(store):
    client, _, _ = store

    def server(sql: str):
        # chDB answers everything; only the replication tables are a server's.
        if "system.replicas" in sql:
            return [("telemetry", "otel_metrics_sum_local", 17, 1, 42), ("telemetry", "otel_logs_local", 0, 0, 0)]
        if "system.merges" in sql:
            return [("telemetry", "otel_metrics_sum_local", 2)]
        return client.query(sql).result_rows

    reading = StoreStateReader(server).read()
    sum_local = (("database", "telemetry"), ("table", "otel_metrics_sum_local"))
    logs_local = (("database", "telemetry"), ("table", "otel_logs_local"))
    assert points(reading, "omni_store_replica_queue_size") == {sum_local: 17, logs_local: 0}
    assert points(reading, "omni_store_replica_readonly") == {sum_local: 1, logs_local: 0}
    assert points(reading, "omni_store_replica_delay_seconds")[sum_local] == 42
    assert points(reading, "omni_store_merges_in_progress") == {sum_local: 2}


def test_the_replicas_and_merges_are_only_read_from_the_selected_databases(store):
    client, _, _ = store
    seen = []

    def recording(sql: str):
        seen.append(sql)
        return client.query(sql).result_rows

    StoreStateReader(recording, databases=["telemetry"]).read()
    for sql in seen:
        if "system.parts" in sql or "system.replicas" in sql or "system.merges" in sql:
            assert "database IN ('telemetry')" in sql


def test_a_section_that_cannot_be_read_is_named_and_the_rest_still_arrives(store):
    client, _, _ = store

    def no_replicas_grant(sql: str):
        if "system.replicas" in sql:
            raise PermissionError("Not enough privileges: SHOW TABLES on system.replicas")
        return client.query(sql).result_rows

    reading = StoreStateReader(no_replicas_grant).read()
    assert len(reading.failures) == 1 and reading.failures[0].startswith("system.replicas: Not enough privileges")
    assert points(reading, "omni_store_disk_free_bytes")


def test_a_store_that_answers_nothing_raises_storage_unavailable():
    def down(sql: str):
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(StorageUnavailable, match="cannot read the store's state: uptime: connection refused"):
        StoreStateReader(down).read()


def test_the_reading_is_stored_in_the_metric_tables_it_describes(store):
    client, options, _ = store
    reading = StoreStateReader.from_client(client).read()
    ClickHouseWriter(client, options).write(reading.metrics_data)
    stored = client.query(
        f"SELECT MetricName, MetricUnit, ServiceName FROM {qualified(options, MetricKind.GAUGE)} "
        "WHERE MetricName = 'omni_store_disk_free_bytes'"
    ).result_rows
    assert stored == [("omni_store_disk_free_bytes", "By", "clickhouse")]
