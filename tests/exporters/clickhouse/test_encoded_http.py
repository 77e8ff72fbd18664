"""Pre-encoded Native inserts over HTTP store the same rows as the column path.

No ClickHouse server can run here (Debian ships 18.16, which has no Map type), so the HTTP
side is clickhouse-connect's real HTTP client talking to a minimal ClickHouse HTTP interface
on 127.0.0.1 that hands every request to chDB: queries run as sent (body or ``query``
parameter, URL parameters as settings), ``INSERT ... FORMAT x`` (as the ``query`` parameter,
or as the body's first line) is inserted from the rest of the body unchanged. What is tested is therefore our HTTP requests and their Native bytes,
not a server's own HTTP handler.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from exporters.clickhouse import ClickHouseWriter, MetricKind, SchemaOptions, apply_schema, connect, engine_lock

from test_encoded_rows import FIXTURES, batches, table_bytes

_TRANSPORT_PARAMETERS = {
    "query", "query_id", "database", "default_format", "session_id", "wait_end_of_query",
    "send_progress_in_http_headers", "http_headers_progress_interval_ms", "enable_http_compression",
    "compress", "decompress", "user", "password",
}
_INSERT = re.compile(r"(?is)^\s*INSERT\s+INTO\s+(\S+)\s*(?:\(([^)]*)\))?\s*FORMAT\s+(\w+)\s*$")


class _ChdbOverHttp(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    client = None
    inserts: list[tuple[str, str, dict[str, str]]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self._answer()

    def do_GET(self) -> None:  # noqa: N802
        self._answer()

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        settings = {k: v for k, v in params.items() if k not in _TRANSPORT_PARAMETERS and not k.startswith("param_")}
        client = type(self).client
        try:
            with engine_lock(client):
                statement = params.get("query", "")
                if not statement and body[:6].upper() == b"INSERT":  # the statement's line, then the data
                    line, _, body = body.partition(b"\n")
                    statement = line.decode()
                insert = _INSERT.match(statement) if body else None
                if insert is not None:
                    columns = [c.strip().strip("`") for c in insert.group(2).split(",")] if insert.group(2) else None
                    type(self).inserts.append((insert.group(1), insert.group(3), settings))
                    client.raw_insert(insert.group(1), columns, insert_block=body, settings=settings, fmt=insert.group(3))
                    out = b""
                else:
                    sql = params.get("query", "") + body.decode()
                    bound = {k[len("param_"):]: v for k, v in params.items() if k.startswith("param_")}
                    out = client.raw_query(
                        sql, parameters=bound or None, settings=settings, fmt=params.get("default_format") or None
                    )
            status = 200
        except Exception as exc:  # reported to the client the way a server reports it
            out, status = f"Code: 1000. DB::Exception: {exc}".encode(), 500
        self.send_response(status)
        if status != 200:
            self.send_header("X-ClickHouse-Exception-Code", "1000")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def chdb_over_http(tmp_path):
    client = connect(f"chdb://{tmp_path}/store")
    handler = type("Handler", (_ChdbOverHttp,), {"client": client, "inserts": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield client, f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_native_inserts_over_http_store_the_rows_of_the_column_path(chdb_over_http):
    client, url, handler = chdb_over_http
    plain_options = SchemaOptions(database="plain")
    http_options = SchemaOptions(database="over_http")
    apply_schema(client, plain_options)
    http_client = connect(url)
    apply_schema(http_client, http_options)
    plain = ClickHouseWriter(client, plain_options, pre_encoded=False)
    over_http = ClickHouseWriter(http_client, http_options)
    for path in FIXTURES[:8]:
        for batch in batches(path):
            plain.write(batch)
            over_http.write(batch)
    assert over_http._encoder is not None and over_http._encoder.hits > 0
    assert handler.inserts and all(fmt == "Native" for _, fmt, _ in handler.inserts)
    assert all(settings.get("materialize_skip_indexes_on_insert") == "0" for _, _, settings in handler.inserts)
    for kind in MetricKind:
        assert table_bytes(client, http_options, kind) == table_bytes(client, plain_options, kind), kind
