"""Datasource provisioning for the ClickHouse plugin, from the store settings."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from dashboards import DATASOURCE_UID, datasource_provisioning
from omni_core.errors import ConfigError
from omni_telemetry.cli import app


def test_provisioning_uses_v4_keys_a_read_only_user_and_an_env_password() -> None:
    text = datasource_provisioning("https://writer:s3cret@clickhouse.monitoring:8443/otel", "metrics", user="grafana_ro")
    (source,) = yaml.safe_load(text)["datasources"]
    assert source["type"] == "grafana-clickhouse-datasource" and source["uid"] == DATASOURCE_UID
    assert source["jsonData"] == {"host": "clickhouse.monitoring", "port": 8443, "protocol": "http", "secure": True,
                                  "username": "grafana_ro", "defaultDatabase": "metrics"}
    assert "server" not in source["jsonData"]  # the v3 key
    assert source["secureJsonData"] == {"password": "$__env{CLICKHOUSE_GRAFANA_PASSWORD}"}
    assert "s3cret" not in text and "writer" not in text  # the writer's credentials never leak


def test_default_ports_follow_the_scheme() -> None:
    plain = yaml.safe_load(datasource_provisioning("http://ch:8123/otel", "otel"))["datasources"][0]["jsonData"]
    assert plain["port"] == 8123 and plain["secure"] is False
    tls = yaml.safe_load(datasource_provisioning("https://ch/otel", "otel"))["datasources"][0]["jsonData"]
    assert tls["port"] == 8443


def test_an_embedded_store_or_a_bad_env_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="Grafana needs a ClickHouse server"):
        datasource_provisioning("chdb:///var/lib/omni", "otel")
    with pytest.raises(ConfigError, match="environment variable name"):
        datasource_provisioning("http://ch:8123/otel", "otel", password_env="PASS WORD}")


def test_cli_prints_the_yaml() -> None:
    result = CliRunner().invoke(app, ["dashboards", "datasource", "--dsn", "http://ch:8123/otel", "--user", "ro"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["datasources"][0]["jsonData"]["username"] == "ro"
