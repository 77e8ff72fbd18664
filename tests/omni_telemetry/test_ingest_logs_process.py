"""`omni-telemetry ingest` as a process receiving logs: the SDK's OTLP log exporter lands in otel_logs,
and every log record acknowledged before SIGTERM is stored exactly once (the spool drained by one restart)."""

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
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from exporters.clickhouse import connect
from http_targets import closed_port

TOKEN = "pr0cess-t0ken"
NOW_NS = time.time_ns()  # recent, so no retention rule touches the rows
CLIENTS = 4
RECORDS_PER_REQUEST = 50


def _start(tmp_path: Path, port: int, store: Path | str, spool: Path) -> subprocess.Popen[str]:
    """The ingest process on ``port``, storing into ``store`` (a chDB directory, or a DSN)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    env.update(OMNI_SPOOL_DIR=str(spool), OMNI_BATCH_MAX_AGE_S="0.2", OMNI_RETRY_INITIAL_S="0.05",
               OMNI_RETRY_MAX_S="0.2")
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    exe = Path(sys.executable).with_name("omni-telemetry")
    process = subprocess.Popen(
        [str(exe), "ingest", "--port", str(port), "--dsn", store if isinstance(store, str) else f"chdb://{store}", "--token-file", str(token),
         "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=1.0)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("ingest did not start listening")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=90)
    assert process.returncode == 0, stderr[-3000:]
    return stderr


@pytest.mark.slow
def test_sdk_log_exporter_into_the_ingest_process_lands_in_otel_logs(tmp_path):
    port = closed_port()
    store, spool = tmp_path / "store", tmp_path / "spool"
    ingest = _start(tmp_path, port, store, spool)
    try:
        provider = LoggerProvider(resource=Resource({"service.name": "orders", "deployment.environment": "prod"}))
        exporter = OTLPLogExporter(endpoint=f"http://127.0.0.1:{port}/v1/logs",
                                   headers={"Authorization": f"Bearer {TOKEN}"})
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
        logger = provider.get_logger("orders.api", "2.0.1", attributes={"component": "api"})
        span = set_span_in_context(NonRecordingSpan(SpanContext(0x1F2E3D4C5B6A79880123456789ABCDEF,
                                                                0x0011223344556677, False, TraceFlags(1))))
        logger.emit(timestamp=NOW_NS, context=span, severity_number=SeverityNumber.WARN, severity_text="Warning",
                    body="stock low", attributes={"sku": "A-17", "left": 3})
        logger.emit(timestamp=NOW_NS + 1, severity_number=SeverityNumber.FATAL4, severity_text="CRIT",
                    body=["disk", "full"])
        provider.shutdown()
    finally:
        _stop(ingest)

    assert not list((spool / "ingest-logs").glob("*.otlp")), "a delivered batch was left in the spool"
    client = connect(f"chdb://{store}")
    rows = client.query(
        "SELECT toUnixTimestamp64Nano(Timestamp), TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, "
        "ServiceName, Body, ResourceAttributes, ScopeName, ScopeVersion, ScopeAttributes, LogAttributes "
        "FROM otel.otel_logs ORDER BY Timestamp"
    ).result_rows
    resource = {"service.name": "orders", "deployment.environment": "prod"}
    assert len(rows) == 2
    assert rows[0][:8] == (NOW_NS, "1f2e3d4c5b6a79880123456789abcdef", "0011223344556677", 1, "Warning", 13,
                           "orders", "stock low")
    assert rows[1][:8] == (NOW_NS + 1, "", "", 0, "CRIT", 24, "orders", '["disk","full"]')
    for row in rows:
        assert {k: row[8][k] for k in resource} == resource
        assert row[9:12] == ("orders.api", "2.0.1", {"component": "api"})
    assert rows[0][12] == {"sku": "A-17", "left": "3"}


def _request(client: int, seq: int) -> bytes:
    records = [
        LogRecord(time_unix_nano=NOW_NS + seq * 1000 + i, severity_number=9, severity_text="INFO",
                  body=AnyValue(string_value=f"c{client} s{seq} r{i}"),
                  attributes=[KeyValue(key="client", value=AnyValue(int_value=client)),
                              KeyValue(key="seq", value=AnyValue(int_value=seq))])
        for i in range(RECORDS_PER_REQUEST)
    ]
    resource = PbResource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="load"))])
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(resource=resource, scope_logs=[
        ScopeLogs(log_records=records)])]).SerializeToString()


@pytest.mark.slow
def test_every_log_record_acknowledged_before_sigterm_is_stored_exactly_once(tmp_path):
    port = closed_port()
    store, spool = tmp_path / "store", tmp_path / "spool"
    ingest = _start(tmp_path, port, store, spool)
    acknowledged: list[tuple[int, int]] = []
    answers: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(number: int) -> None:
        seq = 0
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                seq += 1
                try:
                    status = http.post(f"http://127.0.0.1:{port}/v1/logs", content=_request(number, seq),
                                       headers={"Content-Type": "application/x-protobuf",
                                                "Authorization": f"Bearer {TOKEN}"}).status_code
                except httpx.TransportError:
                    status = "transport"
                    if ingest.poll() is not None:
                        return
                    time.sleep(0.05)
                with lock:
                    answers[str(status)] = answers.get(str(status), 0) + 1
                    if status == 200:
                        acknowledged.append((number, seq))

    clients = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in clients:
        thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        ingest.send_signal(signal.SIGTERM)  # while the clients keep sending
        _, stderr = ingest.communicate(timeout=90)
    finally:
        stop.set()
        for thread in clients:
            thread.join(60)
    assert ingest.returncode == 0, stderr[-3000:]
    assert len(acknowledged) >= 40, answers

    _stop(_start(tmp_path, port, store, spool))  # a restart drains whatever the first run spooled
    assert not list((spool / "ingest-logs").glob("*.otlp"))

    client = connect(f"chdb://{store}")
    stored = client.query(
        "SELECT toInt64(LogAttributes['client']), toInt64(LogAttributes['seq']), count(), uniqExact(Body) "
        "FROM otel.otel_logs GROUP BY 1, 2"
    ).result_rows
    per_request = {(c, s): (n, distinct) for c, s, n, distinct in stored}
    missing = [key for key in acknowledged if key not in per_request]
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged requests not stored; answers {answers}"
    assert all(counts == (RECORDS_PER_REQUEST, RECORDS_PER_REQUEST) for counts in per_request.values()), \
        "a request was stored partly or twice"


@pytest.mark.slow
def test_log_records_acknowledged_while_the_store_is_down_are_stored_once_by_the_next_start(tmp_path):
    port = closed_port()
    store, spool = tmp_path / "store", tmp_path / "spool"
    down = f"http://default@127.0.0.1:{closed_port()}/otel"  # nothing listens there
    ingest = _start(tmp_path, port, down, spool)
    try:
        with httpx.Client(timeout=30) as http:
            answers = [http.post(f"http://127.0.0.1:{port}/v1/logs", content=_request(7, seq),
                                 headers={"Content-Type": "application/x-protobuf",
                                          "Authorization": f"Bearer {TOKEN}"}).status_code
                       for seq in range(1, 6)]
    finally:
        _stop(ingest)
    assert answers == [200] * 5  # durable answers: each batch was on the fsynced spool before its 200
    assert list((spool / "ingest-logs").glob("*.otlp"))

    _stop(_start(tmp_path, port, store, spool))
    assert not list((spool / "ingest-logs").glob("*.otlp"))
    client = connect(f"chdb://{store}")
    stored = client.query("SELECT toInt64(LogAttributes['seq']), count(), uniqExact(Body) FROM otel.otel_logs "
                          "GROUP BY 1 ORDER BY 1").result_rows
    assert stored == [(seq, RECORDS_PER_REQUEST, RECORDS_PER_REQUEST) for seq in range(1, 6)]
