"""`omni-telemetry ingest` as a process, fed by `omni-telemetry collect` in OTLP mode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from exporters.clickhouse import MetricKind, SchemaOptions, connect, qualified
from http_targets import Answer, closed_port, http_target
from omni_telemetry.cli import app

POOL = b"""# TYPE diskpool_status gauge
diskpool_status{name="pool-a",node="n1"} 1
# TYPE diskpool_bytes_read gauge
diskpool_bytes_read{name="pool-a",node="n1"} 4096
"""


def wait_ready(port: int, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"ingest exited early: {process.stderr.read() if process.stderr else ''}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("ingest did not start listening")


@pytest.mark.slow
def test_collect_pushes_otlp_to_ingest_which_stores_and_flushes_on_sigterm(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("OMNI_"):
            monkeypatch.delenv(name)
    port = closed_port()
    store = tmp_path / "ingest-store"
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    exe = Path(sys.executable).with_name("omni-telemetry")
    ingest = subprocess.Popen(
        [str(exe), "ingest", "--port", str(port), "--dsn", f"chdb://{store}", "--token-file", str(token)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        wait_ready(port, ingest)
        unauthorized = httpx.post(
            f"http://127.0.0.1:{port}/v1/metrics", content=b"\x00", headers={"Content-Type": "application/x-protobuf"}
        )
        assert unauthorized.status_code == 401
        monkeypatch.setenv("OMNI_EXPORT_MODE", "otlp")
        monkeypatch.setenv("OMNI_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("OMNI_OTLP_HEADERS", '{"Authorization": "Bearer t0ken"}')
        monkeypatch.chdir(tmp_path)
        with http_target(Answer(POOL)) as server:
            result = CliRunner().invoke(
                app, ["collect", "--once", "--target", f"{server.url}/metrics", "--source", "mayastor"]
            )
        assert result.exit_code == 0, result.output
    finally:
        ingest.send_signal(signal.SIGTERM)
        ingest.wait(timeout=60)
    assert ingest.returncode == 0, ingest.stderr.read()
    client = connect(f"chdb://{store}")
    options = SchemaOptions()
    sums = client.query(
        f"SELECT MetricName, Value, IsMonotonic, ServiceName FROM {qualified(options, MetricKind.SUM)}"
    ).result_rows
    assert sums == [("diskpool_bytes_read", 4096.0, True, "mayastor")]
    gauges = dict(
        client.query(f"SELECT MetricName, Value FROM {qualified(options, MetricKind.GAUGE)}").result_rows
    )
    assert gauges["up"] == 1.0 and gauges["diskpool_status"] == 1.0
