"""A local Kubernetes API server replaying recorded Event list and watch answers (for the
kubernetes-events source and the collect process that runs it)."""

from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

__all__ = ["EVENTS_PATH", "NAMESPACE", "ApiServer", "api_server", "recorded"]

NAMESPACE = "vms"
EVENTS_PATH = f"/api/v1/namespaces/{NAMESPACE}/events"


class ApiServer:
    """Answers list requests and watch requests from two queues of recorded answers.

    A watch answer is (lines, ending): ``"end"`` finishes the chunked body, ``"drop"`` closes
    the socket in the middle of it. When the watch answers run out, ``done`` is set and the
    watch ends normally, so the source's loop sees its stop event.
    """

    def __init__(self, lists: list[bytes], watches: list[tuple[bytes, str]], status: int = 200) -> None:
        self.lists, self.watches, self.status = list(lists), list(watches), status
        self.requests: list[dict] = []
        self.done = threading.Event()


@contextmanager
def api_server(state: ApiServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            state.requests.append({"path": parts.path, **query})
            if state.status != 200:
                body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden",
                                   "message": 'events is forbidden: User "system:serviceaccount:omni:omni" cannot list '
                                              'resource "events"', "code": state.status}).encode()
                self._answer(state.status, body)
                return
            if parts.path != EVENTS_PATH:
                self._answer(404, b'{"kind":"Status","code":404}')
                return
            if query.get("watch") != "true":
                self._answer(200, state.lists.pop(0))
                return
            if not state.watches:
                state.done.set()
                self._stream([], "end")
                return
            lines, ending = state.watches.pop(0)
            self._stream(lines.splitlines(keepends=True), ending)

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, lines: list[bytes], ending: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in lines:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            if ending == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def recorded(data_dir) -> ApiServer:
    d = data_dir / "k8s/events"
    return ApiServer(
        lists=[(d / "list_1.json").read_bytes(), (d / "list_2.json").read_bytes()],
        watches=[
            ((d / "watch_1_dropped.jsonl").read_bytes(), "drop"),
            ((d / "watch_2_bookmark.jsonl").read_bytes(), "end"),
            ((d / "watch_3_expired.jsonl").read_bytes(), "end"),
            ((d / "watch_4.jsonl").read_bytes(), "end"),
        ],
    )
