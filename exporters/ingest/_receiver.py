"""The OTLP/HTTP metrics receiver: ``POST /v1/metrics`` into the same sink as the collectors.

Answers follow the OTLP/HTTP specification: 200 with an ``ExportMetricsServiceResponse``
(``partial_success`` counting rejected points), 400 for a body that cannot be decoded, 401
without the configured bearer token, 413 over the size bounds, 415 for other media types or
encodings, 429 when too busy or the buffer is full, 503 when storage is down; error bodies
are a ``google.rpc.Status`` in the request's own encoding, and 429/503 carry ``Retry-After``.

The order of checks is the order of cost: token, media type, declared length, then reading,
inflating and decoding, so a client without the token never gets its body read.
"""

from __future__ import annotations

import hmac
import logging
import math
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.sdk.metrics.export import MetricExportResult, MetricsData
from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool

from omni_core.admission import Admission, AdmittingSink
from omni_core.errors import IngestBusy, IngestError, IngestOverloaded, Unauthorized

from .._selfmetrics import ExporterMetrics, metrics_asgi_app
from ..otlp import DecodedRequest, decode_request_report
from ._payload import (
    PayloadFormat,
    check_declared_length,
    check_encoding,
    inflate,
    parse_request,
    payload_format,
    read_bounded,
)
from ._settings import IngestSettings

__all__ = ["METRICS_PATH", "IngestSink", "create_ingest_app"]

_log = logging.getLogger(__name__)

METRICS_PATH = "/v1/metrics"

_MEDIA_TYPES = {"protobuf": "application/x-protobuf", "json": "application/json"}
_GRPC_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    503: code_pb2.UNAVAILABLE,
}


class IngestSink(Protocol):
    """Anything with an SDK exporter's ``export``; a delivery queue also offers ``offer``."""

    def export(self, metrics_data: MetricsData, timeout_millis: float = ..., **kwargs: Any) -> MetricExportResult: ...


@dataclass
class _Gate:
    """Requests currently being read or decoded (one event loop, so a plain counter suffices)."""

    limit: int
    active: int = 0


def create_ingest_app(
    sink: IngestSink,
    settings: IngestSettings = IngestSettings(),
    *,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """An ASGI app receiving OTLP/HTTP metrics into ``sink``; mount it anywhere.

    When ``sink`` has ``offer`` (a :class:`~exporters.delivery.DeliveryQueue`), a full
    buffer is answered with 429, or 503 while the sink is down, and nothing is dropped;
    otherwise ``export`` is called and its FAILURE answered with 503. The app does not own
    the sink: whoever created it shuts it down (see :func:`~exporters.ingest.run_ingest`).
    """
    metrics = ExporterMetrics.for_registry(registry)
    gate = _Gate(settings.max_concurrent_requests)
    token = settings.bearer_token.strip().encode() if settings.bearer_token else None
    app = FastAPI(title="omni-telemetry OTLP receiver", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post(METRICS_PATH)
    async def receive_metrics(request: Request) -> Response:
        fmt = _answer_format(request.headers.get("content-type"))
        try:
            _check_token(request.headers.get("authorization"), token)
            fmt = payload_format(request.headers.get("content-type"))
            encoding = check_encoding(request.headers.get("content-encoding"))
            check_declared_length(request.headers.get("content-length"), settings.max_body_bytes)
            if gate.active >= gate.limit:
                raise IngestBusy(f"{gate.active} requests in progress; retry later", retry_after=settings.retry_after_s)
            gate.active += 1
            try:
                body = await read_bounded(request.stream(), settings.max_body_bytes)
                decoded = await run_in_threadpool(_decode, body, encoding, fmt, settings)
            finally:
                gate.active -= 1
            await _deliver(sink, decoded, settings)
        except IngestError as exc:
            return _error(exc, fmt, metrics)
        metrics.ingest_samples.labels("accepted").inc(decoded.accepted_data_points)
        metrics.ingest_samples.labels("rejected").inc(decoded.rejected_data_points)
        metrics.ingest_requests.labels("200").inc()
        return _success(decoded, fmt)

    if settings.serve_metrics:
        app.mount("/metrics", metrics_asgi_app(registry))
    return app


def _answer_format(content_type: str | None) -> PayloadFormat:
    """The encoding to answer in, before the request has been validated: protobuf when it claims to be."""
    return "protobuf" if "protobuf" in (content_type or "").lower() else "json"


def _check_token(authorization: str | None, token: bytes | None) -> None:
    if token is None:
        return
    scheme, _, presented = (authorization or "").partition(" ")
    # Compare even when the scheme is wrong, so timing says nothing about which part failed.
    matches = hmac.compare_digest(presented.strip().encode(), token)
    if not (matches and scheme.lower() == "bearer"):
        raise Unauthorized("missing or wrong bearer token; send 'Authorization: Bearer <token>'")


def _decode(body: bytes, encoding: str, fmt: PayloadFormat, settings: IngestSettings) -> DecodedRequest:
    inflated = inflate(body, encoding, settings.max_decompressed_bytes)
    return decode_request_report(parse_request(inflated, fmt, max_json_depth=settings.max_json_depth))


async def _deliver(sink: IngestSink, decoded: DecodedRequest, settings: IngestSettings) -> None:
    if decoded.accepted_data_points == 0:
        return
    if isinstance(sink, AdmittingSink):
        answer = await run_in_threadpool(sink.offer, decoded.metrics_data)
        if answer.accepted:
            return
        retry_after = answer.retry_after_s if answer.retry_after_s is not None else settings.retry_after_s
        if answer.admission is Admission.BUSY:
            raise IngestBusy(f"{answer.detail}; retry later", retry_after=retry_after)
        raise IngestOverloaded(f"{answer.detail}; retry later", retry_after=retry_after)
    result = await run_in_threadpool(sink.export, decoded.metrics_data)
    if result is not MetricExportResult.SUCCESS:
        raise IngestOverloaded("storage did not accept the batch; retry later", retry_after=settings.retry_after_s)


def _success(decoded: DecodedRequest, fmt: PayloadFormat) -> Response:
    answer = ExportMetricsServiceResponse()
    if decoded.rejected_data_points or decoded.reasons:
        answer.partial_success.rejected_data_points = decoded.rejected_data_points
        answer.partial_success.error_message = decoded.error_message
    return _message_response(answer, 200, fmt)


def _error(exc: IngestError, fmt: PayloadFormat, metrics: ExporterMetrics) -> Response:
    status = exc.status_code
    metrics.ingest_requests.labels(str(status)).inc()
    if status >= 500:
        _log.warning("OTLP request refused (%d): %s", status, exc)
    else:
        _log.info("OTLP request refused (%d): %s", status, exc)
    response = _message_response(status_pb2.Status(code=_GRPC_CODES.get(status, code_pb2.UNKNOWN), message=str(exc)),
                                 status, fmt)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    # The body may be unread (refused on its headers, or cut off at the bound): closing the
    # connection stops the client from streaming the rest at us.
    response.headers["Connection"] = "close"
    return response


def _message_response(message: Any, status: int, fmt: PayloadFormat) -> Response:
    if fmt == "json":
        body = json_format.MessageToJson(message, indent=None, use_integers_for_enums=True).encode()
    else:
        body = message.SerializeToString()
    return Response(content=body, status_code=status, media_type=_MEDIA_TYPES[fmt])
