"""The OTLP/HTTP receiver: any OTLP client's metrics and logs, decoded into the SDK data model and handed to sinks.

It brings data in, like the scrapers: the ASGI app (:func:`create_ingest_app`) checks,
bounds and decodes requests and offers the resulting ``MetricsData`` (``/v1/metrics``) or
list of ``ReadableLogRecord`` (``/v1/logs``, when a logs sink is given) to the sink it is given
(an :class:`~omni_core.admission.AdmittingSink` such as the delivery queue, or any SDK
``MetricExporter``). Serving it over HTTP and choosing the sink is the composition root's job.
"""

from omni_core.otlp_decode import DecodedRequest, decode_request, decode_request_report
from omni_core.otlp_logs_decode import DecodedLogs, decode_logs_request, decode_logs_request_report

from ._app import LOGS_PATH, METRICS_PATH, IngestSink, LogsIngestSink, create_ingest_app
from ._json import DEFAULT_MAX_JSON_DEPTH, JsonDepthScanner, json_depth, parse_json_logs_request, parse_json_request
from ._metrics import ReceiverMetrics
from ._options import DEFAULT_INGEST_PORT, IngestOptions
from ._payload import inflate

__all__ = [
    "DEFAULT_INGEST_PORT",
    "DEFAULT_MAX_JSON_DEPTH",
    "LOGS_PATH",
    "METRICS_PATH",
    "DecodedLogs",
    "DecodedRequest",
    "IngestOptions",
    "IngestSink",
    "LogsIngestSink",
    "JsonDepthScanner",
    "ReceiverMetrics",
    "create_ingest_app",
    "decode_logs_request",
    "decode_logs_request_report",
    "decode_request",
    "decode_request_report",
    "inflate",
    "json_depth",
    "parse_json_logs_request",
    "parse_json_request",
]
