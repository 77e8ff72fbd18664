"""`omni-telemetry ingest` under a bounded load, then SIGTERM: every acknowledged point is stored once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.metrics.export import Gauge, Metric, MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from exporters.clickhouse import connect
from exporters.otlp import encode_metrics_data
from http_targets import closed_port
from omni_core.datamodel import FlaggedNumberDataPoint

CLIENTS = 8
POINTS_PER_REQUEST = 200
LOAD_S = 10.0
#: Now, so the default retention (TTL) keeps every row.
TIME_NS = time.time_ns()


def _request(client: int, seq: int) -> bytes:
    points = [
        FlaggedNumberDataPoint({"client": str(client), "seq": str(seq), "series": str(i)}, 0, TIME_NS + seq, float(i))
        for i in range(POINTS_PER_REQUEST)
    ]
    data = MetricsData([ResourceMetrics(
        Resource({"service.name": "load"}),
        [ScopeMetrics(InstrumentationScope("load"), [Metric("load_probe", "", "", Gauge(points))], "")], "",
    )])
    return encode_metrics_data(data).SerializeToString()


def _wait_listening(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("ingest did not start listening")


@pytest.mark.slow
def test_every_point_acknowledged_under_load_is_stored_exactly_once_after_sigterm(tmp_path, monkeypatch):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    port = closed_port()
    store = tmp_path / "store"
    exe = Path(sys.executable).with_name("omni-telemetry")
    ingest = subprocess.Popen(
        [str(exe), "ingest", "--port", str(port), "--dsn", f"chdb://{store}", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
    )
    acknowledged: list[tuple[int, int]] = []
    answers: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = 0.0

    def client(number: int) -> None:
        seq = 0
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < stop_at:
                seq += 1
                try:
                    status = http.post(f"http://127.0.0.1:{port}/v1/metrics", content=_request(number, seq),
                                       headers={"Content-Type": "application/x-protobuf"}).status_code
                except httpx.TransportError:
                    status = 0
                with lock:
                    answers[status] = answers.get(status, 0) + 1
                    if status == 200:
                        acknowledged.append((number, seq))
                if status in (429, 503):
                    time.sleep(0.05)

    try:
        _wait_listening(port, ingest)
        stop_at = time.monotonic() + LOAD_S
        clients = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(LOAD_S + 60)
    finally:
        ingest.send_signal(signal.SIGTERM)
        _, stderr = ingest.communicate(timeout=90)
    assert ingest.returncode == 0, stderr[-3000:]
    assert acknowledged, answers

    client = connect(f"chdb://{store}")
    try:
        stored = client.query(
            "SELECT toInt64(Attributes['client']), toInt64(Attributes['seq']), count() "
            "FROM otel.otel_metrics_gauge GROUP BY 1, 2"
        ).result_rows
    finally:
        client.close()
    per_request = {(c, s): n for c, s, n in stored}
    missing = [key for key in acknowledged if key not in per_request]
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged requests not stored; answers {answers}"
    assert all(n == POINTS_PER_REQUEST for n in per_request.values()), "a request was stored partly or twice"
