"""The receiver's HTTP server as the composition root builds it: connection bounds and log hygiene."""

from __future__ import annotations

import logging
import socket
import threading
import time
from urllib.parse import urlparse

import httpx
import pytest

from collectors.otlp_receiver import IngestOptions, create_ingest_app
from exporters.clickhouse import parse_dsn, redact_dsn
from exporter_fixtures import fixtures
from omni_core.errors import ConfigError
from omni_telemetry._ingest import build_ingest_server

make_gauge_batch = fixtures.make_gauge_batch


class _Refusing:
    """A sink for requests that never reach it."""

    def offer(self, metrics_data, *, durable=False, timeout_s=10.0):  # pragma: no cover - not reached
        raise AssertionError("nothing should be offered")


@pytest.fixture
def served():
    running: list[tuple[object, threading.Thread]] = []

    def start(options: IngestOptions) -> str:
        server = build_ingest_server(create_ingest_app(_Refusing(), options), options, log_level="info")
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.005)
        running.append((server, thread))
        return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(10)


def test_connections_that_never_finish_their_headers_are_closed(served):
    url = urlparse(served(IngestOptions(port=0, header_read_timeout_s=0.3)))
    with socket.create_connection((url.hostname, url.port), timeout=20) as sock:
        sock.sendall(b"POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Ty")
        assert sock.recv(1024) == b""  # closed by the server, long before the socket timeout
    with socket.create_connection((url.hostname, url.port), timeout=20) as silent:
        assert silent.recv(1024) == b""


def test_access_log_never_shows_a_token(served, caplog):
    url = served(IngestOptions(port=0, bearer_token="s3cret-token"))
    access = logging.getLogger("uvicorn.access")  # configured by uvicorn when the server was built
    access.addHandler(caplog.handler)
    try:
        response = httpx.post(f"{url}/v1/metrics?access_token=s3cret-token&tenant=a&api_key=k3y", content=b"",
                              headers={"Authorization": "Bearer s3cret-token",
                                       "Content-Type": "application/x-protobuf"}, timeout=20)
        assert response.status_code == 200
    finally:
        access.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert lines and "access_token=***" in lines[0] and "tenant=a" in lines[0] and "api_key=***" in lines[0]
    assert "s3cret-token" not in caplog.text and "k3y" not in caplog.text


@pytest.mark.parametrize(
    "dsn, shown",
    [
        ("http://default:pa55@clickhouse:8123/otel", "http://default:***@clickhouse:8123/otel"),
        ("https://u:p%40ss@ch.example:8443", "https://u:***@ch.example:8443"),
        ("chdb://user:pw@host/data", "chdb://user:***@host/data"),
        ("chdb:///var/lib/omni", "chdb:///var/lib/omni"),
        ("http://clickhouse:8123/otel", "http://clickhouse:8123/otel"),
    ],
)
def test_redact_dsn_hides_only_the_password(dsn, shown):
    assert redact_dsn(dsn) == shown


def test_a_chdb_dsn_error_does_not_echo_the_password():
    with pytest.raises(ConfigError) as raised:
        parse_dsn("chdb://user:pw-s3cret@host/data")
    assert "pw-s3cret" not in str(raised.value) and "user:***@host" in str(raised.value)


def test_ingest_options_follow_the_settings(tmp_path):
    from omni_telemetry._ingest import ingest_destination, ingest_options
    from omni_telemetry.settings import OmniSettings

    token = tmp_path / "token"
    token.write_text("t0k\n")
    plain = OmniSettings(storage_dsn="http://writer:pa55w0rd@clickhouse:8123/otel", queue_max_samples=1234,
                         ingest_token_file=str(token), ingest_body_read_timeout_s=3)
    options = ingest_options(plain)
    assert (options.durable_ack, options.max_request_points, options.bearer_token) == (False, 1234, "t0k")
    assert options.body_read_timeout_s == 3
    assert "pa55w0rd" not in ingest_destination(plain) and "writer:***@clickhouse" in ingest_destination(plain)
    spooled = OmniSettings(storage_dsn=plain.storage_dsn, spool_dir=str(tmp_path / "spool"))
    assert ingest_options(spooled).durable_ack is True


def test_the_receiver_package_does_not_import_exporters():
    import ast
    from pathlib import Path

    import collectors

    offenders = []
    for path in Path(collectors.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.name}: {n}" for n in names if n == "exporters" or n.startswith("exporters.")]
    assert offenders == []
