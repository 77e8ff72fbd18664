"""The standalone receiver process: OTLP/HTTP in (``collectors.otlp_receiver``), a sink per signal out.

Why the server is built here and not beside the app: choosing the HTTP server, its
timeouts and its log handling, and choosing the sink (delivery queue in front of
ClickHouse, or an OTLP push), is assembly; the receiver only decodes and admits.

On SIGTERM uvicorn stops accepting and finishes the requests in progress, then the sink
delivers what it admitted within what is left of ``shutdown_timeout_s`` and spools (or
counts as dropped) the rest. The receiver starts even while storage is down (the writer
connects on first use).
"""

from __future__ import annotations

import inspect
import logging
import re
import signal
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry
from uvicorn.protocols.http.h11_impl import H11Protocol

from collectors.otlp_receiver import IngestOptions, IngestSink, LogsIngestSink, create_ingest_app
from exporters.clickhouse import redact_dsn
from omni_core.errors import ConfigError

from .settings import OmniSettings

__all__ = [
    "QueryTokenRedaction",
    "build_ingest_server",
    "ingest_destination",
    "ingest_options",
    "read_token_file",
    "run_ingest",
]

_log = logging.getLogger(__name__)


def read_token_file(path: Path | str) -> str:
    """The bearer token stored in ``path`` (surrounding whitespace ignored)."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the token file {path}: {exc}", field="ingest_token_file") from None
    if not token:
        raise ConfigError(f"the token file {path} is empty", field="ingest_token_file")
    return token


def ingest_options(settings: OmniSettings) -> IngestOptions:
    """The settings' receiver options with the bearer token read from ``ingest_token_file``."""
    options = settings.ingest_options()
    if settings.ingest_token_file:
        options = replace(options, bearer_token=read_token_file(settings.ingest_token_file))
    return options


def ingest_destination(settings: OmniSettings) -> str:
    """Where received data goes, fit for a log line: the DSN without its password, or the OTLP endpoint."""
    if settings.export_mode == "otlp":
        return f"OTLP {settings.otlp_endpoint}"
    return redact_dsn(settings.storage_dsn)


def run_ingest(
    options: IngestOptions,
    sink: IngestSink,
    *,
    registry: CollectorRegistry | None = None,
    log_level: str = "info",
    destination: str = "",
    logs_sink: LogsIngestSink | None = None,
) -> None:
    """Serve ``POST /v1/metrics`` (and ``/metrics``, and with ``logs_sink`` ``POST /v1/logs``) per
    ``options`` into the sinks until SIGINT/SIGTERM.

    Owns the sinks from here on: shuts them down after serving, side by side, within
    ``options.shutdown_timeout_s`` counted from the signal (keep that below the pod's
    termination grace period, 30 s by default). ``destination`` (already redacted) is only logged.
    """
    try:
        app = create_ingest_app(sink, options, registry=registry, logs_sink=logs_sink)
        server = build_ingest_server(app, options, log_level=log_level)
        routes = "/v1/metrics" + (" and /v1/logs" if logs_sink is not None else "")
        _log.info("OTLP/HTTP receiver on http://%s:%d (%s)%s", options.host, options.port, routes,
                  f" storing into {destination}" if destination else "")
        _serve_until_signalled(server)
    finally:
        _log.info("receiver stopped; delivering what was acknowledged")
        _shut_down_together([sink, logs_sink], max(1.0, options.shutdown_timeout_s - _graceful_s(options)) * 1000)


def _shut_down_together(sinks: list[Any], timeout_millis: float) -> None:
    """Shut every sink down in its own thread, so each has the whole budget rather than what another left."""
    threads = []
    for sink in sinks:
        if sink is None:
            continue
        # SDK log exporters' shutdown takes no timeout; the queues' does.
        takes_timeout = "timeout_millis" in inspect.signature(sink.shutdown).parameters
        thread = threading.Thread(target=sink.shutdown, kwargs={"timeout_millis": timeout_millis} if takes_timeout else {},
                                  name=f"shutdown-{type(sink).__name__}")
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()


def build_ingest_server(app: Any, options: IngestOptions, *, log_level: str = "info") -> uvicorn.Server:
    """uvicorn serving ``app`` with the receiver's connection bounds.

    Idle keep-alive connections close after ``keep_alive_s``; a connection that has not sent
    its request line and headers within ``header_read_timeout_s`` is closed (uvicorn alone
    waits forever); the body deadline is the app's. Query strings are redacted in access logs.
    """
    config = uvicorn.Config(
        app, host=options.host, port=options.port, log_level=log_level, lifespan="off",
        http=_header_deadline_protocol(options.header_read_timeout_s),
        timeout_keep_alive=max(1, round(options.keep_alive_s)),
        limit_concurrency=options.max_connections,
        timeout_graceful_shutdown=_graceful_s(options),
    )
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryTokenRedaction) for f in access.filters):
        access.addFilter(QueryTokenRedaction())
    return uvicorn.Server(config)


def _graceful_s(options: IngestOptions) -> int:
    """Seconds for requests in progress after a signal: a quarter of the budget, the rest is the sink's."""
    return max(1, int(options.shutdown_timeout_s / 4))


def _header_deadline_protocol(timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose request headers do not arrive in time.

    Armed when the connection opens and again after each response (the next request's
    headers); disarmed once a request's headers are in, from when the app's body deadline
    takes over.
    """

    class HeaderDeadlineProtocol(H11Protocol):
        _header_timer: Any = None
        _awaited_cycle: Any = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self._header_timer is not None and self.cycle is not self._awaited_cycle:
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._awaited_cycle = self.cycle
            self._header_timer = self.loop.call_later(timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.cycle is self._awaited_cycle and not self.transport.is_closing():
                _log.debug("closing %s: no complete request headers within %g s", self.client, timeout_s)
                self.transport.close()

    return HeaderDeadlineProtocol


class QueryTokenRedaction(logging.Filter):
    """Replaces credential-like query parameter values in uvicorn's access log lines with ``***``.

    Clients sometimes pass tokens as ``?token=...``/``?api_key=...``; the access log must not
    keep them. (Headers, ``Authorization`` included, are never logged by uvicorn or the receiver.)
    """

    _SECRET = re.compile(r"([?&][^=&#\s]*(?:token|key|secret|password|passwd|auth|signature|sig)[^=&#\s]*=)[^&#\s]*",
                         re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            args = list(record.args)
            args[2] = self._SECRET.sub(r"\1***", args[2])
            record.args = tuple(args)
        return True


def _serve_until_signalled(server: uvicorn.Server) -> None:
    """Run ``server``; a SIGTERM/SIGINT ends serving but not the process, so the sink can flush.

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
