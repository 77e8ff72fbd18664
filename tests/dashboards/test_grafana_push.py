"""`dashboards push` against a local server speaking Grafana's dashboard API shapes.

The fake answers as Grafana 11 does (``GET /api/dashboards/uid/<uid>`` -> ``{dashboard, meta}``
or 404 ``{"message": "Dashboard not found"}``; ``POST /api/dashboards/db`` -> ``{id, uid, url,
status: "success", version, slug}``; 401 ``{"message": "Unauthorized"}`` without a valid token;
403 for a viewer token; 412 ``{"status": "version-mismatch", ...}`` or ``name-exists``;
``GET/POST /api/folders``), on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from typer.testing import CliRunner

from dashboards import DASHBOARDS, dashboard_json, push_dashboards
from omni_core.errors import ConfigError, GrafanaAPIError
from omni_telemetry.cli import app

TOKEN = "glsa_editor_token"
VIEWER = "glsa_viewer_token"


class FakeGrafana(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.folders: list[dict[str, Any]] = [{"id": 1, "uid": "general-ops", "title": "Ops"}]
        self.requests: list[tuple[str, str]] = []
        self.conflict: dict[str, str] = {}  # uid -> 412 status to answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeGrafana

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self, write: bool) -> bool:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in (TOKEN, VIEWER):
            self._answer(401, {"message": "Unauthorized", "traceID": ""})
            return False
        if write and token == VIEWER:
            self._answer(403, {"message": "Access denied to save dashboard", "status": "access-denied"})
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802
        self.server.requests.append(("GET", self.path))
        if not self._authorised(write=False):
            return
        if self.path == "/api/folders":
            self._answer(200, self.server.folders)
        elif self.path.startswith("/api/dashboards/uid/"):
            uid = self.path.rsplit("/", 1)[-1]
            stored = self.server.dashboards.get(uid)
            if stored is None:
                self._answer(404, {"message": "Dashboard not found"})
            else:
                self._answer(200, {"dashboard": stored["dashboard"], "meta": {"folderUid": stored["folderUid"], "version": stored["dashboard"]["version"]}})
        else:
            self._answer(404, {"message": "Not found"})

    def do_POST(self) -> None:  # noqa: N802
        self.server.requests.append(("POST", self.path))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not self._authorised(write=True):
            return
        if self.path == "/api/folders":
            folder = {"id": len(self.server.folders) + 1, "uid": f"f{len(self.server.folders)}", "title": body["title"]}
            self.server.folders.append(folder)
            self._answer(200, folder)
            return
        dashboard = body["dashboard"]
        uid = dashboard["uid"]
        if uid in self.server.conflict:
            status = self.server.conflict[uid]
            self._answer(412, {"message": "The dashboard has been changed by someone else" if status == "version-mismatch"
                               else "A dashboard with the same name in the folder already exists", "status": status})
            return
        assert body["overwrite"] is True and dashboard["id"] is None
        previous = self.server.dashboards.get(uid)
        version = previous["dashboard"]["version"] + 1 if previous else 1
        self.server.dashboards[uid] = {"dashboard": {**dashboard, "id": 7, "version": version}, "folderUid": body.get("folderUid", "")}
        self._answer(200, {"id": 7, "uid": uid, "url": f"/d/{uid}/x", "status": "success", "version": version, "slug": "x"})

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    server = FakeGrafana()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


DOCS = [dashboard_json(uid) for uid in DASHBOARDS]


def test_push_creates_then_reports_unchanged_then_updates_only_what_changed(grafana: FakeGrafana) -> None:
    first = push_dashboards(grafana.url, TOKEN, DOCS, folder="omni-telemetry")
    assert [o.result for o in first] == ["created"] * len(DOCS)
    assert {d["folderUid"] for d in grafana.dashboards.values()} == {"f1"}  # folder created once, by title
    assert grafana.folders[-1]["title"] == "omni-telemetry"

    second = push_dashboards(grafana.url, TOKEN, DOCS, folder="omni-telemetry")
    assert [o.result for o in second] == ["unchanged"] * len(DOCS)

    changed = [dict(DOCS[0], title="Platform overview v2"), *DOCS[1:]]
    third = push_dashboards(grafana.url, TOKEN, changed, folder="omni-telemetry")
    assert [o.result for o in third] == ["updated"] + ["unchanged"] * (len(DOCS) - 1)
    assert third[0].version == 2
    assert grafana.dashboards[DOCS[0]["uid"]]["dashboard"]["title"] == "Platform overview v2"


def test_a_bad_token_fails_with_401_and_says_so(grafana: FakeGrafana) -> None:
    with pytest.raises(GrafanaAPIError, match="rejected the token") as caught:
        push_dashboards(grafana.url, "wrong", DOCS)
    assert caught.value.status_code == 401
    assert grafana.dashboards == {}


def test_a_viewer_token_fails_with_403_naming_the_missing_permission(grafana: FakeGrafana) -> None:
    with pytest.raises(GrafanaAPIError, match="may not write dashboards") as caught:
        push_dashboards(grafana.url, VIEWER, DOCS)
    assert caught.value.status_code == 403 and caught.value.uid == DOCS[0]["uid"]


@pytest.mark.parametrize("status", ["version-mismatch", "name-exists"])
def test_a_412_conflict_stops_with_the_conflict_named(grafana: FakeGrafana, status: str) -> None:
    grafana.conflict[DOCS[1]["uid"]] = status
    with pytest.raises(GrafanaAPIError, match=f"412 {status}") as caught:
        push_dashboards(grafana.url, TOKEN, DOCS)
    assert caught.value.status_code == 412 and caught.value.uid == DOCS[1]["uid"]
    assert list(grafana.dashboards) == [DOCS[0]["uid"]]  # the one before the conflict was stored


def test_cli_push_reads_the_token_file_and_reports_each_dashboard(grafana: FakeGrafana, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    result = CliRunner().invoke(app, ["dashboards", "push", "--grafana-url", grafana.url, "--token-file", str(token)])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("created") == len(DOCS)
    token.write_text("nope")
    failed = CliRunner().invoke(app, ["dashboards", "push", "--grafana-url", grafana.url, "--token-file", str(token)])
    assert failed.exit_code == 1 and "401" in failed.stderr


def test_unreachable_grafana_and_bad_urls_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--grafana-url"):
        push_dashboards("grafana:3000", TOKEN, DOCS)
    with pytest.raises(GrafanaAPIError, match="cannot reach Grafana"):
        push_dashboards("http://127.0.0.1:9", TOKEN, DOCS, timeout_s=2)
