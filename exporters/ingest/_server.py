"""The standalone receiver process: OTLP/HTTP in, delivery queue, ClickHouse out.

Why the queue sits between the app and the writer: a client's request should not wait for
an INSERT, and a ClickHouse restart should cost clients a few 503s at most, not data. The
receiver starts even while storage is down (the writer connects on first use), and on
SIGTERM uvicorn stops accepting and finishes the requests in progress, then the queue
delivers what it holds within ``shutdown_timeout_s`` and spools (or counts as dropped) the rest.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import replace
from pathlib import Path

import uvicorn
from prometheus_client import CollectorRegistry

from omni_core.errors import ConfigError

from .._selfmetrics import ExporterMetrics
from ..clickhouse import ClickHouseWriter, SchemaOptions, apply_schema, connect, parse_dsn
from ..delivery import DeliveryOptions, DeliveryQueue, ReconnectingWriter
from ._receiver import create_ingest_app
from ._settings import IngestSettings

__all__ = ["DEFAULT_INGEST_PORT", "read_token_file", "run_ingest"]

_log = logging.getLogger(__name__)

#: The OTLP/HTTP port registered for the protocol.
DEFAULT_INGEST_PORT = 4318


def read_token_file(path: Path | str) -> str:
    """The bearer token stored in ``path`` (surrounding whitespace ignored)."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the token file {path}: {exc}", field="ingest_token_file") from None
    if not token:
        raise ConfigError(f"the token file {path} is empty", field="ingest_token_file")
    return token


def run_ingest(
    host: str = "127.0.0.1",
    port: int = DEFAULT_INGEST_PORT,
    *,
    dsn: str,
    token_file: Path | str | None = None,
    settings: IngestSettings = IngestSettings(),
    schema: SchemaOptions = SchemaOptions(),
    delivery: DeliveryOptions = DeliveryOptions(name="ingest"),
    registry: CollectorRegistry | None = None,
    shutdown_timeout_s: float = 20.0,
    log_level: str = "info",
) -> None:
    """Serve ``POST /v1/metrics`` (and ``/metrics``) on ``host:port`` until SIGINT/SIGTERM.

    ``shutdown_timeout_s`` is split evenly between finishing requests in progress and
    delivering the queue; keep it below the pod's termination grace period (30 s by default).

    Blocks. Raises :class:`ConfigError` for a bad DSN, token file or spool directory before
    listening; an unreachable ClickHouse is not an error here (requests are queued/spooled
    and answered 503 once the buffer is full).
    """
    parse_dsn(dsn)
    if token_file is not None:
        settings = replace(settings, bearer_token=read_token_file(token_file))

    def open_writer() -> ClickHouseWriter:
        client = connect(dsn)
        apply_schema(client, schema)
        return ClickHouseWriter(client, schema)

    queue = DeliveryQueue(ReconnectingWriter(open_writer), delivery, metrics=ExporterMetrics.for_registry(registry))
    try:
        app = create_ingest_app(queue, settings, registry=registry)
        config = uvicorn.Config(
            app, host=host, port=port, log_level=log_level,
            timeout_graceful_shutdown=max(1, int(shutdown_timeout_s / 2)),
        )
        _log.info("OTLP/HTTP receiver on http://%s:%d/v1/metrics writing to %r", host, port, parse_dsn(dsn))
        _serve_until_signalled(uvicorn.Server(config))
    finally:
        status = queue.status()
        _log.info("receiver stopped; delivering %d waiting points", status.pending_points)
        queue.shutdown(timeout_millis=shutdown_timeout_s / 2 * 1000)
        left = queue.status().spool_points
        if left:
            _log.warning("%d points left in the spool for the next start", left)


def _serve_until_signalled(server: uvicorn.Server) -> None:
    """Run ``server``; a SIGTERM/SIGINT ends serving but not the process, so the queue can flush.

    uvicorn re-raises the signal it shut down for once it has restored the previous
    handlers; with the default handlers that would kill the process before the flush. The
    handlers installed here swallow that re-raise; the originals come back afterwards, so a
    second signal during the flush still ends the process (the spool keeps what it holds).
    """
    if threading.current_thread() is not threading.main_thread():
        server.run()
        return
    previous = {sig: signal.signal(sig, _note_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _note_signal(sig: int, _frame: object) -> None:
    _log.info("received %s; finishing delivery before exiting", signal.Signals(sig).name)
