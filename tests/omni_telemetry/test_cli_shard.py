"""``collect --once`` on several replicas sharing one store: every target stored exactly once."""

from __future__ import annotations

import os

import pytest
import yaml
from typer.testing import CliRunner

from exporters.clickhouse import MetricKind, SchemaOptions, connect, qualified
from http_targets import Answer, http_target
from omni_telemetry.cli import app

runner = CliRunner()
COUNT = 3


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OMNI_"):
            monkeypatch.delenv(name)


def test_replicas_store_each_target_once_between_them(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    dsn = f"chdb://{tmp_path / 'store'}"
    jobs = [f"job-{i}" for i in range(12)]
    with http_target(Answer(b"# TYPE temp gauge\ntemp{node=\"n1\"} 21.5\n")) as server:
        config = tmp_path / "omni.yaml"
        config.write_text(yaml.safe_dump({"shard_count": COUNT, "targets": [{"url": f"{server.url}/metrics", "job": j} for j in jobs]}))
        for ordinal in range(COUNT):
            monkeypatch.setenv("OMNI_SHARD_POD_NAME", f"omni-collector-{ordinal}")
            result = runner.invoke(app, ["collect", "--once", "--config", str(config), "--dsn", dsn])
            assert result.exit_code == 0, result.output
        scraped = len(server.requests)
    gauges = qualified(SchemaOptions(), MetricKind.GAUGE)
    rows = connect(dsn).query(f"SELECT ServiceName, count() FROM {gauges} WHERE MetricName = 'temp' GROUP BY ServiceName").result_rows
    assert dict(rows) == {job: 1 for job in jobs}
    assert scraped == len(jobs)


def test_a_replica_without_its_index_exits_2_naming_the_setting(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_SHARD_COUNT", "3")
    result = runner.invoke(app, ["collect", "--once", "--target", "http://127.0.0.1:9/metrics", "--dsn", f"chdb://{tmp_path / 's'}"])
    assert result.exit_code == 2, result.output
    assert "shard_index" in result.output and "shard_pod_name" in result.output
