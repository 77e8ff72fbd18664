"""What ``ingest`` puts behind ``/v1/logs``: a queue of its own, spooling apart from the metrics one,
and nothing when there is no store of ours to write logs to."""

from __future__ import annotations

from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource

from exporters.clickhouse import connect, qualified_logs
from exporters.delivery import DeliveryQueue
from omni_core.admission import Admission
from omni_telemetry._wiring import build_ingest_logs_sink
from omni_telemetry.settings import load_settings


def test_with_otlp_export_there_is_no_logs_sink(monkeypatch):
    for name in ("OMNI_EXPORT_MODE", "OMNI_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(export_mode="otlp", otlp_endpoint="http://127.0.0.1:4318")
    assert build_ingest_logs_sink(settings) is None


def test_the_logs_queue_spools_under_ingest_logs_and_stores_into_otel_logs(tmp_path):
    dsn = f"chdb://{tmp_path / 'db'}"
    settings = load_settings(storage_dsn=dsn, spool_dir=str(tmp_path / "spool"), batch_max_age_s=0)
    sink = build_ingest_logs_sink(settings)
    assert isinstance(sink, DeliveryQueue)
    record = ReadableLogRecord(LogRecord(timestamp=1_764_425_000_000_000_000, body="wired"),
                               Resource({"service.name": "w"}))
    try:
        assert sink.offer([record], durable=True, timeout_s=30).admission is Admission.STORED
    finally:
        sink.shutdown(timeout_millis=10_000)
    assert (tmp_path / "spool" / "ingest-logs" / ".lock").exists()
    client = connect(dsn)
    assert client.query(f"SELECT Body, ServiceName FROM {qualified_logs(settings.schema_options())}").result_rows == [
        ("wired", "w")]
