"""OTLP out: encode the project's metrics (protobuf and OTLP/JSON) and push them to any OTLP receiver.

Decoding OTLP is the receiver's side (``collectors.otlp_receiver``; the protobuf to SDK
conversion it shares with the spool is ``omni_core.otlp_decode``).
"""

from ._encode import count_data_points, encode_metrics_data
from ._json import metrics_data_to_json, request_to_json
from ._push import OtlpGrpcMetricExporter, OtlpHttpMetricExporter, OtlpPushOptions, create_push_exporter

__all__ = [
    "OtlpGrpcMetricExporter",
    "OtlpHttpMetricExporter",
    "OtlpPushOptions",
    "count_data_points",
    "create_push_exporter",
    "encode_metrics_data",
    "metrics_data_to_json",
    "request_to_json",
]
