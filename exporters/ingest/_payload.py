"""From an HTTP request to an OTLP request message, never holding more than the bounds allow.

Every step refuses early: the declared length before reading, the running length while
reading, the inflated length while inflating (chunk by chunk, so a gzip bomb stops at the
bound instead of filling memory), the JSON nesting before parsing.
"""

from __future__ import annotations

import zlib
from typing import AsyncIterator, Literal

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from omni_core.errors import MalformedPayload, PayloadTooLarge, UnsupportedContentType

from ..otlp import parse_json_request

__all__ = [
    "PayloadFormat",
    "check_declared_length",
    "check_encoding",
    "inflate",
    "parse_request",
    "payload_format",
    "read_bounded",
]

PayloadFormat = Literal["protobuf", "json"]

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


def check_declared_length(content_length: str | None, limit: int) -> None:
    if content_length is None:
        return
    try:
        declared = int(content_length)
    except ValueError:
        raise MalformedPayload(f"Content-Length {content_length[:40]!r} is not a number") from None
    if declared > limit:
        raise PayloadTooLarge(f"body of {declared} bytes is over the {limit}-byte limit; send smaller batches")


async def read_bounded(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """Concatenate ``chunks``, stopping with :class:`PayloadTooLarge` as soon as ``limit`` is passed."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"body is over the {limit}-byte limit; send smaller batches")
    return bytes(body)


def inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` decompressed per ``Content-Encoding``, refusing output beyond ``limit`` bytes."""
    if encoding in ("", "identity"):
        return body
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    out = bytearray()
    pending = body
    try:
        while True:
            inflater = zlib.decompressobj(wbits)
            while pending:
                out += inflater.decompress(pending, limit + 1 - len(out))
                if len(out) > limit:
                    raise PayloadTooLarge(
                        f"body inflates to more than {limit} bytes; send smaller batches"
                    )
                pending = inflater.unconsumed_tail
            out += inflater.flush()
            if len(out) > limit:
                raise PayloadTooLarge(f"body inflates to more than {limit} bytes; send smaller batches")
            if not inflater.eof:
                raise MalformedPayload(f"{encoding} body is truncated")
            # gzip allows several members back to back; anything else after the end is an error.
            pending = inflater.unused_data
            if not pending:
                return bytes(out)
            if encoding != "gzip":
                raise MalformedPayload(f"{len(pending)} bytes of garbage after the {encoding} stream")
    except zlib.error as exc:
        raise MalformedPayload(f"{encoding} body cannot be decompressed: {exc}") from None


def parse_request(body: bytes, fmt: PayloadFormat, *, max_json_depth: int) -> ExportMetricsServiceRequest:
    if fmt == "json":
        return parse_json_request(body, max_depth=max_json_depth)
    try:
        return ExportMetricsServiceRequest.FromString(body)
    except (DecodeError, RecursionError) as exc:
        raise MalformedPayload(f"body is not an OTLP protobuf ExportMetricsServiceRequest: {exc}") from None
