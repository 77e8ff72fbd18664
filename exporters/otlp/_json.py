"""OTLP/JSON, both ways, as the OTLP specification defines it on top of proto3 JSON.

Two differences from plain ``google.protobuf.json_format`` matter: trace and span ids are
hex strings (not base64), and enums are integers. Parsing is bounded because the body comes
from the network: nesting deeper than ``max_depth`` is refused before ``json.loads`` sees it,
so a body of ten thousand ``[`` is a 400, never a crash.
"""

from __future__ import annotations

import base64
import json
import re
from itertools import accumulate
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics.export import MetricsData

from omni_core.errors import MalformedPayload

from ._encode import encode_metrics_data

__all__ = ["DEFAULT_MAX_JSON_DEPTH", "metrics_data_to_json", "parse_json_request", "request_to_json"]

#: A valid OTLP metrics document nests about 12 levels (more with nested attribute values).
DEFAULT_MAX_JSON_DEPTH = 64

_METRIC_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")
_ID_FIELDS = ("traceId", "spanId", "trace_id", "span_id")
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def metrics_data_to_json(metrics_data: MetricsData, *, indent: int | None = None) -> str:
    """``metrics_data`` as an OTLP/JSON ``ExportMetricsServiceRequest`` document."""
    return request_to_json(encode_metrics_data(metrics_data), indent=indent)


def request_to_json(request: ExportMetricsServiceRequest, *, indent: int | None = None) -> str:
    document = json_format.MessageToDict(request, use_integers_for_enums=True)
    _convert_ids(document, _base64_to_hex)
    return json.dumps(document, indent=indent, allow_nan=False)


def parse_json_request(body: bytes | str, *, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> ExportMetricsServiceRequest:
    """Parse an OTLP/JSON body; unknown fields are ignored, as the specification requires.

    Raises :class:`MalformedPayload` with the reason for anything that is not such a document.
    """
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"JSON body is not UTF-8 (byte {exc.start})") from None
    depth = json_depth(text)
    if depth > max_depth:
        raise MalformedPayload(f"JSON nests {depth} levels deep; at most {max_depth} are accepted")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload(f"body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedPayload("OTLP/JSON body must be an object with a resourceMetrics array")
    try:
        _convert_ids(document, _hex_to_base64)
        request = ExportMetricsServiceRequest()
        json_format.ParseDict(document, request, ignore_unknown_fields=True, max_recursion_depth=max_depth)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise MalformedPayload(f"not an OTLP metrics request: {exc}") from None
    return request


def json_depth(text: str) -> int:
    """Deepest ``[``/``{`` nesting of ``text``, ignoring brackets inside strings (no Python loop per char)."""
    tokens = [token for token in _STRING_OR_BRACKET.findall(text) if len(token) == 1]
    if not tokens:
        return 0
    return max(0, max(accumulate(map(_DEPTH_STEP.__getitem__, tokens))))


def _convert_ids(document: dict[str, Any], convert: Any) -> None:
    """Apply ``convert`` to every exemplar's trace/span id, in place (the only id fields in metrics)."""
    for resource_metrics in _list(document, "resourceMetrics", "resource_metrics"):
        for scope_metrics in _list(resource_metrics, "scopeMetrics", "scope_metrics"):
            for metric in _list(scope_metrics, "metrics"):
                if not isinstance(metric, dict):
                    continue
                for kind in (*_METRIC_KINDS, "exponential_histogram"):
                    data = metric.get(kind)
                    if not isinstance(data, dict):
                        continue
                    for point in _list(data, "dataPoints", "data_points"):
                        for exemplar in _list(point, "exemplars"):
                            if not isinstance(exemplar, dict):
                                continue
                            for id_field in _ID_FIELDS:
                                value = exemplar.get(id_field)
                                if isinstance(value, str) and value:
                                    exemplar[id_field] = convert(value, id_field)


def _list(container: Any, *names: str) -> list[Any]:
    if not isinstance(container, dict):
        return []
    for name in names:
        value = container.get(name)
        if isinstance(value, list):
            return value
    return []


def _base64_to_hex(value: str, _field: str) -> str:
    return base64.b64decode(value).hex()


def _hex_to_base64(value: str, field: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise MalformedPayload(f"exemplar {field} {value[:40]!r} is not a hex string") from None
    return base64.b64encode(raw).decode("ascii")
