"""OTLP: encode/decode the project's metrics, OTLP/JSON, and push to any OTLP receiver."""

from ._decode import DecodedRequest, decode_request, decode_request_report
from ._encode import count_data_points, encode_metrics_data
from ._json import DEFAULT_MAX_JSON_DEPTH, metrics_data_to_json, parse_json_request, request_to_json
from ._push import OtlpGrpcMetricExporter, OtlpHttpMetricExporter, OtlpPushOptions, create_push_exporter

__all__ = [
    "DEFAULT_MAX_JSON_DEPTH",
    "DecodedRequest",
    "OtlpGrpcMetricExporter",
    "OtlpHttpMetricExporter",
    "OtlpPushOptions",
    "count_data_points",
    "create_push_exporter",
    "decode_request",
    "decode_request_report",
    "encode_metrics_data",
    "metrics_data_to_json",
    "parse_json_request",
    "request_to_json",
]
