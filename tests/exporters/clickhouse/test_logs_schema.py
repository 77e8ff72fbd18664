"""``otel_logs`` as the Collector's clickhouseexporter creates it, compared on real chDB.

The reference is the exporter's own DDL (tests/data/clickhouse/otel_logs_exporter_ddl.sql,
with its source line): both tables are created side by side and ClickHouse's own catalogue
(system.columns, system.tables, system.data_skipping_indices) must describe them alike.
"""

from __future__ import annotations

import uuid

import pytest

from exporters.clickhouse import SchemaOptions, apply_schema, connect, render_logs_schema, render_schema, verify_schema
from omni_core.errors import ConfigError, SchemaError


@pytest.fixture
def client(tmp_path):
    return connect(f"chdb://{tmp_path / 'db'}")


def documented_ddl(data_dir, database: str) -> str:
    lines = (data_dir / "clickhouse/otel_logs_exporter_ddl.sql").read_text().splitlines()
    body = "\n".join(line for line in lines if not line.startswith("--"))
    return body.replace('"{database}"', f"`{database}`").replace('."otel_logs"', ".`otel_logs`")


def catalogue(client, database: str) -> dict:
    params = {"db": database}
    columns = client.query(
        "SELECT name, type, position, compression_codec, default_kind, default_expression FROM system.columns "
        "WHERE database = {db:String} AND table = 'otel_logs' ORDER BY position",
        parameters=params,
    ).result_rows
    keys = client.query(
        "SELECT partition_key, sorting_key, primary_key FROM system.tables "
        "WHERE database = {db:String} AND name = 'otel_logs'",
        parameters=params,
    ).result_rows
    indexes = client.query(
        "SELECT name, type_full, expr, granularity FROM system.data_skipping_indices "
        "WHERE database = {db:String} AND table = 'otel_logs' ORDER BY name",
        parameters=params,
    ).result_rows
    create = client.query(
        "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = 'otel_logs'",
        parameters=params,
    ).result_rows[0][0]
    ttl = create[create.index(" TTL ") :].split(" SETTINGS ")[0].strip()
    return {"columns": columns, "keys": keys, "indexes": indexes, "ttl": ttl, "create": create}


def test_otel_logs_matches_the_exporter_ddl_column_for_column_key_for_key(client, data_dir):
    theirs, ours = f"x_{uuid.uuid4().hex[:8]}", f"o_{uuid.uuid4().hex[:8]}"
    client.command(f"CREATE DATABASE `{theirs}`")
    client.command(documented_ddl(data_dir, theirs))
    apply_schema(client, SchemaOptions(database=ours, ttl_days=30))

    exporter, created = catalogue(client, theirs), catalogue(client, ours)
    assert created["columns"] == exporter["columns"]
    assert created["keys"] == exporter["keys"]
    assert created["indexes"] == exporter["indexes"]
    assert created["ttl"] == exporter["ttl"]
    # Spot checks against the documented layout, so a shared mistake cannot pass unnoticed.
    by_name = {c[0]: c for c in exporter["columns"]}
    assert by_name["Timestamp"][1:4:2] == ("DateTime64(9)", "CODEC(Delta(8), ZSTD(1))")
    assert by_name["TimestampTime"][4:] == ("DEFAULT", "toDateTime(Timestamp)")
    assert exporter["keys"] == [("toDate(TimestampTime)", "ServiceName, TimestampTime, Timestamp",
                                 "ServiceName, TimestampTime")]
    assert len(exporter["indexes"]) == 9
    for setting in ("index_granularity = 8192", "ttl_only_drop_parts = 1"):
        assert setting in created["create"]


def test_schema_apply_creates_otel_logs_and_schema_show_prints_it():
    statements = render_schema(SchemaOptions())
    logs = [s for s in statements if "`otel`.`otel_logs`" in s.splitlines()[0]]
    assert len(logs) == 1
    assert statements.index(logs[0]) > 0  # after CREATE DATABASE
    assert "TTL" not in logs[0]  # retention 0 keeps logs forever, like the metrics


def test_on_a_cluster_logs_get_a_replicated_local_table_behind_a_distributed_one():
    statements = render_logs_schema(SchemaOptions(cluster="prod"))
    local, front = statements
    assert local.startswith("CREATE TABLE IF NOT EXISTS `otel`.`otel_logs_local` ON CLUSTER `prod`")
    assert "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" in local
    assert "non_replicated_deduplication_window" not in local
    assert front.startswith("CREATE TABLE IF NOT EXISTS `otel`.`otel_logs` ON CLUSTER `prod`")
    assert "Distributed('prod', 'otel', 'otel_logs_local'" in front


def test_ttl_follows_retention_in_whole_days_on_timestamptime():
    (statement,) = render_logs_schema(SchemaOptions(ttl_days=14))
    assert "TTL TimestampTime + toIntervalDay(14)" in statement


def test_a_logs_table_name_that_is_not_an_identifier_is_refused():
    with pytest.raises(ConfigError, match="logs table name"):
        render_logs_schema(SchemaOptions(), "otel_logs; DROP TABLE x")


def test_verify_names_a_missing_logs_column_with_the_statement_that_fixes_it(client):
    options = SchemaOptions(database="v")
    apply_schema(client, options)
    verify_schema(client, options)  # as created: nothing to report
    client.command("ALTER TABLE v.otel_logs DROP COLUMN ScopeVersion")
    with pytest.raises(SchemaError) as caught:
        verify_schema(client, options)
    assert ("v.otel_logs: column ScopeVersion is missing; fix: ALTER TABLE v.otel_logs ADD COLUMN IF NOT EXISTS "
            "ScopeVersion LowCardinality(String) CODEC(ZSTD(1))") in str(caught.value)
    client.command("ALTER TABLE v.otel_logs ADD COLUMN IF NOT EXISTS ScopeVersion LowCardinality(String) CODEC(ZSTD(1))")
    verify_schema(client, options)
