"""The OTLP/HTTP receiver: ``POST /v1/metrics`` and ``POST /v1/logs`` into the sinks it is given.

Both routes behave the same; they differ only in message types and decoder (see
``_signals.py``), and ``/v1/logs`` is served only when a logs sink is given.

Answers follow the OTLP/HTTP specification: 200 with an ``ExportMetricsServiceResponse``
(``partial_success`` counting rejected points or log records), 400 for a body that cannot be decoded, 401
without the configured bearer token, 408 for a body not complete within the read deadline,
413 over the size bounds (naming the bound), 415 for other media types or encodings, 429
when too busy or the buffer is full, 503 when storage is down; error bodies are a
``google.rpc.Status`` in the request's own encoding, and 429/503 carry ``Retry-After``.

The order of checks is the order of cost: token, media type, declared length, reading
(under a deadline, holding no slot), then, holding one of ``max_concurrent_requests``
slots, inflating with the JSON depth scan, counting points, decoding, and offering to the
sink. Nothing is answered 200 that the sink has not admitted: an :class:`AdmittingSink` is
asked with ``offer`` (``durable`` when configured), and an SDK ``MetricExporter`` must have
returned SUCCESS from ``export``.
"""

from __future__ import annotations

import hmac
import logging
import math
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult
from prometheus_client import CollectorRegistry, make_asgi_app
from starlette.concurrency import run_in_threadpool

from omni_core.admission import Admission, AdmittingSink
from omni_core.errors import ClientGone, IngestBusy, IngestError, IngestOverloaded, PayloadTooLarge, Unauthorized

from ._metrics import ReceiverMetrics
from ._options import IngestOptions
from ._payload import PayloadFormat, check_declared_length, check_encoding, inflate, payload_format, read_body
from ._signals import LOGS, LOGS_PATH, METRICS, METRICS_PATH, Received, Signal

__all__ = ["LOGS_PATH", "METRICS_PATH", "IngestSink", "LogsIngestSink", "create_ingest_app"]

_log = logging.getLogger(__name__)

#: What the receiver hands decoded metric batches to.
IngestSink = AdmittingSink | MetricExporter
#: What it hands decoded log record batches (lists of SDK ``ReadableLogRecord``) to.
LogsIngestSink = AdmittingSink | LogRecordExporter
_SUCCESS = (MetricExportResult.SUCCESS, LogRecordExportResult.SUCCESS)

_MEDIA_TYPES = {"protobuf": "application/x-protobuf", "json": "application/json"}
_GRPC_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    408: code_pb2.DEADLINE_EXCEEDED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    503: code_pb2.UNAVAILABLE,
}


@dataclass
class _Gate:
    """Requests being decoded or offered (one event loop, so a plain counter suffices)."""

    limit: int
    active: int = 0


@dataclass
class _ReadBudget:
    """Bytes reserved by bodies being read, so concurrent uploads stay within one memory bound."""

    limit: int
    reserved: int = 0


def create_ingest_app(
    sink: IngestSink,
    options: IngestOptions = IngestOptions(),
    *,
    registry: CollectorRegistry | None = None,
    logs_sink: LogsIngestSink | None = None,
) -> FastAPI:
    """An ASGI app receiving OTLP/HTTP metrics into ``sink`` and, given ``logs_sink``, logs into
    that; serve it with any ASGI server. Without ``logs_sink``, ``/v1/logs`` is not found (404).

    The app does not own the sinks: whoever created them shuts them down after the server stopped.
    """
    metrics = ReceiverMetrics.for_registry(registry)
    gate = _Gate(options.max_concurrent_requests)
    reading = _ReadBudget(max(options.max_reading_bytes, options.max_body_bytes))
    token = options.bearer_token.strip().encode() if options.bearer_token else None
    app = FastAPI(title="omni-telemetry OTLP receiver", docs_url=None, redoc_url=None, openapi_url=None)

    async def receive(request: Request, signal: Signal, signal_sink: Any) -> Response:
        fmt = _answer_format(request.headers.get("content-type"))
        try:
            _check_token(request.headers.get("authorization"), token)
            fmt = payload_format(request.headers.get("content-type"))
            encoding = check_encoding(request.headers.get("content-encoding"))
            declared = check_declared_length(request.headers.get("content-length"), options.max_body_bytes)
            reservation = options.max_body_bytes if declared is None else declared
            if reading.reserved + reservation > reading.limit:
                raise IngestBusy(f"{reading.reserved} bytes of request bodies are being read; retry later",
                                 retry_after=options.retry_after_s)
            reading.reserved += reservation
            try:
                body = await read_body(request.receive, options.max_body_bytes, options.body_read_timeout_s)
            finally:
                reading.reserved -= reservation
            if gate.active >= gate.limit:
                raise IngestBusy(f"{gate.active} requests in progress; retry later", retry_after=options.retry_after_s)
            gate.active += 1
            try:
                decoded = await run_in_threadpool(_decode, signal, body, encoding, fmt, options)
                del body
                await _deliver(signal_sink, signal, decoded, options)
            finally:
                gate.active -= 1
        except ClientGone as exc:
            # Nobody is left to answer; one line, no traceback.
            metrics.requests.labels("client_gone").inc()
            _log.info("OTLP request abandoned by the client: %s", exc)
            return Response(status_code=400)
        except IngestError as exc:
            return _error(exc, fmt, metrics)
        counted = metrics.samples if signal is METRICS else metrics.log_records
        counted.labels("accepted").inc(decoded.accepted)
        counted.labels("rejected").inc(decoded.rejected)
        metrics.requests.labels("200").inc()
        return _message_response(signal.answer(decoded), 200, fmt)

    @app.post(METRICS_PATH)
    async def receive_metrics(request: Request) -> Response:
        return await receive(request, METRICS, sink)

    if logs_sink is not None:
        @app.post(LOGS_PATH)
        async def receive_logs(request: Request) -> Response:
            return await receive(request, LOGS, logs_sink)

    if options.serve_metrics:
        app.mount("/metrics", _behind_token(make_asgi_app(registry=registry) if registry is not None
                                            else make_asgi_app(), token))
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


def _behind_token(inner: Any, token: bytes | None) -> Any:
    """``inner`` (the ``/metrics`` app) answered only with the receiver's bearer token, when one is set."""
    if token is None:
        return inner

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            try:
                _check_token(headers.get(b"authorization", b"").decode("latin-1"), token)
            except Unauthorized as exc:
                body = str(exc).encode()
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await inner(scope, receive, send)

    return guarded


def _decode(signal: Signal, body: bytes, encoding: str, fmt: PayloadFormat, options: IngestOptions) -> Received:
    inflated = inflate(body, encoding, options.max_decompressed_bytes,
                       json_depth=options.max_json_depth if fmt == "json" else None)
    request = signal.parse(inflated, fmt, max_json_depth=options.max_json_depth)
    del inflated
    if options.max_request_points is not None:
        items = signal.count(request)
        if items > options.max_request_points:
            raise PayloadTooLarge(
                f"{items} {signal.unit} in one request, more than the {options.max_request_points} the receive "
                "buffer holds (queue_max_samples); send smaller batches"
            )
    return signal.decode(request)


async def _deliver(sink: Any, signal: Signal, decoded: Received, options: IngestOptions) -> None:
    """Hand the batch to ``sink``; raise the refusal to answer when it was not admitted."""
    if decoded.accepted == 0:
        return
    if isinstance(sink, AdmittingSink):
        answer = await run_in_threadpool(
            lambda: sink.offer(decoded.batch, durable=options.durable_ack, timeout_s=options.offer_timeout_s)
        )
        if answer.accepted:
            return
        retry_after = answer.retry_after_s if answer.retry_after_s is not None else options.retry_after_s
        detail = answer.detail or answer.admission.value
        if answer.admission is Admission.TOO_LARGE:
            raise PayloadTooLarge(f"{decoded.accepted} {signal.unit} do not fit the receive buffer "
                                  f"({detail}); send smaller batches")
        if answer.admission is Admission.BUSY:
            raise IngestBusy(f"{detail}; retry later", retry_after=retry_after)
        raise IngestOverloaded(f"{detail}; retry later", retry_after=retry_after)
    result = await run_in_threadpool(sink.export, decoded.batch)
    if result not in _SUCCESS:
        raise IngestOverloaded("storage did not accept the batch; retry later", retry_after=options.retry_after_s)


def _error(exc: IngestError, fmt: PayloadFormat, metrics: ReceiverMetrics) -> Response:
    status = exc.status_code
    metrics.requests.labels(str(status)).inc()
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
    # The body may be unread (refused on its headers, or cut off at the bound or the deadline):
    # closing the connection stops the client from streaming the rest at us.
    response.headers["Connection"] = "close"
    return response


def _message_response(message: Any, status: int, fmt: PayloadFormat) -> Response:
    if fmt == "json":
        body = json_format.MessageToJson(message, indent=None, use_integers_for_enums=True).encode()
    else:
        body = message.SerializeToString()
    return Response(content=body, status_code=status, media_type=_MEDIA_TYPES[fmt])
