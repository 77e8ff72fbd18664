from __future__ import annotations

import gzip
import socket
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import grpc
import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.sdk.metrics.export import MetricExportResult

from exporters.otlp import OtlpGrpcMetricExporter, OtlpHttpMetricExporter, OtlpPushOptions, create_push_exporter
from omni_core.otlp_decode import decode_request
from omni_core.errors import ConfigError


class _Received:
    def __init__(self) -> None:
        self.requests: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self.headers: list[dict[str, str]] = []


@pytest.fixture
def http_receiver() -> Iterator[tuple[str, _Received]]:
    received = _Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.headers.append({k.lower(): v for k, v in self.headers.items()})
            received.requests.append(metrics_service_pb2.ExportMetricsServiceRequest.FromString(body))
            answer = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def grpc_receiver() -> Iterator[tuple[int, _Received]]:
    received = _Received()

    class Servicer(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request, context):  # noqa: N802 - generated name
            received.requests.append(request)
            received.headers.append(dict(context.invocation_metadata()))
            return metrics_service_pb2.ExportMetricsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port, received
    finally:
        server.stop(grace=None)


def test_http_push_delivers_timestamps_summaries_and_flags(http_receiver, metrics_data, as_comparable):
    url, received = http_receiver
    exporter = create_push_exporter(
        OtlpPushOptions(endpoint=url, headers={"Authorization": "Bearer s3cret"}, compression="gzip", timeout_s=5)
    )
    assert isinstance(exporter, OtlpHttpMetricExporter)
    try:
        assert exporter.export(metrics_data) is MetricExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert len(received.requests) == 1
    assert received.headers[0]["authorization"] == "Bearer s3cret"
    assert received.headers[0]["content-encoding"] == "gzip"
    assert as_comparable(decode_request(received.requests[0])) == as_comparable(metrics_data)


def test_grpc_push_delivers_timestamps_summaries_and_flags(grpc_receiver, metrics_data, as_comparable):
    port, received = grpc_receiver
    exporter = create_push_exporter(
        OtlpPushOptions(endpoint=f"http://127.0.0.1:{port}", protocol="grpc", headers={"X-Tenant": "lab"}, timeout_s=5)
    )
    assert isinstance(exporter, OtlpGrpcMetricExporter)
    try:
        assert exporter.export(metrics_data) is MetricExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert len(received.requests) == 1
    assert received.headers[0]["x-tenant"] == "lab"
    assert as_comparable(decode_request(received.requests[0])) == as_comparable(metrics_data)


def test_http_push_to_a_closed_port_fails_without_raising(metrics_data):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exporter = create_push_exporter(OtlpPushOptions(endpoint=f"http://127.0.0.1:{port}", timeout_s=0.5))
    try:
        assert exporter.export(metrics_data) is MetricExportResult.FAILURE
    finally:
        exporter.shutdown()


def test_http_endpoint_without_path_gets_the_metrics_path():
    exporter = create_push_exporter(OtlpPushOptions(endpoint="http://collector:4318"))
    try:
        assert exporter._endpoint == "http://collector:4318/v1/metrics"
    finally:
        exporter.shutdown()


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"endpoint": "collector:4318"}, "otlp_endpoint"),
        ({"endpoint": "http://c", "protocol": "thrift"}, "otlp_protocol"),
        ({"endpoint": "http://c", "compression": "zstd"}, "otlp_compression"),
        ({"endpoint": "http://c", "client_cert_file": "/tls/crt"}, "otlp_client_cert_file"),
        ({"endpoint": "https://c:4317", "protocol": "grpc", "ca_file": "/nonexistent/ca.pem"}, "otlp_ca_file"),
    ],
)
def test_bad_push_settings_name_the_field(kwargs, field):
    with pytest.raises(ConfigError) as info:
        create_push_exporter(OtlpPushOptions(**kwargs))
    assert info.value.field == field
