"""/health while the demo runs: the Argo CD story (the kubevirt application goes OutOfSync,
its sync fails, it turns Degraded), the store's own state in the pipeline component, and the
replayed Kubernetes warning events in the entity detail; then the dashboard previews under
/dashboards/ of the same API."""

from __future__ import annotations

import io
import socket
import threading
import time

import httpx
from rich.console import Console

from omni_telemetry.demo import run_demo
from omni_telemetry.settings import load_settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_health_shows_the_argocd_story_the_store_and_events_while_the_demo_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the demo writes its previews under ./.omni/dashboards
    port = _free_port()
    settings = load_settings(storage_dsn=f"chdb://{tmp_path / 'demo'}", scrape_interval_s=2, scrape_timeout_s=2,
                             health_host="127.0.0.1", health_port=port, health_eval_interval_s=1)
    out = io.StringIO()
    done: dict[str, object] = {}
    runner = threading.Thread(
        target=lambda: done.update(summary=run_demo(settings, duration_s=16, interval_s=2, fill_s=180,
                                                    console=Console(file=out, width=170))),
        daemon=True)
    runner.start()
    url = f"http://127.0.0.1:{port}"
    seen: dict[str, dict] = {}
    while runner.is_alive() and not {"app", "pipeline", "events", "dashboards"} <= set(seen):
        time.sleep(0.5)
        try:
            argocd = httpx.get(f"{url}/health/argocd", timeout=5)
            pipeline = httpx.get(f"{url}/health/pipeline", timeout=5)
        except httpx.HTTPError:
            continue
        if argocd.status_code == 200:
            apps = {e["id"]: e for e in argocd.json()["entities"]}
            app = apps.get("application/argocd/kubevirt")
            if app and app["status"] == "critical" and {r["rule"] for r in app["reasons"]} >= {
                    "argocd.app_health", "argocd.sync_failed"}:
                seen["app"] = app
                detail = httpx.get(f"{url}/health/argocd/application/argocd/kubevirt", timeout=5).json()
                if detail["events"]:
                    seen["events"] = detail
        index = httpx.get(f"{url}/dashboards/", timeout=5)
        if index.status_code == 200 and "Dashboards" in index.text:
            # the index links each dashboard page, and the pages are served too
            page = index.text.split('href="', 1)[1].split('"', 1)[0]
            seen["dashboards"] = {"page": httpx.get(f"{url}/dashboards/{page}", timeout=5).status_code}
        if pipeline.status_code == 200 and any(e["kind"] == "disk" for e in pipeline.json()["entities"]):
            seen["pipeline"] = pipeline.json()
    runner.join(120)
    assert "summary" in done, out.getvalue()[-3000:]
    assert {"app", "pipeline", "events", "dashboards"} <= set(seen), (set(seen), out.getvalue()[-3000:])
    assert seen["app"]["labels"]["project"] == "platform"
    events = seen["events"]["events"]
    assert events[0]["reason"] == "OperationCompleted" and events[0]["object"] == "Application/argocd/kubevirt"
    disks = [e for e in seen["pipeline"]["entities"] if e["kind"] == "disk"]
    assert all(e["status"] in ("ok", "degraded", "critical") for e in disks)
    assert f"{url}/dashboards/" in out.getvalue()
    assert seen["dashboards"]["page"] == 200
