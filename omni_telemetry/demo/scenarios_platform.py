"""Replay targets for the rest of the platform: Contour's Envoy, Kuma's API, KubeVirt, CDI, Mayastor's API.

Each scenario repeats a short story on a cycle, so a demo of any length shows the state
changes operators watch for, and the dashboards have a before and an after:

* ``envoy-5xx-burst``: steady ingress traffic; every 3 minutes the ``shop/checkout-api``
  upstream answers a quarter of its requests with 5xx for 30 s, with slower responses;
* ``kuma-dataplane-offline``: the ``backend-1`` proxy loses its control-plane connection
  for two minutes, then ``web-2`` is partially degraded (an inbound not ready) for one;
* ``kubevirt-vm-failed``: virt-controller's VM inventory, in which ``vms/db-01`` fails,
  is restarted (scheduling, starting) and runs again;
* ``cdi-datavolume-import``: a DataVolume import goes scheduled → in progress (0–100%) →
  succeeded, served as the Kubernetes API's DataVolumeList;
* ``mayastor-volume-rebuild``: a volume goes degraded while a replica rebuilds, then online.

Counters are functions of elapsed time (integrals of the rates), never stored state, so
any request at any time gets a consistent, monotonic answer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = [
    "PLATFORM_SCENARIOS",
    "DataVolumeImportScenario",
    "EnvoyErrorBurstScenario",
    "KumaDataplaneOfflineScenario",
    "MayastorVolumeRebuildScenario",
    "VirtControllerVmFailedScenario",
]

_TEXT = "text/plain; version=0.0.4; charset=utf-8"
_JSON = "application/json"
_ENVOY_BOUNDS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000)


def _time_in_windows(elapsed_s: float, period_s: float, start_s: float, length_s: float) -> float:
    """Seconds of [0, elapsed_s] that fall in the windows [k*period+start, k*period+start+length)."""
    full, rest = divmod(elapsed_s, period_s)
    inside = min(max(rest - start_s, 0.0), length_s)
    return full * length_s + inside


def _in_window(elapsed_s: float, period_s: float, start_s: float, length_s: float) -> bool:
    return start_s <= elapsed_s % period_s < start_s + length_s


def _in_days(days: float) -> str:
    """An RFC 3339 time ``days`` from now: certificates in the demo are valid, not long expired."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + days * 86400))


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


# -- Envoy -------------------------------------------------------------------------------------


@dataclass
class EnvoyErrorBurstScenario:
    name: str = "envoy-5xx-burst"
    source: str = "envoy"
    path: str = "/stats/prometheus"
    options: dict[str, str] = field(default_factory=dict)
    period_s: float = 180.0
    burst_start_s: float = 120.0
    burst_s: float = 30.0
    #: upstream cluster (Contour stat name) -> requests per second
    clusters: Mapping[str, float] = field(
        default_factory=lambda: {"default_kuard_80": 40.0, "shop_checkout-api_8443": 12.0, "shop_cart_8080": 25.0}
    )
    failing: str = "shop_checkout-api_8443"
    burst_error_ratio: float = 0.25

    def _requests(self, cluster: str, elapsed_s: float) -> tuple[float, float, float]:
        """(total, 5xx, 4xx) requests of a cluster since start."""
        total = self.clusters[cluster] * elapsed_s
        errors = 0.002 * total
        if cluster == self.failing:
            burst = _time_in_windows(elapsed_s, self.period_s, self.burst_start_s, self.burst_s)
            errors += self.burst_error_ratio * self.clusters[cluster] * burst
        return float(int(total)), float(int(errors)), float(int(0.01 * total))

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        t = max(elapsed_s, 0.0) + 3600.0  # the proxy has been up an hour when the demo starts
        lines: list[str] = []
        internal = ("projectcontour_contour_8001", "projectcontour_envoy-admin_9001")
        all_clusters = list(self.clusters) + list(internal)
        lines.append("# TYPE envoy_cluster_upstream_rq_xx counter")
        for cluster in self.clusters:
            total, errors, client_errors = self._requests(cluster, t)
            for code_class, value in (("2", total - errors - client_errors), ("4", client_errors), ("5", errors)):
                labels = {"envoy_response_code_class": code_class, "envoy_cluster_name": cluster}
                lines.append(f"envoy_cluster_upstream_rq_xx{_labels(labels)} {value:.0f}")
        lines.append("# TYPE envoy_cluster_upstream_rq_total counter")
        for cluster in all_clusters:
            total = self._requests(cluster, t)[0] if cluster in self.clusters else float(int(t / 30))
            lines.append(f'envoy_cluster_upstream_rq_total{{envoy_cluster_name="{cluster}"}} {total:.0f}')
        lines.append("# TYPE envoy_http_downstream_rq_xx counter")
        ingress = {k: sum(self._requests(c, t)[i] for c in self.clusters) for i, k in enumerate(("total", "5", "4"))}
        for code_class in ("2", "4", "5"):
            value = ingress["total"] - ingress["5"] - ingress["4"] if code_class == "2" else ingress[code_class]
            labels = {"envoy_response_code_class": code_class, "envoy_http_conn_manager_prefix": "ingress_https"}
            lines.append(f"envoy_http_downstream_rq_xx{_labels(labels)} {value:.0f}")
        lines.append("# TYPE envoy_http_downstream_rq_total counter")
        lines.append(f'envoy_http_downstream_rq_total{{envoy_http_conn_manager_prefix="ingress_https"}} {ingress["total"]:.0f}')
        lines.append("# TYPE envoy_cluster_membership_healthy gauge")
        bursting = _in_window(t, self.period_s, self.burst_start_s, self.burst_s)
        for cluster in all_clusters:
            healthy = 1 if cluster == self.failing and bursting else 2
            lines.append(f'envoy_cluster_membership_healthy{{envoy_cluster_name="{cluster}"}} {healthy}')
        lines.append("# TYPE envoy_cluster_membership_total gauge")
        for cluster in all_clusters:
            lines.append(f'envoy_cluster_membership_total{{envoy_cluster_name="{cluster}"}} 2')
        lines.append("# TYPE envoy_http_downstream_cx_active gauge")
        lines.append(f'envoy_http_downstream_cx_active{{envoy_http_conn_manager_prefix="ingress_https"}} {40 + int(t) % 7}')
        lines.append("# TYPE envoy_server_live gauge")
        lines.append("envoy_server_live{} 1")
        lines.append("# TYPE envoy_server_state gauge")
        lines.append("envoy_server_state{} 0")
        lines.append("# TYPE envoy_server_uptime gauge")
        lines.append(f"envoy_server_uptime{{}} {int(t)}")
        lines.append("# TYPE envoy_control_plane_connected_state gauge")
        lines.append("envoy_control_plane_connected_state{} 1")
        lines.append("# TYPE envoy_cluster_upstream_rq_time histogram")
        for cluster in self.clusters:
            lines.extend(self._latency(cluster, t))
        return ("\n".join(lines) + "\n").encode(), _TEXT

    def _latency(self, cluster: str, t: float) -> list[str]:
        """Most requests take 5-25 ms; the failing cluster's burst requests take 250 ms-1 s."""
        total = self._requests(cluster, t)[0]
        slow = 0.0
        if cluster == self.failing:
            slow = self.clusters[cluster] * _time_in_windows(t, self.period_s, self.burst_start_s, self.burst_s)
        fast = total - slow
        shares = {5: 0.15, 10: 0.55, 25: 0.25, 50: 0.04, 100: 0.01}
        lines, cumulative = [], 0.0
        for bound in _ENVOY_BOUNDS:
            cumulative += fast * shares.get(bound, 0.0) + (slow * 0.5 if bound in (500, 1000) else 0.0)
            labels = {"envoy_cluster_name": cluster, "le": f"{bound:g}"}
            lines.append(f"envoy_cluster_upstream_rq_time_bucket{_labels(labels)} {int(cumulative)}")
        count = int(cumulative)
        lines.append(f'envoy_cluster_upstream_rq_time_bucket{{envoy_cluster_name="{cluster}",le="+Inf"}} {count}')
        lines.append(f'envoy_cluster_upstream_rq_time_sum{{envoy_cluster_name="{cluster}"}} {fast * 11.5 + slow * 600:.1f}')
        lines.append(f'envoy_cluster_upstream_rq_time_count{{envoy_cluster_name="{cluster}"}} {count}')
        return lines


# -- Kuma --------------------------------------------------------------------------------------


@dataclass
class KumaDataplaneOfflineScenario:
    """Kuma's control-plane API (served under ``/``) for one mesh of four proxies."""

    name: str = "kuma-dataplane-offline"
    source: str = "kuma-api"
    path: str = "/"
    options: dict[str, str] = field(default_factory=dict)
    period_s: float = 360.0
    offline_start_s: float = 60.0
    offline_s: float = 120.0
    degraded_start_s: float = 240.0
    degraded_s: float = 60.0
    mesh: str = "default"

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        return self.render_path(f"/meshes/{self.mesh}/dataplanes/_overview", elapsed_s)

    def render_path(self, request_path: str, elapsed_s: float) -> tuple[bytes, str]:
        path = request_path.split("?", 1)[0].rstrip("/")
        overviews = self._overviews(elapsed_s)
        if path == "/meshes":
            document: Any = {"total": 1, "items": [{"type": "Mesh", "name": self.mesh}], "next": None}
        elif path == "/mesh-insights":
            document = {"total": 1, "items": [self._mesh_insight(elapsed_s)], "next": None}
        elif path in (f"/meshes/{self.mesh}/dataplanes/_overview", f"/meshes/{self.mesh}/dataplanes+insights"):
            document = {"total": len(overviews), "items": overviews, "next": None}
        elif path == f"/meshes/{self.mesh}/service-insights":
            document = {"total": 0, "items": [], "next": None}  # as Kuma 3.x: no longer computed
        else:
            raise LookupError(f"the Kuma API replay has no {path}")
        return json.dumps(document).encode(), _JSON

    def _states(self, elapsed_s: float) -> dict[str, str]:
        offline = _in_window(elapsed_s, self.period_s, self.offline_start_s, self.offline_s)
        degraded = _in_window(elapsed_s, self.period_s, self.degraded_start_s, self.degraded_s)
        return {
            "web-1": "online",
            "web-2": "partially_degraded" if degraded else "online",
            "backend-1": "offline" if offline else "online",
            "edge-gateway": "online",
        }

    def _overviews(self, elapsed_s: float) -> list[dict[str, Any]]:
        states = self._states(elapsed_s)
        services = {"web-1": "web", "web-2": "web", "backend-1": "backend", "edge-gateway": "edge-gateway"}
        items = []
        for index, (name, state) in enumerate(states.items()):
            subscription: dict[str, Any] = {
                "id": f"stream-{name}",
                "controlPlaneInstanceId": "kuma-control-plane-6d9f8c7b5d-xk2lp",
                "connectTime": "2025-11-20T08:00:00Z",
                "status": {"lastUpdateTime": "2025-11-20T08:00:05Z", "total": {"responsesSent": "42", "responsesAcknowledged": "42"}},
                "version": {"kumaDp": {"version": "2.7.3"}, "envoy": {"version": "1.29.4"}},
            }
            if state == "offline":
                subscription["disconnectTime"] = "2025-11-20T09:00:00Z"
            tags = {"kuma.io/service": services[name], "kuma.io/zone": "default", "kuma.io/protocol": "http"}
            networking: dict[str, Any] = {"address": f"10.244.1.{60 + index}"}
            if name == "edge-gateway":
                networking["gateway"] = {"type": "DELEGATED", "tags": tags}
            else:
                inbound = [{"port": 8080, "servicePort": 8080, "tags": tags, "state": "Ready"}]
                if name.startswith("web"):
                    admin = {**tags, "kuma.io/service": "web-admin"}
                    ready = "NotReady" if state == "partially_degraded" else "Ready"
                    inbound.append({"port": 9090, "tags": admin, "state": ready, "health": {"ready": ready == "Ready"}})
                networking["inbound"] = inbound
            items.append(
                {
                    "type": "DataplaneOverview",
                    "mesh": self.mesh,
                    "name": name,
                    "labels": {"kuma.io/zone": "default", "k8s.kuma.io/namespace": "shop"},
                    "dataplane": {"networking": networking},
                    "dataplaneInsight": {
                        "subscriptions": [subscription],
                        "mTLS": {"certificateExpirationTime": _in_days(30), "issuedBackend": "ca-1"},
                    },
                }
            )
        return items

    def _mesh_insight(self, elapsed_s: float) -> dict[str, Any]:
        states = list(self._states(elapsed_s).values())
        counts = {"total": len(states)}
        for state, key in (("online", "online"), ("offline", "offline"), ("partially_degraded", "partiallyDegraded")):
            if states.count(state):
                counts[key] = states.count(state)  # Kuma omits zero counts
        return {"type": "MeshInsight", "name": self.mesh, "dataplanes": counts}


# -- KubeVirt ----------------------------------------------------------------------------------


@dataclass
class VirtControllerVmFailedScenario:
    """virt-controller's VM and VMI inventory; ``vms/db-01`` fails and comes back."""

    name: str = "kubevirt-vm-failed"
    source: str = "kubevirt"
    path: str = "/metrics"
    options: dict[str, str] = field(default_factory=dict)
    period_s: float = 420.0
    #: (phase offset, VMI phase, VM printable status, VM status group); the last entry lasts to the period end
    story: tuple[tuple[float, str, str, str], ...] = (
        (0.0, "running", "running", "running"),
        (150.0, "failed", "crashloopbackoff", "error"),
        (300.0, "scheduling", "starting", "starting"),
        (330.0, "scheduled", "starting", "starting"),
        (360.0, "running", "running", "running"),
    )

    def _db_state(self, elapsed_s: float) -> tuple[str, str, str]:
        offset = elapsed_s % self.period_s
        current = self.story[0][1:]
        for start, *state in self.story:
            if offset >= start:
                current = tuple(state)  # type: ignore[assignment]
        return current  # type: ignore[return-value]

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        phase, status, group = self._db_state(elapsed_s)
        vms = [
            ("db-01", "vms", "worker-1", "u1.medium", phase, status, group),
            ("web-01", "vms", "worker-1", "u1.small", "running", "running", "running"),
            ("web-02", "vms", "worker-2", "u1.small", "running", "running", "running"),
        ]
        lines = [
            "# HELP kubevirt_vm_info Information about Virtual Machines.",
            "# TYPE kubevirt_vm_info gauge",
        ]
        for name, namespace, _node, instance_type, _phase, vm_status, vm_group in vms:
            labels = {"flavor": "<none>", "instance_type": instance_type, "machine_type": "q35", "name": name,
                      "namespace": namespace, "os": "fedora", "preference": "fedora", "status": vm_status,
                      "status_group": vm_group, "workload": "server"}
            lines.append(f"kubevirt_vm_info{_labels(labels)} 1")
        lines += ["# HELP kubevirt_vmi_info Information about VirtualMachineInstances.", "# TYPE kubevirt_vmi_info gauge"]
        for name, namespace, node, instance_type, vmi_phase, _status, _group in vms:
            labels = {"evictable": "true", "flavor": "<none>", "guest_os_name": "Fedora Linux", "guest_os_version_id": "40",
                      "instance_type": instance_type, "name": name, "namespace": namespace,
                      "node": "" if vmi_phase == "scheduling" else node, "os": "fedora", "outdated": "false",
                      "phase": vmi_phase, "preference": "fedora", "vmi_pod": f"virt-launcher-{name}-x7k2p", "workload": "server"}
            lines.append(f"kubevirt_vmi_info{_labels(labels)} 1")
        running = sum(1 for vm in vms if vm[4] == "running")
        lines += [
            "# HELP kubevirt_vm_running_status_last_transition_timestamp_seconds Virtual Machine last transition timestamp to running status.",
            "# TYPE kubevirt_vm_running_status_last_transition_timestamp_seconds counter",
            f'kubevirt_vm_running_status_last_transition_timestamp_seconds{{name="db-01",namespace="vms"}} {1732100000 + int(elapsed_s // self.period_s) * int(self.period_s)}',
            "# HELP kubevirt_virt_controller_leading_status Indication for an operating virt-controller.",
            "# TYPE kubevirt_virt_controller_leading_status gauge",
            "kubevirt_virt_controller_leading_status 1",
            "# HELP kubevirt_virt_controller_ready_status Indication for a virt-controller that is ready to take the lead.",
            "# TYPE kubevirt_virt_controller_ready_status gauge",
            "kubevirt_virt_controller_ready_status 1",
            "# HELP kubevirt_rest_client_requests_total Number of HTTP requests, partitioned by status code, method, and host.",
            "# TYPE kubevirt_rest_client_requests_total counter",
            f'kubevirt_rest_client_requests_total{{code="200",host="10.96.0.1:443",method="GET"}} {48000 + int(elapsed_s * 3 * running)}',
        ]
        return ("\n".join(lines) + "\n").encode(), _TEXT


# -- CDI ---------------------------------------------------------------------------------------


@dataclass
class DataVolumeImportScenario:
    """The Kubernetes API's DataVolumeList: one import runs scheduled → in progress → succeeded."""

    name: str = "cdi-datavolume-import"
    source: str = "cdi-datavolumes"
    path: str = "/apis/cdi.kubevirt.io/v1beta1/datavolumes"
    options: dict[str, str] = field(default_factory=dict)
    period_s: float = 300.0
    scheduled_s: float = 20.0
    import_s: float = 180.0

    def importing(self, elapsed_s: float) -> tuple[str, str]:
        offset = elapsed_s % self.period_s
        if offset < self.scheduled_s:
            return "ImportScheduled", "N/A"
        if offset < self.scheduled_s + self.import_s:
            return "ImportInProgress", f"{100.0 * (offset - self.scheduled_s) / self.import_s:.2f}%"
        return "Succeeded", "100.0%"

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        phase, progress = self.importing(elapsed_s)
        items = [
            _datavolume("vms", "fedora-40-root", phase, progress, int(elapsed_s // self.period_s)),
            _datavolume("vms", "db-01-root", "Succeeded", "100.0%", 0),
        ]
        document = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolumeList",
                    "metadata": {"resourceVersion": str(48000 + int(elapsed_s))}, "items": items}
        return json.dumps(document).encode(), _JSON


def _datavolume(namespace: str, name: str, phase: str, progress: str, generation: int) -> dict[str, Any]:
    ready = phase == "Succeeded"
    return {
        "apiVersion": "cdi.kubevirt.io/v1beta1",
        "kind": "DataVolume",
        "metadata": {"name": name, "namespace": namespace, "generation": generation + 1},
        "spec": {"source": {"http": {"url": "https://download.fedoraproject.org/pub/fedora/linux/releases/40/Cloud/x86_64/images/Fedora-Cloud-Base-Generic.x86_64-40-1.14.qcow2"}},
                 "storage": {"resources": {"requests": {"storage": "30Gi"}}, "storageClassName": "mayastor"}},
        "status": {
            "phase": phase,
            "progress": progress,
            "restartCount": 0,
            "claimName": name,
            "conditions": [
                {"type": "Bound", "status": "True", "reason": "Bound"},
                {"type": "Ready", "status": "True" if ready else "False", "reason": "Completed" if ready else "TransferRunning"},
                {"type": "Running", "status": "True" if phase == "ImportInProgress" else "False"},
            ],
        },
    }


# -- Mayastor control plane --------------------------------------------------------------------


@dataclass
class MayastorVolumeRebuildScenario:
    """Mayastor's REST API (served under ``/v0``): a replica falls out and is rebuilt."""

    name: str = "mayastor-volume-rebuild"
    source: str = "mayastor-api"
    path: str = "/v0"
    options: dict[str, str] = field(default_factory=dict)
    period_s: float = 400.0
    degraded_start_s: float = 100.0
    rebuild_s: float = 200.0
    volume: str = "7e3f9a2b-0d4c-4f5e-8a6b-1c2d3e4f5a6b"

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        return self.render_path("/v0/volumes", elapsed_s)

    def render_path(self, request_path: str, elapsed_s: float) -> tuple[bytes, str]:
        part = request_path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        offset = elapsed_s % self.period_s
        rebuilding = self.degraded_start_s <= offset < self.degraded_start_s + self.rebuild_s
        progress = int(100 * (offset - self.degraded_start_s) / self.rebuild_s) if rebuilding else None
        documents: dict[str, Any] = {
            "nodes": [
                {"id": f"worker-{n}", "spec": {"id": f"worker-{n}", "grpcEndpoint": f"10.0.0.1{n}:10124",
                                               **({"cordondrainstate": {"cordonedstate": {"cordonlabels": ["maintenance"]}}} if n == 3 else {})},
                 "state": {"id": f"worker-{n}", "grpcEndpoint": f"10.0.0.1{n}:10124", "status": "Online"}}
                for n in (1, 2, 3)
            ],
            "pools": [
                {"id": f"pool-worker-{n}", "spec": {"id": f"pool-worker-{n}", "node": f"worker-{n}", "disks": ["aio:///dev/nvme1n1"], "status": "Created"},
                 "state": {"id": f"pool-worker-{n}", "node": f"worker-{n}", "disks": ["aio:///dev/nvme1n1"], "status": "Online",
                           "capacity": 1000203091968, "used": 214748364800 + n * 10737418240, "committed": 536870912000}}
                for n in (1, 2, 3)
            ],
            "volumes": {"entries": [self._volume(progress)]},
            "nexuses": [
                {"uuid": self.volume, "node": "worker-1", "size": 34359738368, "protocol": "nvmf", "deviceUri": "",
                 "rebuilds": 1 if rebuilding else 0, "state": "Degraded" if rebuilding else "Online",
                 "children": [{"uri": "bdev:///replica-a", "state": "Online"},
                              {"uri": "nvmf://10.0.0.12:8420/replica-b", "state": "Degraded" if rebuilding else "Online",
                               **({"rebuildProgress": progress} if rebuilding else {})}]}
            ],
        }
        if part not in documents:
            raise LookupError(f"the Mayastor API replay has no /v0/{part}")
        return json.dumps(documents[part]).encode(), _JSON

    def _volume(self, progress: int | None) -> dict[str, Any]:
        second: dict[str, Any] = {"node": "worker-2", "pool": "pool-worker-2", "state": "Online", "child-status": "Online"}
        if progress is not None:
            second.update({"child-status": "Degraded", "rebuild-progress": progress})
        return {
            "spec": {"uuid": self.volume, "size": 34359738368, "num_replicas": 2, "status": "Created",
                     "policy": {"self_heal": True}, "thin": False},
            "state": {"uuid": self.volume, "size": 34359738368, "status": "Degraded" if progress is not None else "Online",
                      "replica_topology": {"replica-a": {"node": "worker-1", "pool": "pool-worker-1", "state": "Online", "child-status": "Online"},
                                           "replica-b": second}},
        }


PLATFORM_SCENARIOS: list[Any] = [
    EnvoyErrorBurstScenario(),
    KumaDataplaneOfflineScenario(),
    VirtControllerVmFailedScenario(),
    DataVolumeImportScenario(),
    MayastorVolumeRebuildScenario(),
]
