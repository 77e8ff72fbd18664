"""Push ``MetricsData`` to any OTLP receiver over HTTP/protobuf or gRPC.

The SDK's exporters do the transport (TLS, headers, compression, their own short retry
within ``timeout``); only their translation step is replaced by :func:`encode_metrics_data`,
because theirs drops summaries and data point flags. Everything is configured from
:class:`OtlpPushOptions` so that no ``OTEL_EXPORTER_OTLP_*`` variable changes behaviour
behind the settings' back (the SDK only falls back to those when an argument is missing).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping
from urllib.parse import urlparse

import grpc
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as _SdkGrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as _SdkHttpExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from omni_core.errors import ConfigError

from ._encode import encode_metrics_data

__all__ = [
    "OtlpGrpcMetricExporter",
    "OtlpHttpMetricExporter",
    "OtlpPushOptions",
    "create_push_exporter",
]

_log = logging.getLogger(__name__)

Protocol = Literal["http/protobuf", "http", "grpc"]


@dataclass(frozen=True)
class OtlpPushOptions:
    """Where and how to push.

    ``protocol``: ``http/protobuf`` (or just ``http``) or ``grpc``.
    ``endpoint``: for HTTP a URL; ``/v1/metrics`` is appended when it has no path.
    For ``grpc`` ``host:port`` or ``http(s)://host:port``; ``http://`` (or ``insecure``) means
    plaintext. ``ca_file`` verifies the server; ``client_cert_file`` + ``client_key_file`` are
    for mutual TLS.
    """

    endpoint: str
    protocol: Protocol = "http/protobuf"
    headers: Mapping[str, str] = field(default_factory=dict)
    compression: Literal["gzip", "none"] = "gzip"
    timeout_s: float = 10.0
    ca_file: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    insecure: bool = False

    def __post_init__(self) -> None:
        if self.protocol not in ("http/protobuf", "http", "grpc"):
            raise ConfigError(f"unknown protocol {self.protocol!r}; use 'http/protobuf' or 'grpc'", field="otlp_protocol")
        if self.compression not in ("gzip", "none"):
            raise ConfigError(f"unknown compression {self.compression!r}; use 'gzip' or 'none'", field="otlp_compression")
        if not self.endpoint:
            raise ConfigError("an OTLP endpoint is required, e.g. http://collector:4318", field="otlp_endpoint")
        if self.timeout_s <= 0:
            raise ConfigError(f"timeout must be positive, got {self.timeout_s}", field="otlp_timeout_s")
        if bool(self.client_cert_file) != bool(self.client_key_file):
            raise ConfigError("otlp_client_cert_file and otlp_client_key_file go together (mutual TLS); set both or neither", field="otlp_client_cert_file")


class OtlpHttpMetricExporter(_SdkHttpExporter):
    """The SDK's OTLP/HTTP exporter, encoding with :func:`encode_metrics_data`."""

    def export(self, metrics_data: MetricsData, timeout_millis: float | None = 10_000, **kwargs: Any) -> MetricExportResult:
        if self._shutdown:
            _log.warning("OTLP/HTTP exporter already shut down; batch not sent")
            return MetricExportResult.FAILURE
        try:
            request = encode_metrics_data(metrics_data)
        except Exception:  # noqa: BLE001 - a bad batch must not kill the caller's thread
            _log.exception("cannot encode metrics batch for OTLP push")
            return MetricExportResult.FAILURE
        return self._export_batch(request)


class OtlpGrpcMetricExporter(_SdkGrpcExporter):
    """The SDK's OTLP/gRPC exporter, encoding with :func:`encode_metrics_data`."""

    def _translate_data(self, data: MetricsData) -> ExportMetricsServiceRequest:  # type: ignore[override]
        return encode_metrics_data(data)


def create_push_exporter(options: OtlpPushOptions) -> MetricExporter:
    """An exporter pushing to ``options.endpoint``; raises :class:`ConfigError` for unreadable TLS files."""
    if options.protocol == "grpc":
        return _grpc_exporter(options)
    return OtlpHttpMetricExporter(
        endpoint=_http_endpoint(options.endpoint),
        certificate_file=options.ca_file,
        client_certificate_file=options.client_cert_file,
        client_key_file=options.client_key_file,
        headers=dict(options.headers),
        timeout=options.timeout_s,
        compression=HttpCompression.Gzip if options.compression == "gzip" else HttpCompression.NoCompression,
    )


def _grpc_exporter(options: OtlpPushOptions) -> OtlpGrpcMetricExporter:
    scheme = urlparse(options.endpoint).scheme if "://" in options.endpoint else ""
    insecure = options.insecure or scheme == "http"
    credentials = None
    if not insecure:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(options.ca_file, "otlp_ca_file"),
            private_key=_read(options.client_key_file, "otlp_client_key_file"),
            certificate_chain=_read(options.client_cert_file, "otlp_client_cert_file"),
        )
    return OtlpGrpcMetricExporter(
        endpoint=options.endpoint,
        insecure=insecure,
        credentials=credentials,
        headers=tuple((k.lower(), v) for k, v in options.headers.items()),
        timeout=options.timeout_s,
        compression=grpc.Compression.Gzip if options.compression == "gzip" else grpc.Compression.NoCompression,
    )


def _http_endpoint(endpoint: str) -> str:
    parsed = urlparse(endpoint)
    if parsed.scheme not in ("http", "https"):
        raise ConfigError(f"OTLP/HTTP endpoint {endpoint!r} must start with http:// or https://", field="otlp_endpoint")
    if parsed.path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/metrics"
    return endpoint


def _read(path: str | None, field_name: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", field=field_name) from None
