"""Cheaper parts: our inserts leave skip indexes to merges, tables skip automatic statistics
where the engine has them, and a server DSN never loads chDB."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

import pytest
from pathlib import Path

from opentelemetry.sdk.metrics.export import Gauge, Metric, MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from exporters.clickhouse import (
    ClickHouseWriter,
    MetricKind,
    SchemaOptions,
    apply_schema,
    connect,
    expected_columns,
    qualified,
    render_schema,
)
from exporters.clickhouse._columns import to_columns
from exporters.clickhouse._connect import cheap_insert_settings
from omni_core.datamodel import FlaggedNumberDataPoint
from omni_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
T0 = 1_700_000_000_000_000_000


def one_batch(time_ns: int = T0) -> MetricsData:
    points = [FlaggedNumberDataPoint({"i": str(i)}, T0, time_ns, float(i), (), 0) for i in range(100)]
    metric = Metric("up", "", "", Gauge(points))
    return MetricsData([ResourceMetrics(Resource({"service.name": "s"}), [ScopeMetrics(InstrumentationScope("x"), [metric], "")], "")])


def skip_index_bytes(client, options: SchemaOptions) -> int:
    return client.query(
        "SELECT sum(secondary_indices_uncompressed_bytes) FROM system.parts "
        "WHERE database = {db:String} AND table = {t:String} AND active",
        parameters={"db": options.database, "t": options.tables.table_for(MetricKind.GAUGE)},
    ).result_rows[0][0]


def test_writer_inserts_leave_skip_indexes_to_merges(tmp_path):
    client = connect(f"chdb://{tmp_path}/store")
    ours, default = SchemaOptions(database="ours"), SchemaOptions(database="default_settings")
    apply_schema(client, ours)
    apply_schema(client, default)
    for step, pre_encoded in enumerate((True, False)):
        ClickHouseWriter(client, ours, pre_encoded=pre_encoded).write(one_batch(T0 + step))
    # The same rows inserted with the engine's default settings do build the indexes.
    tables, _ = to_columns(one_batch(), default.generation)
    client.insert(
        qualified(default, MetricKind.GAUGE), tables[MetricKind.GAUGE].columns,
        column_names=[n for n, _ in expected_columns(default, MetricKind.GAUGE)], column_oriented=True,
    )
    assert skip_index_bytes(client, default) > 0
    assert skip_index_bytes(client, ours) == 0
    rows = client.query(f"SELECT count() FROM {qualified(ours, MetricKind.GAUGE)}").result_rows[0][0]
    assert rows == 200


def test_cheap_insert_settings_name_only_settings_the_engine_knows(tmp_path):
    client = connect(f"chdb://{tmp_path}/store")
    assert cheap_insert_settings(client) == {"materialize_skip_indexes_on_insert": "0"}

    class OlderServer:
        server_settings = {"async_insert": object()}

    assert cheap_insert_settings(OlderServer()) == {}  # type: ignore[arg-type]


def _created_engine(tmp_path, options: SchemaOptions, kind: MetricKind, setting: str) -> tuple[bool, str]:
    """Whether the engine knows ``setting``, and the engine clause ``apply_schema`` gave ``kind``'s table."""
    client = connect(f"chdb://{tmp_path}/store")
    apply_schema(client, options)
    known = client.query("SELECT count() FROM system.merge_tree_settings WHERE name = {s:String}",
                         parameters={"s": setting}).result_rows[0][0]
    create = client.query(
        "SELECT engine_full FROM system.tables WHERE database = {d:String} AND name = {t:String}",
        parameters={"d": options.database, "t": options.tables.table_for(kind)},
    ).result_rows[0][0]
    return bool(known), create


def test_tables_skip_automatic_statistics_where_the_engine_has_them(tmp_path):
    options = SchemaOptions(database="stats")
    has_setting, create = _created_engine(tmp_path, options, MetricKind.GAUGE, "auto_statistics_types")
    assert ("auto_statistics_types = ''" in create) == has_setting
    older = render_schema(options, server_settings={"string_serialization_version"})
    assert not any("auto_statistics_types" in statement for statement in older)


def test_a_collector_writing_to_a_server_never_loads_chdb():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    script = textwrap.dedent(
        f"""
        import sys
        from exporters.clickhouse import ClickHouseWriter, connect
        from omni_core.errors import StorageUnavailable
        import omni_telemetry.cli
        try:
            ClickHouseWriter(connect("http://127.0.0.1:{port}/otel", connect_timeout_s=1))
        except StorageUnavailable:
            pass
        else:
            raise SystemExit("connecting to a refused port did not fail")
        print("chdb" in sys.modules, any(name.startswith("chdb") for name in sys.modules))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_tables_merge_less_often_where_the_engine_knows_the_merge_selector_base(tmp_path):
    options = SchemaOptions(database="merges", merge_selector_base=20)
    has_setting, create = _created_engine(tmp_path, options, MetricKind.SUM, "merge_selector_base")
    assert ("merge_selector_base = 20" in create) == has_setting
    older = render_schema(options, server_settings={"string_serialization_version", "auto_statistics_types"})
    assert not any("merge_selector_base" in statement for statement in older)
    engine_default = render_schema(SchemaOptions(merge_selector_base=0))
    assert not any("merge_selector_base" in statement for statement in engine_default)


def test_a_merge_selector_base_of_one_is_refused_naming_the_setting():
    with pytest.raises(ConfigError) as raised:
        SchemaOptions(merge_selector_base=1)
    assert raised.value.field == "table_merge_selector_base"
