"""``collect`` as Kubernetes runs it: SIGTERM on every rollout must not lose what was scraped.

Real processes: the collector is started as a subprocess, scrapes a real HTTP target, and
writes first to a store that refuses connections (spool on), then, restarted, to chDB.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporters.clickhouse import MetricKind, SchemaOptions, connect, qualified
from http_targets import Answer, http_target

EXPOSITION = b"""# TYPE diskpool_used_size_bytes gauge
diskpool_used_size_bytes{name="pool-a",node="n1"} 250
# TYPE diskpool_status gauge
diskpool_status{name="pool-a",node="n1"} 1
"""
EXE = Path(sys.executable).with_name("omni-telemetry")


@pytest.fixture
def refused_dsn() -> Iterator[str]:
    # Bound but not listening: connections are refused, and no one else can take the port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def _env(tmp_path: Path, shutdown_timeout_s: float = 20.0) -> dict[str, str]:
    """Spool on; the shutdown budget is what a store that is down makes the process wait."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    env.update(OMNI_SPOOL_DIR=str(tmp_path / "spool"), OMNI_SHUTDOWN_TIMEOUT_S=str(shutdown_timeout_s))
    return env


def _wait_for_scrapes(server: object, count: int, process: subprocess.Popen[str]) -> None:
    """Poll until the target has been scraped ``count`` times (a wait, not an assertion on time)."""
    deadline = time.monotonic() + 60
    while len(server.requests) < count:  # type: ignore[attr-defined]
        if process.poll() is not None:
            raise AssertionError(f"collect exited early: {process.stderr.read() if process.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError("the target was not scraped within 60 s")
        time.sleep(0.05)


@pytest.mark.slow
def test_sigterm_during_an_outage_spools_and_the_restart_stores_every_scraped_sample_once(tmp_path, refused_dsn):
    env = _env(tmp_path, shutdown_timeout_s=2)
    store = f"chdb://{tmp_path / 'store'}"
    with http_target(Answer(EXPOSITION)) as server:
        target = ["--target", f"{server.url}/metrics", "--source", "mayastor"]
        collector = subprocess.Popen(
            [str(EXE), "collect", "--dsn", refused_dsn, "--interval", "0.3", *target],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            _wait_for_scrapes(server, 4, collector)
            collector.send_signal(signal.SIGTERM)
            _out, log = collector.communicate(timeout=60)
        finally:
            if collector.poll() is None:
                collector.kill()
        assert collector.returncode == 0, log
        assert "received SIGTERM" in log
        assert any((tmp_path / "spool" / "clickhouse").iterdir()), "nothing was spooled"

        restarted = subprocess.run(
            [str(EXE), "collect", "--once", "--dsn", store, *target],
            env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )
        assert restarted.returncode == 0, restarted.stderr
        scrapes = len(server.requests)

    client = connect(store)
    gauges = qualified(SchemaOptions(), MetricKind.GAUGE)
    rows, instants = client.query(
        f"SELECT count(), uniqExact(TimeUnix) FROM {gauges} WHERE MetricName = 'diskpool_used_size_bytes'"
    ).result_rows[0]
    assert (rows, instants) == (scrapes, scrapes)  # every scrape stored, none twice


@pytest.mark.slow
def test_sigterm_with_the_store_up_delivers_and_exits_zero(tmp_path):
    env = _env(tmp_path)
    store = f"chdb://{tmp_path / 'store'}"
    with http_target(Answer(EXPOSITION)) as server:
        collector = subprocess.Popen(
            [str(EXE), "collect", "--dsn", store, "--interval", "0.3", "--target", f"{server.url}/metrics"],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            _wait_for_scrapes(server, 3, collector)
            collector.send_signal(signal.SIGTERM)
            _out, log = collector.communicate(timeout=60)
        finally:
            if collector.poll() is None:
                collector.kill()
        scrapes = len(server.requests)
    assert collector.returncode == 0, log
    client = connect(store)
    gauges = qualified(SchemaOptions(), MetricKind.GAUGE)
    (rows,) = client.query(
        f"SELECT count() FROM {gauges} WHERE MetricName = 'diskpool_used_size_bytes'"
    ).result_rows[0]
    assert rows == scrapes
