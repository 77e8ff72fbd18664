"""`omni-telemetry serve`: a bad rules file stops it at start, and as a process it answers
/health from the configured store."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from http_targets import closed_port
from omni_telemetry.cli import app


def test_bad_rules_file_is_a_configuration_error_naming_the_rule(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("components: {envoy: {rules: {envoy.server_live: {thresholds: [{status: fine, op: '<', value: 1}]}}}}")
    result = CliRunner().invoke(app, ["serve", "--rules", str(rules), "--dsn", f"chdb://{tmp_path / 'store'}"])
    assert result.exit_code == 2
    assert "envoy.server_live" in result.output and "health_rules_file" in result.output


@pytest.mark.slow
def test_serve_answers_health_readyz_and_livez_from_the_store(tmp_path):
    port = closed_port()
    dsn = f"chdb://{tmp_path / 'store'}"
    subprocess.run([sys.executable, "-m", "omni_telemetry.cli", "schema", "apply", "--dsn", dsn], check=True,
                   capture_output=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "omni_telemetry.cli", "serve", "--port", str(port), "--dsn", dsn, "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "OMNI_HEALTH_HOST": "127.0.0.1"},
    )
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and health is None:
            assert process.poll() is None, process.stderr.read().decode()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health is not None, "serve did not answer"
        assert health.status_code == 200 and health.json()["status"] == "unknown"  # an empty store: no data
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/livez").json() == {"status": "alive"}
    finally:
        process.terminate()
        process.wait(timeout=30)
