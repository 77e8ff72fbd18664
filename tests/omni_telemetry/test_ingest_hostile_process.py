"""`omni-telemetry ingest` as a process under hostile clients: bombs and slow bodies cost it little."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import httpx
import pytest

from exporter_fixtures import fixtures
from exporters.otlp import encode_metrics_data
from http_targets import closed_port
from test_ingest_load import _wait_listening


def _peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _written(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics/", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith('omni_exporter_samples_written_total{sink="ingest"}'))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from /proc")
def test_json_bombs_and_slow_bodies_are_refused_cheaply_while_a_client_is_served(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    env["OMNI_INGEST_BODY_READ_TIMEOUT_S"] = "1"
    port = closed_port()
    exe = Path(sys.executable).with_name("omni-telemetry")
    ingest = subprocess.Popen(
        [str(exe), "ingest", "--port", str(port), "--dsn", f"chdb://{tmp_path / 'store'}", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
    )
    url = f"http://127.0.0.1:{port}/v1/metrics"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(compressor.compress(b"[" * (1024 * 1024)) for _ in range(64)) + compressor.flush()
    try:
        _wait_listening(port, ingest)
        # Warm up (imports, chDB's first inserts take a few hundred MB), then take the baseline.
        for batch in range(3):
            good = encode_metrics_data(fixtures.gauge_batch(5, batch=batch)).SerializeToString()
            assert httpx.post(url, content=good, headers={"Content-Type": "application/x-protobuf"},
                              timeout=60).status_code == 200
        fixtures._wait_for(lambda: _written(port) >= 15, timeout_s=60, what="the warm-up batches to be stored")
        baseline = _peak_rss_bytes(ingest.pid)

        slow = []
        for _ in range(16):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(b"POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                         b"Content-Length: 100000\r\n\r\n\0\0")
            slow.append(sock)
        bomb_answers: list[int] = []
        bombers = [threading.Thread(target=lambda: bomb_answers.append(httpx.post(
            url, content=bomb, timeout=60, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        ).status_code)) for _ in range(4)]
        for bomber in bombers:
            bomber.start()
        served = httpx.post(url, content=encode_metrics_data(fixtures.gauge_batch(5, batch=3)).SerializeToString(),
                            headers={"Content-Type": "application/x-protobuf"}, timeout=60)
        for bomber in bombers:
            bomber.join(60)
        slow_answers = []
        for sock in slow:
            with sock:
                slow_answers.append(sock.recv(12))
        assert served.status_code == 200
        assert bomb_answers == [400] * 4
        assert slow_answers == [b"HTTP/1.1 408"] * 16
        # Four 64 MiB bombs at once used to cost the receiver gigabytes; now each stops after one chunk.
        assert _peak_rss_bytes(ingest.pid) - baseline < 128 * 1024 * 1024
    finally:
        ingest.send_signal(signal.SIGTERM)
        _, stderr = ingest.communicate(timeout=90)
    assert ingest.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr
