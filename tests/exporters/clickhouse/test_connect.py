"""DSNs, the shared embedded engine, and what an operator reads when storage cannot be reached."""

from __future__ import annotations

import pytest

from exporters.clickhouse import SchemaOptions, apply_schema, connect, engine_lock, parse_dsn
from omni_core.errors import ConfigError, StorageUnavailable


@pytest.mark.parametrize(
    "dsn",
    [
        "",
        "otel",
        "chdb://relative/path",
        "chdb:relative",
        "chdb:///",
        "postgres://user:pw@db:5432/otel",
        "http://",
        "http://host:notaport/otel",
        "http://host:8123/otel?secure=true",
        "https://host/otel/extra",
    ],
)
def test_unusable_dsn_is_a_config_error_listing_the_accepted_forms(dsn):
    with pytest.raises(ConfigError) as caught:
        connect(dsn)
    assert caught.value.field == "storage_dsn"
    assert "chdb:///absolute/data/directory" in str(caught.value)
    assert "http(s)://user:password@host:port/database" in str(caught.value)


def test_config_errors_never_echo_the_password():
    with pytest.raises(ConfigError) as caught:
        parse_dsn("ftp://writer:hunter2@db/otel")
    assert "hunter2" not in str(caught.value)


def test_http_dsn_parts_and_default_ports():
    parsed = parse_dsn("https://writer:p%40ss%3Aword@ch.example:9443/metrics")
    assert (parsed.kind, parsed.host, parsed.port, parsed.username, parsed.password, parsed.database) == (
        "https", "ch.example", 9443, "writer", "p@ss:word", "metrics")
    assert parse_dsn("http://ch.example").port == 8123
    assert parse_dsn("https://ch.example").port == 8443
    assert parse_dsn("http://ch.example/").database is None
    assert "p@ss" not in repr(parsed)


def test_unreachable_server_is_storage_unavailable_with_an_actionable_message(refused_dsn):
    port = refused_dsn.rsplit(":", 1)[1]
    with pytest.raises(StorageUnavailable) as caught:
        connect(f"http://writer:hunter2@127.0.0.1:{port}/otel", connect_timeout_s=2)
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}" in message
    assert "unreachable" in message and "storage_dsn" in message
    assert "hunter2" not in message


def test_chdb_dsn_creates_the_data_directory(tmp_path):
    target = tmp_path / "nested" / "store"
    client = connect(f"chdb://{target}")
    assert target.is_dir()
    assert client.command("SELECT 1") == 1


def test_one_client_per_chdb_path_however_the_path_is_spelled(tmp_path):
    first = connect(f"chdb://{tmp_path}/store")
    again = connect(f"chdb://{tmp_path}/other/../store/")
    assert again is first
    assert engine_lock(first) is engine_lock(again)


def test_a_second_chdb_path_in_one_process_is_refused_with_the_open_one_named(tmp_path):
    connect(f"chdb://{tmp_path}/a")
    with pytest.raises(ConfigError) as caught:
        connect(f"chdb://{tmp_path}/b")
    assert caught.value.field == "storage_dsn"
    assert f"{tmp_path}/a" in str(caught.value)


def test_closing_the_shared_client_releases_the_path_and_data_survives(tmp_path):
    client = connect(f"chdb://{tmp_path}/a")
    apply_schema(client, SchemaOptions(database="kept"))
    client.close()
    other = connect(f"chdb://{tmp_path}/b")  # the first directory is no longer held
    other.close()
    reopened = connect(f"chdb://{tmp_path}/a")
    assert reopened is not client
    assert reopened.command("EXISTS DATABASE kept") == 1


def test_unwritable_chdb_directory_is_storage_unavailable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageUnavailable, match="cannot create the chDB data directory"):
        connect(f"chdb://{blocker}/store")
