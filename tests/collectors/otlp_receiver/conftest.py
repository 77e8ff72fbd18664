"""The receiver's fixtures: real uvicorn on 127.0.0.1 (port 0) in a thread, and the exporter
tests' data and chDB stores (the receiver's sink in these tests is the real delivery queue)."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator

import pytest
import uvicorn

from exporter_fixtures import fixtures as _fixtures

as_comparable = _fixtures.as_comparable
chdb_dsn = _fixtures.chdb_dsn
chdb_store = _fixtures.chdb_store
make_gauge_batch = _fixtures.make_gauge_batch
metrics_data = _fixtures.metrics_data
refused_dsn = _fixtures.refused_dsn
registry = _fixtures.registry
self_metrics = _fixtures.self_metrics
wait_for = _fixtures.wait_for


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any, server: uvicorn.Server | None = None) -> str:
        if server is None:
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.005)
        servers.append((server, thread))
        port = server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
