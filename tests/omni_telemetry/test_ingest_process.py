from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from exporters.clickhouse import ClickHouseWriter, SchemaOptions, apply_schema, connect
from exporters.delivery import DeliveryOptions, DeliveryQueue, RetryPolicy
from exporters.otlp import encode_metrics_data
from exporter_fixtures import fixtures
from omni_core.errors import ConfigError
from omni_telemetry._ingest import read_token_file

_RECEIVER = textwrap.dedent(
    """
    import sys
    from collectors.otlp_receiver import IngestOptions
    from exporters.clickhouse import ClickHouseWriter, SchemaOptions, apply_schema, connect
    from exporters.delivery import DeliveryOptions, DeliveryQueue, ReconnectingWriter, RetryPolicy
    from omni_telemetry._ingest import read_token_file, run_ingest

    port, dsn, spool, token_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

    def open_writer():
        client = connect(dsn)
        apply_schema(client, SchemaOptions())
        return ClickHouseWriter(client, SchemaOptions())

    queue = DeliveryQueue(ReconnectingWriter(open_writer),
                          DeliveryOptions(name="ingest", spool_dir=spool, retry=RetryPolicy(0.01, 0.05)))
    options = IngestOptions(port=port, bearer_token=read_token_file(token_file), shutdown_timeout_s=8)
    run_ingest(options, queue, log_level="warning")
    print("EXITED CLEANLY", flush=True)
    """
)


make_gauge_batch = fixtures.make_gauge_batch
refused_dsn = fixtures.refused_dsn
registry = fixtures.registry
self_metrics = fixtures.self_metrics


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_receiver(tmp_path: Path, dsn: str) -> tuple[subprocess.Popen[str], str]:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _RECEIVER, str(port), dsn, str(tmp_path / "spool"), str(token_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/metrics/", timeout=1)
            return process, url
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"receiver did not start: {process.communicate()[1][-2000:]}")
            time.sleep(0.05)


def _post(url: str, metrics_data) -> int:
    return httpx.post(
        f"{url}/v1/metrics", content=encode_metrics_data(metrics_data).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf", "Authorization": "Bearer s3cret"}, timeout=30,
    ).status_code


def _stop(process: subprocess.Popen[str]) -> str:
    os.kill(process.pid, signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    return out


@pytest.mark.slow
def test_sigterm_stops_the_receiver_after_storing_what_it_accepted(tmp_path, make_gauge_batch):
    dsn = f"chdb://{tmp_path / 'chdb'}"
    process, url = _start_receiver(tmp_path, dsn)
    assert _post(url, make_gauge_batch(25)) == 200
    assert "EXITED CLEANLY" in _stop(process)

    client = connect(dsn)  # the receiver's data directory, now released
    try:
        assert client.command("SELECT count() FROM otel.otel_metrics_gauge") == 25
    finally:
        client.close()


@pytest.mark.slow
def test_sigterm_with_storage_down_spools_what_it_accepted_for_the_next_start(tmp_path, refused_dsn, make_gauge_batch,
                                                                               self_metrics):
    process, url = _start_receiver(tmp_path, refused_dsn)
    assert _post(url, make_gauge_batch(12, batch=0)) == 200
    assert _post(url, make_gauge_batch(8, batch=1)) == 200
    assert "EXITED CLEANLY" in _stop(process)
    # Both requests are on disk (merged into one insert, or one file each); the file name carries its points.
    assert sum(int(path.name.split("-")[1]) for path in (tmp_path / "spool").glob("*.otlp")) == 20

    dsn = f"chdb://{tmp_path / 'chdb'}"
    client = connect(dsn)
    try:
        apply_schema(client, SchemaOptions())
        queue = DeliveryQueue(ClickHouseWriter(client, SchemaOptions()),
                              DeliveryOptions(spool_dir=tmp_path / "spool", retry=RetryPolicy(0.01, 0.05)),
                              metrics=self_metrics)
        assert queue.force_flush(20_000)
        queue.shutdown()
        assert client.command("SELECT count() FROM otel.otel_metrics_gauge") == 20
    finally:
        client.close()


def test_token_file_must_hold_a_token(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    with pytest.raises(ConfigError, match="empty"):
        read_token_file(empty)
    with pytest.raises(ConfigError, match="cannot read"):
        read_token_file(tmp_path / "missing")
    (tmp_path / "ok").write_text("abc\n")
    assert read_token_file(tmp_path / "ok") == "abc"
