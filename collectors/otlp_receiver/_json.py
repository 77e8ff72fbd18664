"""OTLP/JSON -> ``ExportMetricsServiceRequest`` / ``ExportLogsServiceRequest``, with nesting checked before ``json.loads``.

Why a scanner of its own: ``json.loads`` recurses once per ``[``/``{``, so a body of
ten thousand ``[`` would crash it, and finding the depth by tokenising the whole text first
costs memory proportional to the body (a gzip bomb of ``[`` made that check itself the
attack). :class:`JsonDepthScanner` is fed the body chunk by chunk as it is inflated, keeps
only a depth, an in-string flag and a pending-escape flag between chunks, and refuses as
soon as the nesting passes the bound, usually within the first chunk.

Scanning bytes is exact for UTF-8: the bytes of ``"``, ``\\``, brackets and braces never occur
inside a multi-byte character.
"""

from __future__ import annotations

import base64
import json
import re
from itertools import accumulate

from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from omni_core.errors import MalformedPayload
from omni_core.otlp_json import convert_exemplar_ids

__all__ = ["DEFAULT_MAX_JSON_DEPTH", "JsonDepthScanner", "json_depth", "parse_json_logs_request", "parse_json_request"]

#: A valid OTLP metrics document nests about 12 levels (more with nested attribute values).
DEFAULT_MAX_JSON_DEPTH = 64

#: A whole string, a bracket, or a quote whose string does not end within this chunk.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]|"', re.DOTALL)
#: The rest of a string begun in an earlier chunk, up to and including its closing quote.
_STRING_REST = re.compile(rb'(?:[^"\\]|\\.)*"', re.DOTALL)
_STEP = {b"[": 1, b"{": 1, b"]": -1, b"}": -1}
_LONE_QUOTE = b'"'


class JsonDepthScanner:
    """Tracks ``[``/``{`` nesting of a JSON text fed in chunks, in constant memory.

    :meth:`feed` raises :class:`MalformedPayload` as soon as the nesting passes ``max_depth``.
    Brackets inside strings (escaped quotes included) do not count.
    """

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.depth = 0
        self.deepest = 0
        self._in_string = False
        self._escape_pending = False

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        pos = 0
        if self._in_string:
            if self._escape_pending:
                pos, self._escape_pending = 1, False
            end = _STRING_REST.match(chunk, pos)
            if end is None:
                self._escape_pending = _ends_in_escape(chunk, pos)
                return
            pos, self._in_string = end.end(), False
        tokens = _TOKEN.findall(chunk, pos)
        if _LONE_QUOTE in tokens:
            # A string starts here and runs past the chunk: what follows its quote is string.
            tokens = tokens[: tokens.index(_LONE_QUOTE)]
            self._in_string = True
            self._escape_pending = _ends_in_escape(chunk, 0)
        steps = [_STEP[token] for token in tokens if len(token) == 1]
        if not steps:
            return
        depths = list(accumulate(steps, initial=self.depth))
        self.depth = depths[-1]
        deepest = max(depths)
        if deepest > self.deepest:
            self.deepest = deepest
            if deepest > self.max_depth:
                raise MalformedPayload(f"JSON nests more than {self.max_depth} levels deep; "
                                       f"at most {self.max_depth} are accepted")


def _ends_in_escape(chunk: bytes, start: int) -> bool:
    """Whether ``chunk`` (inside a string from ``start``) ends with an unfinished ``\\`` escape."""
    tail = chunk[start:]
    return (len(tail) - len(tail.rstrip(b"\\"))) % 2 == 1


def json_depth(text: bytes | str, chunk_size: int = 64 * 1024) -> int:
    """Deepest ``[``/``{`` nesting of ``text``, brackets inside strings ignored."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    scanner = JsonDepthScanner(max_depth=len(data) + 1)
    for start in range(0, len(data), chunk_size):
        scanner.feed(data[start:start + chunk_size])
    return scanner.deepest


def parse_json_request(
    body: bytes | str, *, max_depth: int = DEFAULT_MAX_JSON_DEPTH, depth_checked: bool = False
) -> ExportMetricsServiceRequest:
    """Parse an OTLP/JSON metrics body; unknown fields are ignored, as the specification requires.

    ``depth_checked`` says the caller already ran :class:`JsonDepthScanner` over the body
    while reading it. Raises :class:`MalformedPayload` with the reason for anything that is
    not such a document.
    """
    document = _json_document(body, max_depth, depth_checked, "resourceMetrics")
    try:
        convert_exemplar_ids(document, _hex_to_base64)
        request = ExportMetricsServiceRequest()
        json_format.ParseDict(document, request, ignore_unknown_fields=True, max_recursion_depth=max_depth)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise MalformedPayload(f"not an OTLP metrics request: {exc}") from None
    return request


def parse_json_logs_request(
    body: bytes | str, *, max_depth: int = DEFAULT_MAX_JSON_DEPTH, depth_checked: bool = False
) -> ExportLogsServiceRequest:
    """Parse an OTLP/JSON logs body, like :func:`parse_json_request` (records' ids are hex in OTLP/JSON)."""
    document = _json_document(body, max_depth, depth_checked, "resourceLogs")
    try:
        _convert_log_record_ids(document)
        request = ExportLogsServiceRequest()
        json_format.ParseDict(document, request, ignore_unknown_fields=True, max_recursion_depth=max_depth)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise MalformedPayload(f"not an OTLP logs request: {exc}") from None
    return request


def _json_document(body: bytes | str, max_depth: int, depth_checked: bool, top_field: str) -> dict[str, Any]:
    data = body.encode("utf-8") if isinstance(body, str) else body
    if not depth_checked:
        scanner = JsonDepthScanner(max_depth)
        for start in range(0, len(data), 64 * 1024):
            scanner.feed(data[start:start + 64 * 1024])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"JSON body is not UTF-8 (byte {exc.start})") from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload(f"body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedPayload(f"OTLP/JSON body must be an object with a {top_field} array")
    return document


def _convert_log_record_ids(document: dict[str, Any]) -> None:
    """OTLP/JSON ``traceId``/``spanId`` of each log record, hex, to the base64 proto3 JSON expects."""
    for resource_logs in _list(document, "resourceLogs", "resource_logs"):
        for scope_logs in _list(resource_logs, "scopeLogs", "scope_logs"):
            for record in _list(scope_logs, "logRecords", "log_records"):
                if not isinstance(record, dict):
                    continue
                for id_field in ("traceId", "spanId", "trace_id", "span_id"):
                    value = record.get(id_field)
                    if isinstance(value, str) and value:
                        record[id_field] = _hex_to_base64(value, id_field)


def _list(container: Any, *names: str) -> list[Any]:
    if isinstance(container, dict):
        for name in names:
            value = container.get(name)
            if isinstance(value, list):
                return value
    return []


def _hex_to_base64(value: str, field: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise MalformedPayload(f"exemplar {field} {value[:40]!r} is not a hex string") from None
    return base64.b64encode(raw).decode("ascii")
