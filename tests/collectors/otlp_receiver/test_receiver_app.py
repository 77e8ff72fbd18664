from __future__ import annotations

import gzip
import json
import math
import socket
import zlib
from urllib.parse import urlparse

import httpx
import pytest
from google.rpc import code_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.resources import Resource

from exporters.clickhouse import (
    ClickHouseMetricExporter,
    ClickHouseWriter,
    MetricKind,
    SchemaOptions,
    apply_schema,
    connect,
    qualified,
)
from collectors.otlp_receiver import IngestOptions, create_ingest_app
from exporters.delivery import DeliveryOptions, DeliveryQueue, ReconnectingWriter, RetryPolicy
from exporters.otlp import OtlpHttpMetricExporter, encode_metrics_data, metrics_data_to_json

FAST_RETRY = RetryPolicy(initial_interval_s=0.01, max_interval_s=0.05)
SLOW_RETRY = RetryPolicy(initial_interval_s=60.0, max_interval_s=60.0)
PROTOBUF = {"Content-Type": "application/x-protobuf"}
TOKEN = "t0k3n-for-tests"
SMALL = IngestOptions(max_body_bytes=256 * 1024, max_decompressed_bytes=1024 * 1024)


@pytest.fixture
def queue_into(self_metrics):
    queues: list[DeliveryQueue] = []

    def make(sink, **options) -> DeliveryQueue:
        queue = DeliveryQueue(sink, DeliveryOptions(name="ingest", retry=options.pop("retry", FAST_RETRY), **options),
                              metrics=self_metrics)
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        queue.shutdown(timeout_millis=100)


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{url}/v1/metrics", content=body, headers={**PROTOBUF, **(headers or {})}, timeout=30)


def _status(response: httpx.Response) -> status_pb2.Status:
    assert response.headers["content-type"] == "application/x-protobuf"
    return status_pb2.Status.FromString(response.content)


def test_protobuf_request_is_stored_and_answered_with_empty_success(chdb_store, queue_into, serve, make_gauge_batch,
                                                                    registry):
    queue = queue_into(chdb_store.writer())
    url = serve(create_ingest_app(queue, SMALL, registry=registry))
    response = _post(url, encode_metrics_data(make_gauge_batch(30)).SerializeToString())
    assert response.status_code == 200
    answer = ExportMetricsServiceResponse.FromString(response.content)
    assert not answer.HasField("partial_success")
    assert queue.force_flush(20_000)
    assert chdb_store.rows() == 30
    assert registry.get_sample_value("omni_ingest_requests_total", {"code": "200"}) == 1
    assert registry.get_sample_value("omni_ingest_samples_total", {"outcome": "accepted"}) == 30


def test_json_and_gzip_requests_are_accepted_and_json_is_answered_in_json(chdb_store, queue_into, serve,
                                                                          make_gauge_batch, registry):
    queue = queue_into(chdb_store.writer())
    url = serve(create_ingest_app(queue, SMALL, registry=registry))
    as_json = _post(url, metrics_data_to_json(make_gauge_batch(5, batch=1)).encode(), {"Content-Type": "application/json"})
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    assert json.loads(as_json.content) == {}
    gzipped = _post(url, gzip.compress(encode_metrics_data(make_gauge_batch(7, batch=2)).SerializeToString()),
                    {"Content-Encoding": "gzip"})
    assert gzipped.status_code == 200
    deflated = _post(url, zlib.compress(encode_metrics_data(make_gauge_batch(3, batch=3)).SerializeToString()),
                     {"Content-Encoding": "deflate"})
    assert deflated.status_code == 200
    assert queue.force_flush(20_000)
    assert chdb_store.rows() == 15


def test_points_that_cannot_be_stored_are_reported_as_partial_success(chdb_store, queue_into, serve, make_gauge_batch,
                                                                      registry):
    queue = queue_into(chdb_store.writer())
    url = serve(create_ingest_app(queue, SMALL, registry=registry))
    request = encode_metrics_data(make_gauge_batch(4))
    bad = request.resource_metrics[0].scope_metrics[0].metrics.add(name="broken_histogram")
    point = bad.histogram.data_points.add(count=3, time_unix_nano=1)
    point.bucket_counts.extend([1, 2])  # two buckets need one bound; it has none
    response = _post(url, request.SerializeToString())
    assert response.status_code == 200
    answer = ExportMetricsServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_data_points == 1
    assert "broken_histogram" in answer.partial_success.error_message
    assert queue.force_flush(20_000)
    assert chdb_store.rows() == 4
    assert chdb_store.rows(MetricKind.HISTOGRAM) == 0
    assert registry.get_sample_value("omni_ingest_samples_total", {"outcome": "rejected"}) == 1


def _bomb() -> bytes:
    return gzip.compress(b"\0" * (8 * 1024 * 1024), compresslevel=9)


BAD_REQUESTS = [
    pytest.param(lambda good: good[: len(good) // 2 + 3], {}, 400, code_pb2.INVALID_ARGUMENT, "not an OTLP protobuf",
                 id="truncated-protobuf"),
    pytest.param(lambda good: good, {"Content-Type": "text/plain"}, 415, None, "not OTLP", id="wrong-content-type"),
    pytest.param(lambda good: good, {"Content-Encoding": "br"}, 415, code_pb2.INVALID_ARGUMENT, "Content-Encoding",
                 id="unsupported-encoding"),
    pytest.param(lambda good: b"\0" * (300 * 1024), {}, 413, code_pb2.RESOURCE_EXHAUSTED, "over the", id="huge-body"),
    pytest.param(lambda good: b"[" * 200_000, {"Content-Type": "application/json"}, 400, None, "levels deep",
                 id="deep-json"),
    pytest.param(lambda good: _bomb(), {"Content-Encoding": "gzip"}, 413, code_pb2.RESOURCE_EXHAUSTED,
                 "inflates to more than", id="gzip-bomb"),
    pytest.param(lambda good: gzip.compress(good)[:-12], {"Content-Encoding": "gzip"}, 400, code_pb2.INVALID_ARGUMENT,
                 "truncated", id="truncated-gzip"),
    pytest.param(lambda good: good, {"Authorization": "Bearer wrong"}, 401, code_pb2.UNAUTHENTICATED, "bearer token",
                 id="wrong-token"),
    pytest.param(lambda good: b"\x00garbage", {"Authorization": ""}, 401, code_pb2.UNAUTHENTICATED, "bearer token",
                 id="missing-token-and-bad-body"),
]


def test_bad_requests_get_their_status_and_lose_nothing_already_accepted(chdb_store, queue_into, serve,
                                                                          make_gauge_batch, registry):
    queue = queue_into(chdb_store.writer())
    options = IngestOptions(max_body_bytes=256 * 1024, max_decompressed_bytes=1024 * 1024, bearer_token=TOKEN)
    url = serve(create_ingest_app(queue, options, registry=registry))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    good = encode_metrics_data(make_gauge_batch(20, batch=0)).SerializeToString()
    assert _post(url, good, auth).status_code == 200

    for case in BAD_REQUESTS:
        make_body, headers, status, grpc_code, reason = case.values
        response = _post(url, make_body(good), {**auth, **headers})
        assert response.status_code == status, case.id
        if grpc_code is not None:
            body = _status(response)
            assert body.code == grpc_code and reason in body.message, case.id
        else:
            assert reason in json.loads(response.content)["message"], case.id
        if status == 401:
            assert response.headers["www-authenticate"] == "Bearer"

    later = encode_metrics_data(make_gauge_batch(20, batch=1)).SerializeToString()
    assert _post(url, later, auth).status_code == 200
    assert queue.force_flush(20_000)
    assert chdb_store.rows() == 40
    # Nothing from a refused request was decoded: only the two good requests count as samples.
    assert registry.get_sample_value("omni_ingest_samples_total", {"outcome": "accepted"}) == 40
    assert registry.get_sample_value("omni_ingest_requests_total", {"code": "401"}) == 2


def test_body_without_content_length_is_cut_off_at_the_bound(chdb_store, queue_into, serve, registry):
    queue = queue_into(chdb_store.writer())
    url = serve(create_ingest_app(queue, SMALL, registry=registry))
    sent = 0

    def chunks():
        nonlocal sent
        for _ in range(10_000):  # up to 640 MiB if nobody stopped reading
            sent += 64 * 1024
            yield b"\x0a" * (64 * 1024)

    try:
        response = httpx.post(f"{url}/v1/metrics", content=chunks(), headers=PROTOBUF, timeout=30)
        assert response.status_code == 413
    except httpx.TransportError:
        pass  # the server may answer and close while the client is still sending
    assert sent < 64 * 1024 * 1024
    assert httpx.post(f"{url}/v1/metrics", content=b"", headers=PROTOBUF, timeout=30).status_code == 200


def test_full_buffer_with_storage_down_answers_503_with_retry_after(refused_dsn, queue_into, serve, make_gauge_batch,
                                                                    registry, wait_for):
    down = ReconnectingWriter(lambda: ClickHouseWriter(connect(refused_dsn), SchemaOptions()))
    queue = queue_into(down, max_memory_points=25, retry=SLOW_RETRY)
    url = serve(create_ingest_app(queue, SMALL, registry=registry))
    assert _post(url, encode_metrics_data(make_gauge_batch(20, batch=0)).SerializeToString()).status_code == 200
    wait_for(lambda: not queue.sink_available, what="the first delivery attempt to fail")
    response = _post(url, encode_metrics_data(make_gauge_batch(20, batch=1)).SerializeToString())
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert _status(response).code == code_pb2.UNAVAILABLE
    # Refusing is the point: the accepted batch is still waiting, nothing was dropped.
    assert queue.status().pending_points == 20
    assert registry.get_sample_value("omni_exporter_samples_dropped_total", {"sink": "ingest", "reason": "queue_full"}) is None


def test_sink_without_a_queue_failing_answers_503(chdb_store, serve, make_gauge_batch, registry):
    failing = ClickHouseMetricExporter(ClickHouseWriter(chdb_store.client, SchemaOptions(database="no_such_database")))
    url = serve(create_ingest_app(failing, SMALL, registry=registry))
    response = _post(url, encode_metrics_data(make_gauge_batch(2)).SerializeToString())
    assert response.status_code == 503 and "retry-after" in response.headers


def test_metrics_endpoint_serves_the_ingest_counters(chdb_store, queue_into, serve, make_gauge_batch, registry):
    url = serve(create_ingest_app(queue_into(chdb_store.writer()), SMALL, registry=registry))
    _post(url, b"\xff", {"Content-Type": "text/plain"})
    text = httpx.get(f"{url}/metrics/", timeout=10).text
    assert 'omni_ingest_requests_total{code="415"} 1.0' in text


def test_metrics_endpoint_needs_the_token_when_one_is_set(chdb_store, queue_into, serve, registry):
    options = IngestOptions(bearer_token=TOKEN)
    url = serve(create_ingest_app(queue_into(chdb_store.writer()), options, registry=registry))
    refused = httpx.get(f"{url}/metrics/", timeout=10)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert "omni_ingest" not in refused.text
    assert httpx.get(f"{url}/metrics/", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    allowed = httpx.get(f"{url}/metrics/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert allowed.status_code == 200 and "omni_ingest_requests_total" in allowed.text


# ---- equivalence with the direct write ---------------------------------------------------


def _table_rows(store, options: SchemaOptions, kind: MetricKind) -> list[tuple]:
    rows = store.client.query(
        f"SELECT * FROM {qualified(options, kind)} ORDER BY MetricName, toString(Attributes), TimeUnix"
    ).result_rows
    return [tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in row) for row in rows]


def _assert_same_rows(store, other: SchemaOptions) -> int:
    total = 0
    for kind in MetricKind:
        ours = _table_rows(store, store.options, kind)
        assert ours == _table_rows(store, other, kind), kind
        total += len(ours)
    return total


def _direct_copy(store, metrics_data) -> SchemaOptions:
    options = SchemaOptions(database=f"{store.options.database}_direct")
    apply_schema(store.client, options)
    ClickHouseWriter(store.client, options).write(metrics_data)
    return options


def test_sdk_otlp_exporter_into_the_receiver_stores_what_a_direct_write_stores(chdb_store, queue_into, serve, registry):
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], resource=Resource({"service.name": "checkout"}))
    meter = provider.get_meter("shop", "2.1")
    meter.create_counter("orders", unit="1").add(3, {"region": "eu"})
    meter.create_histogram("latency", unit="ms").record(12.5, {"route": "/pay"})
    meter.create_up_down_counter("carts").add(-1)
    meter.create_gauge("temperature").set(21.5, {"room": "server"})
    data = reader.get_metrics_data()
    provider.shutdown()

    queue = queue_into(chdb_store.writer())
    url = serve(create_ingest_app(queue, SMALL, registry=registry))
    exporter = OTLPMetricExporter(endpoint=f"{url}/v1/metrics", timeout=10)
    try:
        assert exporter.export(data) is MetricExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert queue.force_flush(20_000)
    assert _assert_same_rows(chdb_store, _direct_copy(chdb_store, data)) == 4


def test_summaries_flags_and_exemplars_pushed_to_the_receiver_store_like_a_direct_write(chdb_store, queue_into, serve,
                                                                                        registry, metrics_data):
    queue = queue_into(chdb_store.writer())
    url = serve(create_ingest_app(queue, SMALL, registry=registry))
    exporter = OtlpHttpMetricExporter(endpoint=f"{url}/v1/metrics", timeout=10)
    try:
        assert exporter.export(metrics_data) is MetricExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert queue.force_flush(20_000)
    assert _assert_same_rows(chdb_store, _direct_copy(chdb_store, metrics_data)) == 12
    assert chdb_store.rows(MetricKind.SUMMARY) == 2
