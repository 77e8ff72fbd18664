"""Settings precedence and errors an operator can act on."""

from __future__ import annotations

import pytest

from omni_core.errors import ConfigError
from omni_telemetry.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("OMNI_"):
            monkeypatch.delenv(name)


def write(tmp_path, text: str):
    path = tmp_path / "omni.yaml"
    path.write_text(text)
    return path


def test_defaults_use_embedded_chdb_under_dot_omni(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.storage_dsn == f"chdb://{tmp_path.resolve()}/.omni/data"
    assert settings.database == "otel"


def test_precedence_flags_over_env_over_file(tmp_path, monkeypatch):
    config = write(tmp_path, "cluster_name: from-file\ndatabase: filedb\nscrape_interval_s: 60\n")
    monkeypatch.setenv("OMNI_CLUSTER_NAME", "from-env")
    monkeypatch.setenv("OMNI_STORAGE_DSN", "http://default:pw@ch:8123/otel")
    settings = load_settings(config, storage_dsn="chdb:///flag/path")
    assert settings.cluster_name == "from-env"
    assert settings.database == "filedb"
    assert settings.scrape_interval_s == 60
    assert settings.storage_dsn == "chdb:///flag/path"


def test_targets_from_yaml_and_env_json(tmp_path, monkeypatch):
    config = write(tmp_path, "targets:\n  - url: http://10.0.0.1:9502/metrics\n    source: mayastor\n")
    assert load_settings(config).targets[0].source == "mayastor"
    monkeypatch.setenv("OMNI_TARGETS", '[{"url": "https://virt:8443/metrics", "source": "prometheus"}]')
    assert load_settings(config).targets[0].url == "https://virt:8443/metrics"


def test_unknown_setting_names_the_field_and_lists_known_ones(tmp_path):
    config = write(tmp_path, "scrape_intervall_s: 5\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    message = str(info.value)
    assert "scrape_intervall_s" in message and "scrape_interval_s" in message


def test_timeout_longer_than_interval_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="lower the timeout or lengthen the interval"):
        load_settings(scrape_interval_s=5, scrape_timeout_s=10)


def test_bad_dsn_scheme_names_env_var_and_accepted_forms():
    with pytest.raises(ConfigError) as info:
        load_settings(storage_dsn="postgres://x")
    assert "OMNI_STORAGE_DSN" in str(info.value) and "chdb:///" in str(info.value)


def test_bad_target_url_is_refused(tmp_path):
    config = write(tmp_path, "targets:\n  - url: 10.0.0.1:9502\n")
    with pytest.raises(ConfigError, match="targets.0.url"):
        load_settings(config)


def test_unreadable_or_invalid_yaml_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "a: [1, 2\n"))
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path, "- 1\n- 2\n"))


def test_negative_retention_is_refused():
    with pytest.raises(ConfigError, match="retention_days"):
        load_settings(retention_days=-1)
