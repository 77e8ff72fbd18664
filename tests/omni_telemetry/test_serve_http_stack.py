"""`serve` and the demo's background API run on httptools and uvloop (uvicorn's fast paths),
named explicitly so a missing one fails at start instead of silently serving on h11."""

from __future__ import annotations

import threading

import httpx
import uvloop
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from omni_telemetry._serve import server_config, start_background_api
from omni_telemetry.settings import OmniSettings


def test_the_served_config_resolves_to_httptools_and_uvloop():
    config = server_config(FastAPI(), host="127.0.0.1", port=0, log_level="WARNING")
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    assert config.get_loop_factory() is uvloop.new_event_loop
    assert config.timeout_keep_alive == 30 and config.access_log is False


def test_the_background_api_answers_from_a_uvloop_thread_on_httptools(tmp_path):
    settings = OmniSettings(storage_dsn=f"chdb://{tmp_path / 'store'}", health_host="127.0.0.1", health_port=0)
    api = start_background_api(settings)
    try:
        assert httpx.get(f"{api.url}/livez").json() == {"status": "alive"}
        server = api._server
        assert server.config.http_protocol_class is HttpToolsProtocol
        [thread] = [t for t in threading.enumerate() if t.name == "health-api"]
        assert thread.is_alive()
        loops = [s.get_loop() for s in server.servers]  # the listening sockets' event loop
        assert loops and all(isinstance(loop, uvloop.Loop) for loop in loops)
    finally:
        api.stop()
