"""Local replay targets: real-looking endpoints on 127.0.0.1 whose answers change over time.

Each scenario is served on its own port, like a real pod, so the demo exercises the same
HTTP scrape path as production. A scenario is any object with ``name``, ``source``,
``path`` and ``render(elapsed_s) -> (body, content_type)``; a scenario that serves several
API paths under ``path`` may define ``render_path(request_path, elapsed_s)`` instead.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol, Sequence
from urllib.parse import urlsplit

__all__ = ["ReplayScenario", "ReplayServer", "ServedScenario"]


class ReplayScenario(Protocol):
    name: str
    source: str
    path: str

    def render(self, elapsed_s: float) -> tuple[bytes, str]: ...


@dataclass(frozen=True)
class ServedScenario:
    scenario: ReplayScenario
    url: str


class _Handler(BaseHTTPRequestHandler):
    server: "_ScenarioHTTPServer"

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        scenario = self.server.scenario
        request_path = urlsplit(self.path).path
        if not (request_path == scenario.path or request_path.startswith(scenario.path.rstrip("/") + "/")):
            self.send_error(404, "no such path on this replay target")
            return
        try:
            elapsed = time.monotonic() - self.server.started
            render_path = getattr(scenario, "render_path", None)  # API scenarios answer per path
            rendered = render_path(self.path, elapsed) if render_path else scenario.render(elapsed)
        except Exception as exc:  # a broken scenario answers 500, like a broken exporter
            self.send_error(500, f"scenario failed: {exc}")
            return
        body, content_type = rendered
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class _ScenarioHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, scenario: ReplayScenario, started: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.scenario = scenario
        self.started = started


class ReplayServer:
    """Serves each scenario on its own loopback port until :meth:`close`."""

    def __init__(self, scenarios: Sequence[ReplayScenario]) -> None:
        self._scenarios = list(scenarios)
        self._servers: list[_ScenarioHTTPServer] = []
        self.served: list[ServedScenario] = []

    def start(self) -> list[ServedScenario]:
        started = time.monotonic()
        for scenario in self._scenarios:
            server = _ScenarioHTTPServer(scenario, started)
            threading.Thread(target=server.serve_forever, name=f"replay-{scenario.name}", daemon=True).start()
            self._servers.append(server)
            host, port = server.server_address[:2]
            self.served.append(ServedScenario(scenario, f"http://{host}:{port}{scenario.path}"))
        return self.served

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> "ReplayServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
