"""``omni-telemetry serve``: the health API on uvicorn, wired from the settings."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import uvicorn

from service import EventQuery, HealthConfig, HealthMonitor, build_monitor, create_app

from ._wiring import schema_options
from .settings import OmniSettings

__all__ = ["BackgroundApi", "health_config", "run_serve", "server_config", "start_background_api"]

_log = logging.getLogger(__name__)
#: uvicorn's exit code for a server that did not start
_STARTUP_FAILURE = 3


def health_config(settings: OmniSettings, *, scrape_interval_s: float | None = None) -> HealthConfig:
    return HealthConfig(
        dsn=settings.storage_dsn,
        schema=schema_options(settings),
        rules_file=Path(settings.health_rules_file) if settings.health_rules_file else None,
        eval_interval_s=settings.health_eval_interval_s,
        scrape_interval_s=scrape_interval_s or settings.scrape_interval_s,
        staleness_intervals=settings.health_staleness_intervals,
        critical_http_status=settings.health_critical_http_status,
    )


def _events(config: HealthConfig) -> EventQuery:
    return EventQuery(window_s=config.events_window_s, limit=config.events_limit)


def server_config(app: Any, *, host: str, port: int, log_level: str) -> uvicorn.Config:
    """How the health API is served: httptools and uvloop (both pinned dependencies) named
    explicitly rather than left to uvicorn's "auto", so a missing one fails at start instead of
    silently falling back to the pure-Python h11 parser and asyncio loop, which cost several
    times more per request; keep-alive longer than uvicorn's 5 s, because probers and
    dashboards poll on a fixed period; no access log."""
    return uvicorn.Config(app, host=host, port=port, log_level=log_level.lower(), access_log=False,
                          http="httptools", loop="uvloop", timeout_keep_alive=30)


def run_serve(settings: OmniSettings, log_level: str = "info") -> None:
    """Serve until interrupted (uvicorn handles SIGINT/SIGTERM)."""
    config = health_config(settings)
    monitor = build_monitor(config)
    app = create_app(monitor, critical_http_status=config.critical_http_status, events=_events(config))
    server = uvicorn.Server(server_config(app, host=settings.health_host, port=settings.health_port, log_level=log_level))
    server.run()
    if not server.started:  # as uvicorn.run does: the lifespan failed, say so in the exit code
        raise SystemExit(_STARTUP_FAILURE)


class BackgroundApi:
    """The API served from a thread of this process (the demo: the embedded store is single-process)."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, monitor: HealthMonitor) -> None:
        self._server, self._thread, self.monitor = server, thread, monitor

    @property
    def url(self) -> str:
        servers = getattr(self._server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                return f"http://{host}:{port}"
        return f"http://{self._server.config.host}:{self._server.config.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start_background_api(settings: OmniSettings, *, scrape_interval_s: float | None = None,
                         dashboards_dir: Path | None = None) -> BackgroundApi:
    """Serve on ``health_host:health_port``; when that port is taken, on a free one (the URL says which).
    With ``dashboards_dir`` (the demo's previews) its pages are served under ``/dashboards/``; the
    directory is created so the route answers 404 rather than failing until the pages exist."""
    config = health_config(settings, scrape_interval_s=scrape_interval_s)
    monitor = build_monitor(config)
    if dashboards_dir is not None:
        dashboards_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(monitor, critical_http_status=config.critical_http_status, events=_events(config),
                     dashboards_dir=dashboards_dir)
    for port in dict.fromkeys((settings.health_port, 0)):
        server = uvicorn.Server(server_config(app, host=settings.health_host, port=port, log_level="critical"))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # the main thread owns signals
        thread = threading.Thread(target=_run_quietly, args=(server,), name="health-api", daemon=True)
        thread.start()
        while thread.is_alive() and not server.started:
            thread.join(0.05)
        if server.started:
            return BackgroundApi(server, thread, monitor)
        _log.warning("the health API could not listen on %s:%s", settings.health_host, port)
    raise OSError(f"the health API could not listen on {settings.health_host}; set health_port (OMNI_HEALTH_PORT)")


def _run_quietly(server: uvicorn.Server) -> None:
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind; the caller tries another port
        pass
