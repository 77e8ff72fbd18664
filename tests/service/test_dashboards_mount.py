"""The API serves a previews directory under /dashboards/ when given one (the demo's)."""

from __future__ import annotations

import httpx

from service import create_app

from api_server import served
from health_store import HealthStore


def test_a_dashboards_directory_is_served_with_its_index_and_nothing_outside_it(tmp_path):
    store = HealthStore(tmp_path / "store")
    pages = tmp_path / "dashboards"
    pages.mkdir()
    (pages / "index.html").write_text("<h1>Dashboards</h1><a href='omni-argocd.html'>Argo CD</a>")
    (pages / "omni-argocd.html").write_text("<h1>Argo CD</h1>")
    (tmp_path / "secret.txt").write_text("not for the web")
    with served(create_app(store.monitor(), background=False, dashboards_dir=pages)) as url:
        assert "Dashboards" in httpx.get(f"{url}/dashboards/", timeout=5).text
        assert httpx.get(f"{url}/dashboards/omni-argocd.html", timeout=5).text == "<h1>Argo CD</h1>"
        assert httpx.get(f"{url}/dashboards/missing.html", timeout=5).status_code == 404
        assert httpx.get(f"{url}/dashboards/..%2Fsecret.txt", timeout=5).status_code == 404
        assert httpx.get(f"{url}/livez", timeout=5).status_code == 200


def test_without_a_directory_there_is_no_dashboards_route(tmp_path):
    store = HealthStore(tmp_path / "store")
    with served(create_app(store.monitor(), background=False)) as url:
        assert httpx.get(f"{url}/dashboards/", timeout=5).status_code == 404
