"""Settings precedence and errors an operator can act on."""

from __future__ import annotations

import pytest

from collectors import ParseLimits
from exporters.clickhouse import SchemaOptions, StorageDsn, connect
from exporters.delivery import DeliveryOptions, RetryPolicy
from collectors.otlp_receiver import IngestOptions
from exporters.otlp import OtlpPushOptions
from omni_core.errors import ConfigError
from omni_telemetry.settings import OmniSettings, load_settings, redact_dsn


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
    with pytest.raises(ConfigError, match="not an http") as info:
        load_settings(config)
    assert info.value.field == "targets[0].url"


def test_unreadable_or_invalid_yaml_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "a: [1, 2\n"))
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path, "- 1\n- 2\n"))


def test_negative_retention_is_refused():
    with pytest.raises(ConfigError, match="greater than or equal to 0") as info:
        load_settings(retention_days=-1)
    assert info.value.field == "retention_days"


# --- where a bad key was written, and what would be right there --------------------------


def test_typo_inside_a_target_names_file_path_valid_keys_and_the_closest_one(tmp_path):
    config = write(tmp_path, "targets:\n  - url: http://10.0.0.1:9502/metrics\n    sorce: mayastor\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    error = info.value
    assert error.field == "targets[0].sorce"
    message = str(error)
    assert str(config) in message
    assert "did you mean `source`?" in message
    assert "url" in message and "bearer_token_file" in message  # the keys of a target ...
    assert "scrape_interval_s" not in message  # ... not the ~50 top-level settings
    assert "OMNI_" not in message  # the key came from the file, not the environment


def test_top_level_typo_suggests_the_closest_setting_and_names_no_env_var(tmp_path):
    config = write(tmp_path, "scrape_intervall_s: 5\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert info.value.field == "scrape_intervall_s"
    assert "did you mean `scrape_interval_s`?" in str(info.value)
    assert str(config) in str(info.value) and "OMNI_" not in str(info.value)


def test_value_from_the_environment_names_its_variable(monkeypatch):
    monkeypatch.setenv("OMNI_SCRAPE_INTERVAL_S", "-1")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.field == "scrape_interval_s" and "OMNI_SCRAPE_INTERVAL_S" in str(info.value)


def test_non_utf8_config_file_is_a_config_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("cluster_name: m\xfcnchen\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        load_settings(path)
    assert info.value.field == "--config"


def test_malformed_targets_json_in_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("OMNI_TARGETS", '[{"url": ')
    with pytest.raises(ConfigError, match="not valid JSON") as info:
        load_settings()
    assert info.value.field == "OMNI_TARGETS"


# --- timeout follows a short interval, like Prometheus -----------------------------------


def test_short_interval_lowers_the_default_timeout():
    assert load_settings(scrape_interval_s=5).scrape_timeout_s == 5
    assert load_settings(scrape_interval_s=60).scrape_timeout_s == 10


def test_explicit_timeout_is_kept_and_still_checked(monkeypatch):
    assert load_settings(scrape_interval_s=5, scrape_timeout_s=2).scrape_timeout_s == 2
    monkeypatch.setenv("OMNI_SCRAPE_TIMEOUT_S", "8")
    with pytest.raises(ConfigError, match="lower the timeout"):
        load_settings(scrape_interval_s=5)


def test_first_retry_wait_above_the_longest_is_refused():
    with pytest.raises(ConfigError, match="retry_initial_s"):
        load_settings(retry_initial_s=40, retry_max_s=30)


def test_mutual_tls_needs_both_certificate_and_key():
    with pytest.raises(ConfigError, match="otlp_client_key_file"):
        load_settings(otlp_client_cert_file="/tls/crt")


# --- typed options, each default once ------------------------------------------------------


def test_dsn_is_parsed_once_into_the_object_handed_down(tmp_path):
    settings = load_settings(storage_dsn=f"chdb://{tmp_path / 'store'}")
    assert isinstance(settings.storage, StorageDsn)
    assert settings.storage.kind == "chdb" and settings.storage.path == str((tmp_path / "store").resolve())
    client = connect(settings.storage)  # the parsed form is accepted as is
    assert client.query("SELECT 1").result_rows == [(1,)]


def test_options_objects_carry_every_setting(tmp_path):
    settings = load_settings(
        queue_max_samples=1234, spool_dir=str(tmp_path), spool_max_bytes=5678, retry_initial_s=1, retry_max_s=2,
        retry_multiplier=3, retry_jitter=0.25, ingest_max_body_bytes=999, ingest_retry_after_s=7, retention_days=9,
        max_labels=17, otlp_client_cert_file="/c", otlp_client_key_file="/k",
    )
    delivery = settings.delivery_options("clickhouse")
    assert (delivery.max_memory_points, delivery.max_spool_bytes) == (1234, 5678)
    assert delivery.spool_dir == str(tmp_path / "clickhouse")
    assert delivery.retry == RetryPolicy(initial_interval_s=1, max_interval_s=2, multiplier=3, jitter=0.25)
    ingest = settings.ingest_options()
    assert (ingest.max_body_bytes, ingest.retry_after_s) == (999, 7)
    assert settings.schema_options().ttl_days == 9
    assert settings.parse_limits().max_labels == 17
    push = settings.otlp_push_options()
    assert (push.client_cert_file, push.client_key_file) == ("/c", "/k")


@pytest.mark.parametrize(
    ("setting", "options", "attribute"),
    [
        ("queue_max_samples", DeliveryOptions(), "max_memory_points"),
        ("spool_max_bytes", DeliveryOptions(), "max_spool_bytes"),
        ("retry_initial_s", RetryPolicy(), "initial_interval_s"),
        ("retry_max_s", RetryPolicy(), "max_interval_s"),
        ("retry_multiplier", RetryPolicy(), "multiplier"),
        ("retry_jitter", RetryPolicy(), "jitter"),
        ("ingest_max_body_bytes", IngestOptions(), "max_body_bytes"),
        ("ingest_retry_after_s", IngestOptions(), "retry_after_s"),
        ("retention_days", SchemaOptions(), "ttl_days"),
        ("max_body_bytes", ParseLimits(), "max_body_bytes"),
        ("max_line_bytes", ParseLimits(), "max_line_bytes"),
        ("max_labels", ParseLimits(), "max_labels"),
    ],
)
def test_package_option_defaults_do_not_contradict_the_settings(setting, options, attribute):
    # The settings are where each default is chosen; a package's own default may only repeat it.
    assert OmniSettings.model_fields[setting].default == getattr(options, attribute)


@pytest.mark.parametrize(
    "build",
    [
        lambda: RetryPolicy(multiplier=0.5),
        lambda: RetryPolicy(jitter=2),
        lambda: IngestOptions(retry_after_s=-1),
        lambda: OtlpPushOptions(endpoint="http://c", client_cert_file="/tls/crt"),
        lambda: DeliveryOptions(max_memory_points=0),
    ],
)
def test_option_errors_name_a_setting_that_exists(build):
    with pytest.raises(ConfigError) as info:
        build()
    assert info.value.field in OmniSettings.model_fields


def test_redacted_dsn_hides_only_the_password():
    assert redact_dsn("https://alice:s3cr%40t@ch.example:8443/otel") == "https://alice:***@ch.example:8443/otel"
    assert redact_dsn("chdb:///var/lib/omni") == "chdb:///var/lib/omni"
    assert redact_dsn("http://ch:8123") == "http://ch:8123"


def test_settings_show_the_dsn_without_its_password():
    settings = load_settings(storage_dsn="http://writer:pa55@clickhouse:8123/otel")
    assert settings.storage_display == "http://writer:***@clickhouse:8123/otel"
    assert "pa55" not in repr(settings.storage)
    assert "pa55" not in repr(settings)
