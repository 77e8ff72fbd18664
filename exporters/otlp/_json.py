"""SDK ``MetricsData`` -> OTLP/JSON, as the OTLP specification defines it on top of proto3 JSON.

Two differences from plain ``google.protobuf.json_format`` matter: trace and span ids are
hex strings (not base64), and enums are integers. Parsing OTLP/JSON is the receiver's job
(``collectors.otlp_receiver``); the id walk both directions share is in ``omni_core``.
"""

from __future__ import annotations

import base64
import json

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics.export import MetricsData

from omni_core.otlp_json import convert_exemplar_ids

from ._encode import encode_metrics_data

__all__ = ["metrics_data_to_json", "request_to_json"]


def metrics_data_to_json(metrics_data: MetricsData, *, indent: int | None = None) -> str:
    """``metrics_data`` as an OTLP/JSON ``ExportMetricsServiceRequest`` document."""
    return request_to_json(encode_metrics_data(metrics_data), indent=indent)


def request_to_json(request: ExportMetricsServiceRequest, *, indent: int | None = None) -> str:
    document = json_format.MessageToDict(request, use_integers_for_enums=True)
    convert_exemplar_ids(document, _base64_to_hex)
    return json.dumps(document, indent=indent, allow_nan=False)


def _base64_to_hex(value: str, _field: str) -> str:
    return base64.b64decode(value).hex()
