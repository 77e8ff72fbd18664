"""The command line, run in-process against real chDB and real local targets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboards import DASHBOARDS
from exporters.clickhouse import MetricKind, SchemaOptions, connect, qualified
from http_targets import Answer, closed_port, http_target
from omni_telemetry.cli import app

runner = CliRunner()
POOL = b"""# TYPE diskpool_status gauge
diskpool_status{name="pool-a",node="n1"} 1
# TYPE diskpool_total_size_bytes gauge
diskpool_total_size_bytes{name="pool-a",node="n1"} 1000
# TYPE diskpool_used_size_bytes gauge
diskpool_used_size_bytes{name="pool-a",node="n1"} 250
# TYPE diskpool_bytes_read gauge
diskpool_bytes_read{name="pool-a",node="n1"} 4096
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("OMNI_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_schema_show_prints_ddl_for_all_five_tables():
    result = runner.invoke(app, ["schema", "show"])
    assert result.exit_code == 0, result.output
    for table in ("otel_metrics_gauge", "otel_metrics_sum", "otel_metrics_histogram",
                  "otel_metrics_exponential_histogram", "otel_metrics_summary"):
        assert "CREATE TABLE IF NOT EXISTS" in result.output and table in result.output


def test_schema_show_cluster_renders_on_cluster():
    result = runner.invoke(app, ["schema", "show", "--cluster", "prod"])
    assert result.exit_code == 0, result.output
    assert "ON CLUSTER prod" in result.output.replace("`", "").replace('"', "")
    assert "Distributed" in result.output


def test_schema_apply_is_idempotent_on_chdb(tmp_path):
    dsn = f"chdb://{tmp_path / 'store'}"
    for _ in range(2):
        result = runner.invoke(app, ["schema", "apply", "--dsn", dsn])
        assert result.exit_code == 0, result.output
    client = connect(dsn)
    tables = {row[0] for row in client.query("SELECT name FROM system.tables WHERE database = 'otel'").result_rows}
    assert {"otel_metrics_gauge", "otel_metrics_sum", "otel_metrics_summary"} <= tables


def test_bad_dsn_exits_2_with_a_readable_message():
    result = runner.invoke(app, ["schema", "apply", "--dsn", "mysql://x"])
    assert result.exit_code == 2
    assert "OMNI_STORAGE_DSN" in result.output


def test_scrape_json_prints_otlp_json_with_resource_and_metrics():
    with http_target(Answer(POOL)) as server:
        result = runner.invoke(app, ["scrape", f"{server.url}/metrics", "--source", "mayastor", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    (resource_metrics,) = document["resourceMetrics"]
    attributes = {a["key"]: a["value"]["stringValue"] for a in resource_metrics["resource"]["attributes"]}
    assert attributes["service.name"] == "mayastor"
    names = {m["name"] for s in resource_metrics["scopeMetrics"] for m in s["metrics"]}
    assert {"diskpool_status", "diskpool_bytes_read", "up"} <= names
    read = next(m for s in resource_metrics["scopeMetrics"] for m in s["metrics"] if m["name"] == "diskpool_bytes_read")
    assert read["sum"]["isMonotonic"] is True


def test_scrape_of_down_target_exits_1_with_reason():
    result = runner.invoke(app, ["scrape", f"http://127.0.0.1:{closed_port()}/metrics"])
    assert result.exit_code == 1
    assert "up=0" in result.output and "cannot connect" in result.output


def test_scrape_wrong_source_warns_about_missing_families():
    with http_target(Answer(b"# TYPE foo gauge\nfoo 1\n")) as server:
        result = runner.invoke(app, ["scrape", f"{server.url}/metrics", "--source", "mayastor"])
    assert result.exit_code == 0
    assert "missing" in result.output and "diskpool_status" in result.output


def test_unknown_source_exits_2_listing_known_sources():
    result = runner.invoke(app, ["scrape", "http://127.0.0.1:1/metrics", "--source", "nosuch"])
    assert result.exit_code == 2
    assert "mayastor" in result.output


def test_collect_once_stores_adhoc_targets_and_reports_down_ones(tmp_path):
    dsn = f"chdb://{tmp_path / 'collect'}"
    down = f"http://127.0.0.1:{closed_port()}/metrics"
    with http_target(Answer(POOL)) as server:
        result = runner.invoke(
            app,
            ["collect", "--once", "--dsn", dsn, "--target", f"{server.url}/metrics", "--source", "mayastor",
             "--target", down, "--source", "prometheus"],
        )
    assert result.exit_code == 0, result.output
    assert "DOWN" in result.output
    client = connect(dsn)
    gauges = qualified(SchemaOptions(), MetricKind.GAUGE)
    ups = dict(client.query(f"SELECT ServiceName, Value FROM {gauges} WHERE MetricName = 'up'").result_rows)
    assert ups == {"mayastor": 1.0, "prometheus": 0.0}
    used = client.query(f"SELECT Value FROM {gauges} WHERE MetricName = 'diskpool_used_size_bytes'").result_rows
    assert used == [(250.0,)]


def test_collect_without_targets_explains_how_to_add_them():
    result = runner.invoke(app, ["collect", "--once"])
    assert result.exit_code == 2
    assert "--target" in result.output


@pytest.mark.slow
def test_demo_command_stores_pool_metrics_and_prints_them(tmp_path):
    exe = Path(sys.executable).with_name("omni-telemetry")
    completed = subprocess.run(
        [str(exe), "demo", "--duration", "7", "--interval", "2", "--dsn", f"chdb://{tmp_path / 'demo'}"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert "pool-on-node-2" in completed.stdout
    assert "rows stored" in completed.stdout
    assert completed.stdout.count("Mayastor pools") == 1  # piped: the tables once, not once per cycle
    assert "cycle 3:" in completed.stdout
    assert "dashboard previews:" in completed.stdout  # offline pages of every dashboard from this store
    assert len(list((tmp_path / ".omni" / "dashboards").glob("omni-*.html"))) == len(DASHBOARDS)
    for source in ("mayastor", "envoy", "kuma-api", "kubevirt"):  # all four platform sources reach the store
        assert source in completed.stdout
    client = connect(f"chdb://{tmp_path / 'demo'}")
    pools = client.query(
        f"SELECT DISTINCT Attributes['name'] FROM {qualified(SchemaOptions(), MetricKind.GAUGE)} "
        "WHERE MetricName = 'diskpool_used_size_bytes' ORDER BY 1"
    ).result_rows
    # node-4 (the replica host of the dashboards' demo data) joins the three nodes of the Mayastor story
    assert pools == [("pool-on-node-1",), ("pool-on-node-2",), ("pool-on-node-3",), ("pool-on-node-4",)]
    services = client.query(
        f"SELECT DISTINCT ServiceName FROM {qualified(SchemaOptions(), MetricKind.GAUGE)} "
        "WHERE MetricName = 'up' AND Value = 1 ORDER BY 1"
    ).result_rows
    assert {"mayastor", "envoy", "kuma-api", "kubevirt", "mayastor-api", "cdi-datavolumes"} <= {s for (s,) in services}


def test_collect_with_unreachable_kubernetes_api_still_scrapes_static_targets(tmp_path, monkeypatch):
    dsn = f"chdb://{tmp_path / 'disc'}"
    monkeypatch.setenv("OMNI_DISCOVERY_ENABLED", "true")
    monkeypatch.setenv("OMNI_DISCOVERY_MODE", "url")
    monkeypatch.setenv("OMNI_DISCOVERY_API_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("OMNI_DISCOVERY_SOURCES", '["mayastor"]')
    with http_target(Answer(POOL)) as server:
        result = runner.invoke(
            app, ["collect", "--once", "--dsn", dsn, "--target", f"{server.url}/metrics", "--source", "mayastor"]
        )
    assert result.exit_code == 0, result.output
    client = connect(dsn)
    gauges = qualified(SchemaOptions(), MetricKind.GAUGE)
    ups = client.query(f"SELECT Value FROM {gauges} WHERE MetricName = 'up'").result_rows
    assert ups == [(1.0,)]


def test_discovery_of_unknown_source_is_a_config_error(monkeypatch):
    monkeypatch.setenv("OMNI_DISCOVERY_ENABLED", "true")
    monkeypatch.setenv("OMNI_DISCOVERY_SOURCES", '["nosuch"]')
    result = runner.invoke(app, ["collect", "--once", "--target", "http://127.0.0.1:1/metrics"])
    assert result.exit_code == 2
    assert "nosuch" in result.output
