"""DataVolume phase and progress read from a (local) Kubernetes API by the cdi-datavolumes source."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from collectors import ScrapeTarget
from collectors.sources.cdi_datavolumes import CdiDataVolumeSource, datavolume_list_urls
from http_targets import Answer, http_target

LIST = "/apis/cdi.kubevirt.io/v1beta1/datavolumes"
JSON = "application/json"


def api_server(data_dir, forbidden=False):
    def answer(path):
        parts = urlsplit(path)
        if forbidden:
            status = (
                b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"datavolumes.cdi.kubevirt.io '
                b'is forbidden: User \\"system:serviceaccount:observability:omni\\" cannot list resource \\"datavolumes\\" '
                b'in API group \\"cdi.kubevirt.io\\" at the cluster scope","reason":"Forbidden","code":403}'
            )
            return Answer(status, 403, JSON)
        if parts.path != LIST:
            return Answer(b'{"kind":"Status","status":"Failure","reason":"NotFound","code":404}', 404, JSON)
        page = "2" if "continue" in parse_qs(parts.query) else "1"
        return Answer((data_dir / f"cdi/datavolumes_page{page}.json").read_bytes(), 200, JSON)

    return http_target(answer)


def test_phase_progress_readiness_and_restarts_of_every_datavolume_across_pages(data_dir, scrape_once, points_of):
    with api_server(data_dir) as server:
        target = ScrapeTarget(server.url, source="cdi-datavolumes", options={"page_size": "2"})
        result = scrape_once(CdiDataVolumeSource(), target)
        queries = [parse_qs(urlsplit(p).query) for p, _ in server.requests]
    assert result.up, result.error
    assert queries[0] == {"limit": ["2"]} and queries[1]["continue"][0].startswith("eyJ2Ijoi")
    phases = {(a["namespace"], a["name"]): a["phase"] for a, v in points_of(result, "cdi_datavolume_phase")}
    assert phases == {
        ("vms", "db-01-root"): "Succeeded",
        ("vms", "web-01-root"): "ImportInProgress",
        ("vms", "scratch-root"): "Pending",
        ("ci", "win-build-root"): "Failed",
    }
    assert {v for _, v in points_of(result, "cdi_datavolume_phase")} == {1.0}
    progress = {a["name"]: v for a, v in points_of(result, "cdi_datavolume_progress_ratio")}
    # "N/A" (not started) has no progress point rather than a misleading 0.
    assert progress == {"db-01-root": 1.0, "web-01-root": pytest.approx(0.1345), "win-build-root": 0.0}
    ready = {a["name"]: v for a, v in points_of(result, "cdi_datavolume_ready")}
    assert ready == {"db-01-root": 1.0, "web-01-root": 0.0, "scratch-root": 0.0, "win-build-root": 0.0}
    restarts = {a["name"]: v for a, v in points_of(result, "cdi_datavolume_restarts")}
    assert restarts["win-build-root"] == 3.0
    units = {m.name: m.unit for s in result.resource_metrics.scope_metrics for m in s.metrics}
    assert units["cdi_datavolume_progress_ratio"] == "1"


def test_missing_permission_names_rbac_in_the_error(data_dir, scrape_once):
    with api_server(data_dir, forbidden=True) as server:
        result = scrape_once(CdiDataVolumeSource(), ScrapeTarget(server.url, source="cdi-datavolumes"))
    assert not result.up
    assert "HTTP 403" in result.error and "RBAC" in result.error


def test_an_api_server_without_cdi_says_so(data_dir, scrape_once):
    with api_server(data_dir) as server:
        target = ScrapeTarget(server.url, source="cdi-datavolumes", options={"api_version": "v1alpha1"})
        result = scrape_once(CdiDataVolumeSource(), target)
    assert not result.up and "is CDI installed" in result.error


def test_list_urls_per_namespace_or_as_given():
    base = ScrapeTarget("https://kubernetes.default.svc", source="cdi-datavolumes", options={"namespaces": "vms, ci"})
    assert datavolume_list_urls(base) == [
        "https://kubernetes.default.svc/apis/cdi.kubevirt.io/v1beta1/namespaces/vms/datavolumes",
        "https://kubernetes.default.svc/apis/cdi.kubevirt.io/v1beta1/namespaces/ci/datavolumes",
    ]
    direct = ScrapeTarget("http://127.0.0.1:9/apis/cdi.kubevirt.io/v1beta1/datavolumes", source="cdi-datavolumes")
    assert datavolume_list_urls(direct) == [direct.url]
