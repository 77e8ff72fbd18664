"""The command line tried as a new user would: every mistake gets one line naming the bad
value and the fix, with an exit code that says what happened (README, "Exit codes")."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from exporters.clickhouse import MetricKind, SchemaOptions, connect, qualified
from http_targets import Answer, closed_port, http_target
from omni_telemetry.cli import app

runner = CliRunner()
EXE = Path(sys.executable).with_name("omni-telemetry")
POOL = b"""# TYPE diskpool_used_size_bytes gauge
diskpool_used_size_bytes{name="pool-a",node="n1"} 250
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("OMNI_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def refused_dsn() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def assert_one_clear_line(output: str, *expected: str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output and "pydantic" not in output and "For further information" not in output
    for text in expected:
        assert text in lines[0], output


# --- bad values ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["not-a-url", "ftp://x/y"])
def test_collect_with_a_bad_target_url_names_it_and_the_fix(url):
    result = runner.invoke(app, ["collect", "--once", "--target", url])
    assert result.exit_code == 2
    assert_one_clear_line(result.output, "--target", repr(url), "http://")


def test_scrape_of_a_bad_url_names_it_and_the_fix():
    result = runner.invoke(app, ["scrape", "not-a-url"])
    assert result.exit_code == 2
    assert_one_clear_line(result.output, "'not-a-url'", "http://")


def test_typo_in_a_target_of_the_config_file_points_at_the_key(tmp_path):
    config = tmp_path / "omni.yaml"
    config.write_text("targets:\n  - url: http://127.0.0.1:9/metrics\n    sorce: mayastor\n")
    result = runner.invoke(app, ["collect", "--once", "--config", str(config)])
    assert result.exit_code == 2
    assert_one_clear_line(result.output, "targets[0].sorce", str(config), "did you mean `source`?")
    assert "OMNI_" not in result.output


def test_chdb_dsn_with_credentials_is_refused_without_echoing_the_password():
    result = runner.invoke(app, ["schema", "apply", "--dsn", "chdb://admin:hunter2@host/data"])
    assert result.exit_code == 2
    assert "hunter2" not in result.output and "admin:***@" in result.output


def test_non_utf8_config_file_exits_2_without_traceback(tmp_path):
    config = tmp_path / "omni.yaml"
    config.write_bytes(b"cluster_name: m\xfcnchen\n")
    result = runner.invoke(app, ["collect", "--once", "--config", str(config)])
    assert result.exit_code == 2
    assert_one_clear_line(result.output, "not UTF-8")


def test_malformed_targets_json_exits_2_naming_the_variable(monkeypatch):
    monkeypatch.setenv("OMNI_TARGETS", "[{")
    result = runner.invoke(app, ["collect", "--once"])
    assert result.exit_code == 2
    assert_one_clear_line(result.output, "OMNI_TARGETS", "not valid JSON")


# --- interval and timeout -------------------------------------------------------------------


def test_collect_with_a_short_interval_lowers_the_default_timeout(tmp_path):
    dsn = f"chdb://{tmp_path / 'store'}"
    with http_target(Answer(POOL)) as server:
        result = runner.invoke(app, ["collect", "--once", "--interval", "5", "--dsn", dsn, "--target", f"{server.url}/m"])
    assert result.exit_code == 0, result.output


def test_collect_timeout_longer_than_interval_is_refused_with_the_fix():
    result = runner.invoke(app, ["collect", "--once", "--interval", "5", "--timeout", "8", "--target", "http://127.0.0.1:9/m"])
    assert result.exit_code == 2
    assert "lower the timeout or lengthen the interval" in result.output


# --- --once says what happened ---------------------------------------------------------------


def test_collect_once_exits_1_when_every_target_is_down(tmp_path):
    dsn = f"chdb://{tmp_path / 'store'}"
    result = runner.invoke(app, ["collect", "--once", "--dsn", dsn, "--target", f"http://127.0.0.1:{closed_port()}/m"])
    assert result.exit_code == 1
    assert "every target is down" in result.output


def test_collect_once_exits_3_at_once_when_the_store_is_down(refused_dsn):
    with http_target(Answer(POOL)) as server:
        result = runner.invoke(app, ["collect", "--once", "--dsn", refused_dsn, "--target", f"{server.url}/m"])
        scraped = len(server.requests)
    assert result.exit_code == 3
    assert "unreachable" in result.output
    assert scraped == 0  # refused before scraping: nothing was taken that could not be kept


def test_collect_once_exits_3_before_scraping_when_the_chdb_directory_cannot_be_written(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with http_target(Answer(POOL)) as server:
        result = runner.invoke(
            app, ["collect", "--once", "--dsn", f"chdb://{blocker / 'data'}", "--target", f"{server.url}/m"]
        )
        scraped = len(server.requests)
    assert result.exit_code == 3
    assert "cannot be written" in result.output and str(blocker) in result.output
    assert scraped == 0


def test_collect_once_exits_0_and_stores_when_a_target_is_up(tmp_path):
    dsn = f"chdb://{tmp_path / 'store'}"
    with http_target(Answer(POOL)) as server:
        result = runner.invoke(app, ["collect", "--once", "--dsn", dsn, "--target", f"{server.url}/m"])
    assert result.exit_code == 0, result.output
    gauges = qualified(SchemaOptions(), MetricKind.GAUGE)
    assert connect(dsn).query(f"SELECT count() FROM {gauges} WHERE MetricName = 'diskpool_used_size_bytes'").result_rows == [(1,)]


# --- what the process prints ------------------------------------------------------------------


def test_schema_apply_against_a_refused_server_prints_one_storage_error(tmp_path, refused_dsn):
    completed = run("schema", "apply", "--dsn", refused_dsn, cwd=tmp_path)
    assert completed.returncode == 3
    assert "Unexpected Http Driver Exception" not in completed.stderr
    assert "Retrying" not in completed.stderr  # urllib3's own retry line
    assert "will be retried" not in completed.stderr  # the command ends here; nothing is retried
    assert completed.stderr.startswith("storage error:"), completed.stderr


def test_collect_at_info_level_logs_no_line_per_http_request(tmp_path):
    with http_target(Answer(POOL)) as server:
        completed = run(
            "collect", "--once", "--log-level", "info", "--dsn", f"chdb://{tmp_path / 'store'}",
            "--target", f"{server.url}/a", "--target", f"{server.url}/b", cwd=tmp_path,
        )
    assert completed.returncode == 0, completed.stderr
    assert "cycle: 2/2 targets up" in completed.stderr
    assert "HTTP Request" not in completed.stderr and "httpx" not in completed.stderr


def test_boolean_flags_print_as_flags():
    result = runner.invoke(app, ["collect", "--help"])
    assert result.exit_code == 0
    assert "--once" in result.output and "<bool>" not in result.output


def test_every_scrape_option_has_help():
    command = typer.main.get_command(app).commands["scrape"]  # type: ignore[attr-defined]
    missing = [param.name for param in command.params if not getattr(param, "help", None)]
    assert missing == []


@pytest.mark.parametrize("command", [["schema", "show"], ["schema", "apply"], ["collect"], ["scrape"], ["ingest"], ["demo"]])
def test_help_shows_no_raw_restructured_text(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "``" not in result.output and ":class:" not in result.output


def test_make_says_what_it_is_doing_while_installing(tmp_path):
    root = Path(__file__).resolve().parents[2]
    plan = subprocess.run(
        ["make", "-n", "-B", "install", f"VENV={tmp_path / 'venv'}"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    install = [line for line in plan.splitlines() if "pip install" in line and "-e" in line]
    assert install and all("--quiet" not in line for line in install)  # pip shows what it downloads
    assert any(line.startswith("echo") and "install" in line.lower() for line in plan.splitlines())


def test_collect_once_exits_3_when_the_store_refuses_the_data(tmp_path, monkeypatch):
    # A gauge table someone else created with another layout: every insert is refused as data.
    dsn = f"chdb://{tmp_path / 'store'}"
    client = connect(dsn)
    client.command("CREATE DATABASE IF NOT EXISTS otel")
    client.command("CREATE TABLE otel.otel_metrics_gauge (x UInt8) ENGINE = MergeTree ORDER BY x")
    monkeypatch.setenv("OMNI_RETRY_INITIAL_S", "0.01")
    monkeypatch.setenv("OMNI_RETRY_MAX_S", "0.02")
    with http_target(Answer(POOL)) as server:
        result = runner.invoke(app, ["collect", "--once", "--dsn", dsn, "--target", f"{server.url}/m"])
    assert result.exit_code == 3, result.output
    assert "refused" in result.output
