"""From an HTTP request to an OTLP request message, never holding more than the bounds allow.

Every step refuses early: the declared length before reading, the running length and a
deadline while reading, the inflated length while inflating (chunk by chunk, so a gzip bomb
stops at the bound instead of filling memory), the JSON nesting while inflating (so a bomb of
``[`` stops within its first chunk), and the number of points before converting them.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Literal

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from omni_core.errors import BodyTimeout, ClientGone, MalformedPayload, PayloadTooLarge, UnsupportedContentType

from ._json import JsonDepthScanner

__all__ = [
    "PayloadFormat",
    "check_declared_length",
    "check_encoding",
    "count_request_points",
    "inflate",
    "payload_format",
    "read_body",
]

PayloadFormat = Literal["protobuf", "json"]

#: Inflated bytes handed to the depth scanner at a time: small enough to refuse a bomb at once.
_CHUNK = 64 * 1024

_FORMATS: dict[str, PayloadFormat] = {
    "application/x-protobuf": "protobuf",
    "application/protobuf": "protobuf",
    "application/json": "json",
}
_ENCODINGS = ("", "identity", "gzip", "deflate")


def payload_format(content_type: str | None) -> PayloadFormat:
    """The OTLP encoding a ``Content-Type`` names; :class:`UnsupportedContentType` otherwise."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        return _FORMATS[media_type]
    except KeyError:
        raise UnsupportedContentType(
            f"Content-Type {media_type or '(none)'!r} is not OTLP; send application/x-protobuf or application/json"
        ) from None


def check_encoding(content_encoding: str | None) -> str:
    encoding = (content_encoding or "").strip().lower()
    if encoding not in _ENCODINGS:
        raise UnsupportedContentType(f"Content-Encoding {encoding!r} is not supported; use gzip, deflate or none")
    return encoding


def check_declared_length(content_length: str | None, limit: int) -> int | None:
    """The declared body length; a body over ``limit`` is refused before a byte of it is read (413 naming the limit)."""
    if content_length is None:
        return None
    try:
        declared = int(content_length)
    except ValueError:
        raise MalformedPayload(f"Content-Length {content_length[:40]!r} is not a number") from None
    if declared > limit:
        raise PayloadTooLarge(f"body of {declared} bytes is over the {limit}-byte limit "
                              f"(ingest max_body_bytes); send smaller batches")
    if declared < 0:
        raise MalformedPayload(f"Content-Length {declared} is negative")
    return declared


async def read_body(receive: Callable[[], Awaitable[dict[str, Any]]], limit: int, timeout_s: float) -> bytes:
    """The request body from the ASGI ``receive`` channel, within ``limit`` bytes and ``timeout_s``.

    The deadline covers the whole body, not each read, so a client trickling a byte at a
    time cannot hold the connection (:class:`BodyTimeout`, answered 408). A client that goes
    away mid-body raises :class:`ClientGone`.
    """
    deadline = time.monotonic() + timeout_s
    body = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BodyTimeout(f"the body was not complete within {timeout_s:g} s "
                              f"(ingest body_read_timeout_s); {len(body)} bytes arrived")
        try:
            message = await asyncio.wait_for(receive(), remaining)
        except asyncio.TimeoutError:
            raise BodyTimeout(f"the body was not complete within {timeout_s:g} s "
                              f"(ingest body_read_timeout_s); {len(body)} bytes arrived") from None
        if message["type"] == "http.disconnect":
            raise ClientGone(f"client went away after {len(body)} bytes of the body")
        body += message.get("body", b"")
        if len(body) > limit:
            raise PayloadTooLarge(f"body is over the {limit}-byte limit (ingest max_body_bytes); send smaller batches")
        if not message.get("more_body", False):
            return bytes(body)


def inflate(body: bytes, encoding: str, limit: int, *, json_depth: int | None = None) -> bytes:
    """``body`` decompressed per ``Content-Encoding``, refusing output beyond ``limit`` bytes.

    With ``json_depth``, every chunk is depth-scanned as it comes out, so nesting beyond the
    bound is refused before the rest is inflated.
    """
    scanner = JsonDepthScanner(json_depth) if json_depth is not None else None
    if encoding in ("", "identity"):
        if scanner is not None:
            view = memoryview(body)
            for start in range(0, len(body), _CHUNK):
                scanner.feed(bytes(view[start:start + _CHUNK]))
        return body
    out = bytearray()
    for chunk in _inflated_chunks(body, encoding, limit):
        if scanner is not None:
            scanner.feed(chunk)
        out += chunk
    return bytes(out)


def _inflated_chunks(body: bytes, encoding: str, limit: int) -> Iterator[bytes]:
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    total = 0
    pending = body
    too_large = PayloadTooLarge(f"body inflates to more than {limit} bytes (ingest max_decompressed_bytes); "
                                "send smaller batches")
    try:
        while True:
            inflater = zlib.decompressobj(wbits)
            while pending:
                chunk = inflater.decompress(pending, _CHUNK)
                pending = inflater.unconsumed_tail
                total += len(chunk)
                if total > limit:
                    raise too_large
                if chunk:
                    yield chunk
                elif inflater.eof:
                    break
            tail = inflater.flush()
            total += len(tail)
            if total > limit:
                raise too_large
            if tail:
                yield tail
            if not inflater.eof:
                raise MalformedPayload(f"{encoding} body is truncated")
            # gzip allows several members back to back; anything else after the end is an error.
            pending = inflater.unused_data
            if not pending:
                return
            if encoding != "gzip":
                raise MalformedPayload(f"{len(pending)} bytes of garbage after the {encoding} stream")
    except zlib.error as exc:
        raise MalformedPayload(f"{encoding} body cannot be decompressed: {exc}") from None


def count_request_points(request: ExportMetricsServiceRequest) -> int:
    """Data points in ``request`` without converting any: cheap enough to run before decoding."""
    total = 0
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is not None:
                    total += len(getattr(metric, kind).data_points)
    return total
