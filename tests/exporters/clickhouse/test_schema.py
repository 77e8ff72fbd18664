"""The metric tables as the OpenTelemetry Collector clickhouseexporter lays them out (real chDB).

The expected column lists below are transcribed from the exporter's DDL as summarised in
the project's reference notes (clickhouseexporter metrics DDL, "Gen A" and "Gen B"), not from
this package: DESCRIBE shows Nested columns as dotted Array columns and Boolean as Bool.
"""

from __future__ import annotations

import uuid

import pytest

from exporters.clickhouse import (
    MetricKind,
    SchemaOptions,
    TableNames,
    apply_schema,
    qualified,
    render_schema,
    verify_schema,
)
from omni_core.errors import ConfigError, SchemaError

MAP = "Map(LowCardinality(String), String)"
COMMON_CLASSIC = [
    ("ResourceAttributes", MAP),
    ("ResourceSchemaUrl", "String"),
    ("ScopeName", "String"),
    ("ScopeVersion", "String"),
    ("ScopeAttributes", MAP),
    ("ScopeDroppedAttrCount", "UInt32"),
    ("ScopeSchemaUrl", "String"),
    ("ServiceName", "LowCardinality(String)"),
    ("MetricName", "String"),
    ("MetricDescription", "String"),
    ("MetricUnit", "String"),
    ("Attributes", MAP),
    ("StartTimeUnix", "DateTime64(9)"),
    ("TimeUnix", "DateTime64(9)"),
]
EXEMPLARS_CLASSIC = [
    ("Exemplars.FilteredAttributes", f"Array({MAP})"),
    ("Exemplars.TimeUnix", "Array(DateTime64(9))"),
    ("Exemplars.Value", "Array(Float64)"),
    ("Exemplars.SpanId", "Array(String)"),
    ("Exemplars.TraceId", "Array(String)"),
]
COUNT_SUM = [("Count", "UInt64"), ("Sum", "Float64")]
MIN_MAX_TEMPORALITY = [("Min", "Float64"), ("Max", "Float64"), ("AggregationTemporality", "Int32")]
CLASSIC = {
    "gauge": COMMON_CLASSIC + [("Value", "Float64"), ("Flags", "UInt32")] + EXEMPLARS_CLASSIC,
    "sum": COMMON_CLASSIC + [("Value", "Float64"), ("Flags", "UInt32")] + EXEMPLARS_CLASSIC
    + [("AggregationTemporality", "Int32"), ("IsMonotonic", "Bool")],
    "histogram": COMMON_CLASSIC + COUNT_SUM + [("BucketCounts", "Array(UInt64)"), ("ExplicitBounds", "Array(Float64)")]
    + EXEMPLARS_CLASSIC + [("Flags", "UInt32")] + MIN_MAX_TEMPORALITY,
    "exponential_histogram": COMMON_CLASSIC + COUNT_SUM + [
        ("Scale", "Int32"), ("ZeroCount", "UInt64"),
        ("PositiveOffset", "Int32"), ("PositiveBucketCounts", "Array(UInt64)"),
        ("NegativeOffset", "Int32"), ("NegativeBucketCounts", "Array(UInt64)"),
    ] + EXEMPLARS_CLASSIC + [("Flags", "UInt32")] + MIN_MAX_TEMPORALITY,
    "summary": COMMON_CLASSIC + COUNT_SUM
    + [("ValueAtQuantiles.Quantile", "Array(Float64)"), ("ValueAtQuantiles.Value", "Array(Float64)"), ("Flags", "UInt32")],
}
# Gen B changes exactly these types (and nothing else about the columns).
V2_TYPE_CHANGES = {
    "MetricName": "LowCardinality(String)",
    "StartTimeUnix": "DateTime",
    "TimeUnix": "DateTime",
    "Exemplars.TimeUnix": "Array(DateTime)",
}
DELTA_CODEC_COLUMNS = {"StartTimeUnix", "TimeUnix", "Count", "IsMonotonic"}
INDEXES = {
    "idx_res_attr_key": "mapKeys(ResourceAttributes)",
    "idx_res_attr_value": "mapValues(ResourceAttributes)",
    "idx_scope_attr_key": "mapKeys(ScopeAttributes)",
    "idx_scope_attr_value": "mapValues(ScopeAttributes)",
    "idx_attr_key": "mapKeys(Attributes)",
    "idx_attr_value": "mapValues(Attributes)",
}


@pytest.fixture
def db() -> str:
    return f"s_{uuid.uuid4().hex[:10]}"


def describe(client, table: str) -> list[tuple]:
    return client.query(f"DESCRIBE TABLE {table}").result_rows


def table_info(client, database: str, table: str) -> dict:
    rows = client.query(
        "SELECT engine, partition_key, sorting_key, engine_full FROM system.tables "
        "WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": database, "t": table},
    ).named_results()
    return next(iter(rows))


@pytest.mark.parametrize("kind", list(MetricKind))
def test_classic_tables_have_exactly_the_exporter_columns_in_order(chdb_store, kind):
    columns = describe(chdb_store.client, qualified(chdb_store.options, kind))
    assert [(name, type_) for name, type_, *_ in columns] == CLASSIC[kind.value]


@pytest.mark.parametrize("kind", list(MetricKind))
def test_classic_tables_use_the_exporter_codecs(chdb_store, kind):
    columns = describe(chdb_store.client, qualified(chdb_store.options, kind))
    for name, _type, _default_type, _default, _comment, codec, *_ in columns:
        # Nested columns share the Nested codec; Delta is written without width, DESCRIBE adds it.
        if name in DELTA_CODEC_COLUMNS:
            assert codec.startswith("Delta(") and codec.endswith("ZSTD(1)"), (name, codec)
        else:
            assert codec == "ZSTD(1)", (name, codec)


def test_classic_tables_partition_by_day_and_sort_by_series_then_time(chdb_store):
    info = table_info(chdb_store.client, chdb_store.options.database, "otel_metrics_sum")
    assert info["engine"] == "MergeTree"
    assert info["partition_key"] == "toDate(TimeUnix)"
    assert info["sorting_key"] == "ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix)"
    assert "index_granularity = 8192" in info["engine_full"]
    assert "ttl_only_drop_parts = 1" in info["engine_full"]
    assert "TTL" not in info["engine_full"]  # ttl_days=0 keeps data forever


def test_every_table_has_the_six_bloom_filter_indexes(chdb_store):
    rows = chdb_store.client.query(
        "SELECT table, name, expr, type_full, granularity FROM system.data_skipping_indices WHERE database = {db:String}",
        parameters={"db": chdb_store.options.database},
    ).result_rows
    for kind in MetricKind:
        table = chdb_store.options.tables.table_for(kind)
        found = {name: (expr, type_full, granularity) for t, name, expr, type_full, granularity in rows if t == table}
        assert found == {name: (expr, "bloom_filter(0.01)", 1) for name, expr in INDEXES.items()}


def test_applying_the_schema_twice_changes_nothing(chdb_store):
    client, options = chdb_store.client, chdb_store.options
    before = {kind: describe(client, qualified(options, kind)) for kind in MetricKind}
    client.command(f"INSERT INTO {qualified(options, MetricKind.GAUGE)} (MetricName, TimeUnix) VALUES ('kept', now64(9))")
    apply_schema(client, options)
    verify_schema(client, options)
    assert {kind: describe(client, qualified(options, kind)) for kind in MetricKind} == before
    assert client.command(f"SELECT MetricName FROM {qualified(options, MetricKind.GAUGE)}") == "kept"


def test_v2_tables_change_only_the_documented_types_and_the_sort_key(chdb_store, db):
    client = chdb_store.client
    options = SchemaOptions(database=db, generation="v2")
    apply_schema(client, options)
    verify_schema(client, options)
    for kind in MetricKind:
        expected = [(name, V2_TYPE_CHANGES.get(name, type_)) for name, type_ in CLASSIC[kind.value]]
        assert [(n, t) for n, t, *_ in describe(client, qualified(options, kind))] == expected
    info = table_info(client, db, "otel_metrics_gauge")
    assert info["sorting_key"] == "ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes), TimeUnix"
    minmax = client.command(
        "SELECT type FROM system.data_skipping_indices WHERE database = {db:String} AND table = 'otel_metrics_gauge' "
        "AND name = 'idx_time_minmax'",
        parameters={"db": db},
    )
    assert minmax == "minmax"


def test_ttl_uses_whole_days_and_dedup_window_is_a_table_setting(chdb_store, db):
    options = SchemaOptions(database=db, ttl_days=180, deduplication_window=50)
    apply_schema(chdb_store.client, options)
    engine_full = table_info(chdb_store.client, db, "otel_metrics_histogram")["engine_full"]
    assert "TTL toDateTime(TimeUnix) + toIntervalDay(180)" in engine_full
    assert "non_replicated_deduplication_window = 50" in engine_full


def test_table_names_are_configurable(chdb_store, db):
    options = SchemaOptions(database=db, tables=TableNames(exponential_histogram="otel_metrics_exp_histogram"))
    apply_schema(chdb_store.client, options)
    assert qualified(options, MetricKind.EXPONENTIAL_HISTOGRAM) == f"{db}.otel_metrics_exp_histogram"
    tables = set(chdb_store.client.query(
        "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": db}
    ).result_columns[0])
    assert tables == {"otel_metrics_gauge", "otel_metrics_sum", "otel_metrics_histogram",
                      "otel_metrics_exp_histogram", "otel_metrics_summary", "otel_logs"}


def test_render_is_one_database_five_metric_tables_and_the_logs_table_all_if_not_exists():
    statements = render_schema(SchemaOptions())
    assert len(statements) == 7
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS `otel`"
    assert all(s.startswith("CREATE TABLE IF NOT EXISTS `otel`.`otel_metrics_") for s in statements[1:6])
    assert statements[6].startswith("CREATE TABLE IF NOT EXISTS `otel`.`otel_logs`")
    assert all("ON CLUSTER" not in s and "Distributed" not in s for s in statements)


def test_cluster_mode_renders_replicated_local_tables_behind_distributed_public_ones():
    statements = render_schema(SchemaOptions(cluster="metrics"))
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS `otel` ON CLUSTER `metrics`"
    assert all("ON CLUSTER `metrics`" in s for s in statements)
    tables = statements[1:]
    assert len(tables) == 12  # five metric tables and otel_logs, each local + distributed
    for kind in MetricKind:
        public = SchemaOptions().tables.table_for(kind)
        local = next(s for s in tables if f"`otel`.`{public}_local` ON CLUSTER" in s.splitlines()[0])
        assert "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" in local
        assert "non_replicated_deduplication_window" not in local  # replicated tables deduplicate anyway
        front = next(s for s in tables if s.startswith(f"CREATE TABLE IF NOT EXISTS `otel`.`{public}` ON CLUSTER"))
        assert f"AS `otel`.`{public}_local`" in front
        assert f"Distributed('metrics', 'otel', '{public}_local', cityHash64(ServiceName, MetricName, Attributes))" in front
        # The local table must exist before the Distributed table that points at it.
        assert tables.index(local) < tables.index(front)


def test_rendered_v2_and_classic_differ_in_time_types_and_keys():
    classic = render_schema(SchemaOptions())[1]
    v2 = render_schema(SchemaOptions(generation="v2"))[1]
    assert "TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1))" in classic
    assert "TimeUnix DateTime CODEC(Delta, ZSTD(1))" in v2
    assert "ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))" in classic
    assert "ORDER BY (ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes), TimeUnix)" in v2
    assert "idx_time_minmax" in v2 and "idx_time_minmax" not in classic


def test_string_layout_setting_is_left_out_for_servers_that_do_not_know_it():
    assert "string_serialization_version = 'single_stream'" in render_schema(SchemaOptions())[1]
    older_server = render_schema(SchemaOptions(), server_settings=set())[1]
    assert "string_serialization_version" not in older_server
    assert "string_serialization_version" not in render_schema(SchemaOptions(inline_string_sizes=False))[1]


def test_verify_names_a_missing_column_and_its_fix(chdb_store):
    client, options = chdb_store.client, chdb_store.options
    gauge = qualified(options, MetricKind.GAUGE)
    client.command(f"ALTER TABLE {gauge} DROP COLUMN MetricUnit")
    with pytest.raises(SchemaError) as caught:
        verify_schema(client, options)
    message = str(caught.value)
    assert f"{gauge}: column MetricUnit is missing" in message
    fix = message.split("fix: ", 1)[1].splitlines()[0]
    client.command(fix)  # the suggested statement really repairs the table
    verify_schema(client, options)


def test_verify_points_at_the_generation_setting_when_tables_are_the_other_generation(chdb_store):
    v2_view = SchemaOptions(database=chdb_store.options.database, generation="v2")
    with pytest.raises(SchemaError, match="created with generation 'classic'"):
        verify_schema(chdb_store.client, v2_view)


def test_verify_reports_missing_tables(chdb_store, db):
    chdb_store.client.command(f"CREATE DATABASE {db}")
    with pytest.raises(SchemaError, match=f"{db}.otel_metrics_gauge: table cannot be described"):
        verify_schema(chdb_store.client, SchemaOptions(database=db))


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: SchemaOptions(database="otel; DROP"), "database"),
        (lambda: SchemaOptions(generation="v3"), "table_generation"),
        (lambda: SchemaOptions(ttl_days=-1), "retention_days"),
        (lambda: SchemaOptions(cluster="a b"), "storage_cluster"),
        (lambda: TableNames(gauge="x-y"), "tables"),
        (lambda: TableNames(sum="otel_metrics_gauge"), "tables"),
    ],
)
def test_bad_schema_options_are_config_errors_naming_the_field(make, field):
    with pytest.raises(ConfigError) as caught:
        make()
    assert caught.value.field == field
