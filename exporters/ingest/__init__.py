"""OTLP/HTTP receiver: any OTLP client's metrics into the same ClickHouse tables."""

from ._receiver import METRICS_PATH, IngestSink, create_ingest_app
from ._server import DEFAULT_INGEST_PORT, read_token_file, run_ingest
from ._settings import IngestSettings

__all__ = [
    "DEFAULT_INGEST_PORT",
    "METRICS_PATH",
    "IngestSettings",
    "IngestSink",
    "create_ingest_app",
    "read_token_file",
    "run_ingest",
]
