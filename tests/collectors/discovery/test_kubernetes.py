"""Discovery against a local API server that answers with recorded API JSON; the real
``kubernetes`` client does the talking."""

from __future__ import annotations

import asyncio
import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from collectors import ScrapeTarget
from collectors.discovery import (
    DiscoveredTargets,
    DiscoveryRule,
    KubernetesAccess,
    KubernetesDiscovery,
    default_rules,
    kubernetes_api_client,
)

PAGE = 2  # the API server may return fewer items than asked, with a continue token


class ApiServerState:
    """Objects the local API server serves, by kind; a test edits them between refreshes."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.pods: list[dict] = []
        self.slices: list[dict] = []
        self.objects: dict[tuple[str, str, str], dict] = {}  # (resource, namespace, name)
        self.forbidden: set[str] = set()  # namespaces the service account may not read
        self.requests: list[str] = []

    def load(self, name):
        return json.loads((self.data_dir / "k8s" / name).read_text())

    def set_pods(self, *files):
        self.pods = [p for f in files for p in self.load(f)["items"]]


def _matches(labels: dict, selector: str) -> bool:
    for term in filter(None, (selector or "").split(",")):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term not in labels:
            return False
    return True


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def _page(kind: str, api_version: str, items: list, query: dict) -> dict:
    start = int(query.get("continue", ["0"])[0])
    end = start + PAGE
    metadata = {"resourceVersion": "1048400"}
    if end < len(items):
        metadata["continue"] = str(end)
    return {"kind": kind, "apiVersion": api_version, "metadata": metadata, "items": items[start:end]}


@contextmanager
def api_server(state: ApiServerState):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            state.requests.append(self.path)
            query = parse_qs(parts.query)
            selector = query.get("labelSelector", [""])[0]
            segments = parts.path.strip("/").split("/")
            code, body = 404, _status(404, "NotFound", f"the server could not find {parts.path}")
            namespace = segments[3] if len(segments) > 3 and segments[2] == "namespaces" else ""
            if segments[:2] == ["apis", "discovery.k8s.io"]:
                namespace = segments[4]
            if namespace in state.forbidden:
                code, body = 403, _status(403, "Forbidden", f"forbidden: cannot list in the namespace \"{namespace}\"")
            elif segments == ["api", "v1", "pods"] or segments[-1] == "pods":
                pods = [p for p in state.pods if (not namespace or p["metadata"]["namespace"] == namespace)
                        and _matches(p["metadata"].get("labels", {}), selector)]
                code, body = 200, _page("PodList", "v1", pods, query)
            elif segments[-1] == "endpointslices":
                slices = [s for s in state.slices if s["metadata"]["namespace"] == namespace
                          and _matches(s["metadata"].get("labels", {}), selector)]
                code, body = 200, _page("EndpointSliceList", "discovery.k8s.io/v1", slices, query)
            elif len(segments) == 6 and (segments[4], namespace, segments[5]) in state.objects:
                code, body = 200, state.objects[(segments[4], namespace, segments[5])]
            payload = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

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


@pytest.fixture
def cluster(data_dir):
    state = ApiServerState(data_dir)
    state.set_pods("pods_mayastor.json", "pods_kuma_workloads.json")
    state.slices = state.load("endpointslices.json")["items"]
    state.objects[("services", "kuma-system", "kuma-control-plane")] = state.load("service_kuma_control_plane.json")
    state.objects[("configmaps", "kubevirt", "kubevirt-ca")] = state.load("configmap_kubevirt_ca.json")
    state.objects[("endpoints", "kubevirt", "kubevirt-prometheus-metrics")] = state.load(
        "endpoints_kubevirt_prometheus_metrics.json"
    )
    with api_server(state) as url:
        state.url = url
        yield state


def discovery_for(cluster, rules, tmp_path, **kwargs) -> KubernetesDiscovery:
    client = kubernetes_api_client(KubernetesAccess(mode="url", api_url=cluster.url))
    return KubernetesDiscovery(client, rules, ca_dir=tmp_path / "ca", request_timeout_s=5, **kwargs)


def by_pod(targets):
    return {t.resource.get("k8s.pod.name"): t for t in targets}


def test_every_running_io_engine_pod_is_a_target_with_its_kubernetes_resource(cluster, tmp_path):
    result = discovery_for(cluster, default_rules(["mayastor"]), tmp_path).refresh()
    assert result.errors == ()
    targets = by_pod(result.targets)
    # The Pending pod has no IP yet; the api-rest pod does not match app=io-engine.
    assert set(targets) == {"mayastor-io-engine-4xk8p", "mayastor-io-engine-9wz2d"}
    target = targets["mayastor-io-engine-4xk8p"]
    assert target.url == "http://10.244.1.17:9502/metrics"
    assert (target.source, target.job, target.instance) == ("mayastor", "mayastor", "10.244.1.17:9502")
    assert dict(target.resource) == {
        "k8s.namespace.name": "mayastor",
        "k8s.pod.name": "mayastor-io-engine-4xk8p",
        "k8s.node.name": "worker-1",
    }
    # The openebs namespace of the umbrella chart was asked too, and is simply empty here.
    assert any("/namespaces/openebs/pods" in r for r in cluster.requests)


def test_a_rollout_adds_and_removes_targets_between_refreshes(cluster, tmp_path):
    discovery = discovery_for(cluster, default_rules(["mayastor"]), tmp_path)
    first = discovery.refresh()
    cluster.set_pods("pods_mayastor_after_rollout.json")
    second = discovery.refresh()
    assert {t.resource["k8s.pod.name"] for t in second.added} == {
        "mayastor-io-engine-t2b6n",  # replaced the worker-2 pod
        "mayastor-io-engine-r7m5q",  # got its IP
    }
    assert [t.resource["k8s.pod.name"] for t in second.removed] == ["mayastor-io-engine-9wz2d"]
    assert len(first.targets) == 2 and len(second.targets) == 3
    third = discovery.refresh()
    assert third.added == () and third.removed == () and len(third.targets) == 3


def test_endpoint_slices_give_one_target_per_serving_pod_with_the_kubevirt_ca(cluster, tmp_path, data_dir):
    rules = default_rules(["kubevirt"], bearer_token_file="/var/run/secrets/kubernetes.io/serviceaccount/token")
    result = discovery_for(cluster, rules, tmp_path).refresh()
    assert result.errors == ()
    targets = by_pod(result.targets)
    # The terminating virt-operator replica is left out; a not-ready virt-handler is still scraped.
    assert set(targets) == {
        "virt-api-6f8d9b7c5-8v2kq",
        "virt-controller-7c9f6b8d4-5jx9w",
        "virt-controller-7c9f6b8d4-m2h7r",
        "virt-handler-h8k2p",
        "virt-handler-q4n7z",
        "virt-operator-5d8b7c9f6-2xq8p",
    }
    handler = targets["virt-handler-q4n7z"]
    assert handler.url == "https://10.244.2.61:8443/metrics"
    assert handler.resource["k8s.node.name"] == "worker-2"
    assert handler.bearer_token_file == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    assert not handler.insecure_skip_verify
    # The CA bundle came from the kubevirt-ca ConfigMap and is what the targets verify against.
    configmap = json.loads((data_dir / "k8s/configmap_kubevirt_ca.json").read_text())
    with open(handler.ca_file) as written:
        assert written.read() == configmap["data"]["ca-bundle"]
    assert len({t.ca_file for t in result.targets}) == 1


def test_legacy_endpoints_give_the_same_targets_as_endpoint_slices(cluster, tmp_path):
    rules = default_rules(["kubevirt"])
    with_slices = discovery_for(cluster, rules, tmp_path).refresh().targets
    with_endpoints = discovery_for(cluster, rules, tmp_path, use_endpoint_slices=False).refresh().targets
    assert {t.url for t in with_endpoints} == {t.url for t in with_slices}
    assert by_pod(with_endpoints)["virt-api-6f8d9b7c5-8v2kq"].resource["k8s.node.name"] == "worker-1"


def test_a_cluster_wide_api_is_one_target_through_its_service(cluster, tmp_path):
    result = discovery_for(cluster, default_rules(["kuma-api"]), tmp_path).refresh()
    (target,) = result.targets
    assert target.url == "http://kuma-control-plane.kuma-system.svc:5681"
    assert target.source == "kuma-api" and target.resource["k8s.namespace.name"] == "kuma-system"


def test_injected_sidecars_in_any_namespace_are_found_with_their_mesh(cluster, tmp_path):
    result = discovery_for(cluster, default_rules(["kuma-dp"]), tmp_path).refresh()
    targets = by_pod(result.targets)
    assert set(targets) == {"checkout-5f7d8c9b6-l8k2m", "cart-6c9d7f8b5-p3n7x"}  # the Job opted out
    assert targets["checkout-5f7d8c9b6-l8k2m"].options["mesh"] == "payments"
    assert targets["cart-6c9d7f8b5-p3n7x"].options["mesh"] == "default"
    assert targets["cart-6c9d7f8b5-p3n7x"].url == "http://10.244.2.52:5670/metrics"
    # All namespaces were listed in one call, page by page.
    assert any(r.startswith("/api/v1/pods?") for r in cluster.requests)


def test_a_named_container_port_is_resolved_from_the_pod_spec(cluster, tmp_path):
    rule = DiscoveryRule(source="mayastor", role="pods", namespaces=("mayastor",), label_selector="app=io-engine",
                         port="metrics")
    result = discovery_for(cluster, [rule], tmp_path).refresh()
    assert {t.url for t in result.targets} == {"http://10.244.1.17:9502/metrics", "http://10.244.2.31:9502/metrics"}


def test_a_forbidden_namespace_is_reported_and_keeps_its_last_targets(cluster, tmp_path):
    discovery = discovery_for(cluster, default_rules(["mayastor"]), tmp_path)
    discovery.refresh()
    cluster.forbidden.add("mayastor")
    result = discovery.refresh()
    assert len(result.errors) == 1
    assert "mayastor: cannot read pods in namespace mayastor: HTTP 403" in result.errors[0]
    assert "RBAC.md" in result.errors[0]
    assert len(result.targets) == 2 and result.removed == ()


def test_an_unreachable_api_server_is_an_error_not_an_exception(tmp_path):
    from http_targets import closed_port

    client = kubernetes_api_client(KubernetesAccess(mode="url", api_url=f"http://127.0.0.1:{closed_port()}"))
    discovery = KubernetesDiscovery(client, default_rules(["contour"]), ca_dir=tmp_path, request_timeout_s=2)
    result = discovery.refresh()
    assert result.targets == ()
    assert result.errors and "cannot reach the Kubernetes API" in result.errors[0]


def test_discovered_targets_add_to_static_ones_and_refresh_in_the_background(cluster, tmp_path):
    static = ScrapeTarget("http://10.244.1.17:9502/metrics", source="mayastor", job="mayastor")
    changes = []
    targets = DiscoveredTargets(
        discovery_for(cluster, default_rules(["mayastor", "kuma-api"]), tmp_path),
        static_targets=[static],
        interval_s=3600,
        on_change=changes.append,
    )

    async def run_once():
        stop = asyncio.Event()
        task = asyncio.create_task(targets.run(stop))
        while targets.last is None:
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(run_once())
    current = targets()
    assert current[0] is static
    # The statically configured pod is not scraped twice.
    assert [t.url for t in current].count(static.url) == 1
    assert len(current) == 3 and len(changes) == 1
