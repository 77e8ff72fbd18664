"""Replay targets for what the dashboards show beyond the platform scenarios.

Kuma sidecars (kuma-dp's :5670 Envoy stats, cluster names as in the captures under
``tests/data/kuma``) and the Kuma control plane (:5680, names and labels from Kuma's
``pkg/xds/metrics``; no public capture exists, so this one is built from the documented
names), KubeVirt's virt-handler per node (per-VM CPU, memory, network, storage and
source-side migration series, as in the user guide's and Harvester's captures), virt-api
and virt-operator readiness, CDI's controller metrics, and Contour's own ``/metrics``.

Each tells a short story on a cycle so panels have a before and an after:

* ``web`` calls ``backend``; for 40 s of every 4 minutes a tenth of those calls fail with
  503 and take 200-500 ms, and connection failures are counted;
* the control plane pushes config steadily; one proxy NACKs a listener every 90 s;
* ``vms/web-02`` live-migrates from worker-2 to worker-1 for 60 s of every 5 minutes;
* Contour rebuilds its DAG every 20 s, one HTTPProxy is invalid for 2 of every 6 minutes.

Counters are functions of elapsed time (integrals of the rates), so any request at any
time gets a consistent, monotonic answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .scenarios_mayastor import MayastorNodeScenario
from .scenarios_platform import (
    EnvoyErrorBurstScenario,
    VirtControllerVmFailedScenario,
    _in_window,
    _labels,
    _time_in_windows,
)

__all__ = [
    "SIDECAR_SCENARIOS",
    "CdiControllerScenario",
    "ContourControllerScenario",
    "EnvoyReplicaScenario",
    "MayastorReplicaNodeScenario",
    "KumaControlPlaneScenario",
    "KumaSidecarScenario",
    "VirtComponentScenario",
    "VirtHandlerScenario",
]

_TEXT = "text/plain; version=0.0.4; charset=utf-8"
_MS_BOUNDS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000)
_S_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
GIB = 1024**3


def _histogram(name: str, labels: Mapping[str, str], bounds: tuple[float, ...], counts: Mapping[float, float], total_sum: float) -> list[str]:
    """Cumulative ``_bucket`` lines from per-bound observation counts (keys must be in ``bounds``)."""
    lines, cumulative = [], 0.0
    for bound in bounds:
        cumulative += counts.get(bound, 0.0)
        lines.append(f"{name}_bucket{_labels({**labels, 'le': f'{bound:g}'})} {int(cumulative)}")
    lines.append(f"{name}_bucket{_labels({**labels, 'le': '+Inf'})} {int(cumulative)}")
    lines.append(f"{name}_sum{_labels(labels)} {total_sum:.3f}")
    lines.append(f"{name}_count{_labels(labels)} {int(cumulative)}")
    return lines


# -- Envoy and Mayastor: a second pod each, with the families the first one lacks -------------


@dataclass
class EnvoyReplicaScenario(EnvoyErrorBurstScenario):
    """A second Contour Envoy pod: the same traffic, plus upstream connection failures and active connections."""

    name: str = "envoy-replica-2"

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        body, content_type = super().render(elapsed_s)
        t = max(elapsed_s, 0.0) + 3600.0
        burst = _time_in_windows(t, self.period_s, self.burst_start_s, self.burst_s)
        lines = ["# TYPE envoy_cluster_upstream_cx_connect_fail counter"]
        for cluster, rps in self.clusters.items():
            fails = 0.0005 * rps * t + (0.05 * rps * burst if cluster == self.failing else 0.0)
            lines.append(f"envoy_cluster_upstream_cx_connect_fail{_labels({'envoy_cluster_name': cluster})} {int(fails)}")
        lines.append("# TYPE envoy_cluster_upstream_cx_active gauge")
        for index, cluster in enumerate(self.clusters):
            lines.append(f"envoy_cluster_upstream_cx_active{_labels({'envoy_cluster_name': cluster})} {4 + index + int(t) % 3}")
        return body + ("\n".join(lines) + "\n").encode(), content_type


@dataclass
class MayastorReplicaNodeScenario(MayastorNodeScenario):
    """An io-engine node that also hosts replicas of other nodes' volumes (``replica_*`` I/O totals)."""

    replicas: tuple[tuple[str, str], ...] = ()  # (replica uuid, pv_name)

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        body, content_type = super().render(elapsed_s)
        t = 600 + elapsed_s
        lines: list[str] = []
        for key, help_text, per_s in (
            ("num_read_ops", "Number of read operations on the replica", 0.3 * self.iops),
            ("num_write_ops", "Number of write operations on the replica", 0.2 * self.iops),
            ("bytes_read", "Total bytes read on the replica", 0.3 * self.iops * 4096),
            ("bytes_written", "Total bytes written on the replica", 0.2 * self.iops * 16384),
        ):
            lines += [f"# HELP replica_{key} {help_text}", f"# TYPE replica_{key} gauge"]
            for uuid, pv_name in self.replicas:
                labels = {"name": uuid, "node": self.node, "pool_name": self.pool, "pool_uuid": "", "pv_name": pv_name}
                lines.append(f"replica_{key}{_labels(labels)} {int(per_s * t)}")
        return body + ("\n".join(lines) + "\n").encode(), content_type


# -- Kuma data plane ---------------------------------------------------------------------------


@dataclass
class KumaSidecarScenario:
    """One kuma-dp sidecar: inbound traffic to its service, outbound calls to other services."""

    name: str
    service: str
    inbound_rps: float
    #: outbound Kuma cluster name (``<service>_<namespace>_svc_<port>``) -> requests per second
    outbound: Mapping[str, float] = field(default_factory=dict)
    failing: str = ""
    source: str = "kuma-dp"
    path: str = "/metrics"
    period_s: float = 240.0
    burst_start_s: float = 30.0
    burst_s: float = 40.0
    options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.options = {"mesh": "default", "service": self.service, **self.options}

    def _calls(self, cluster: str, t: float) -> tuple[float, float, float]:
        """(total, 5xx, slow) calls to ``cluster`` up to ``t``."""
        total = self.outbound[cluster] * t
        errors = 0.001 * total
        slow = 0.0
        if cluster == self.failing:
            burst = self.outbound[cluster] * _time_in_windows(t, self.period_s, self.burst_start_s, self.burst_s)
            errors += 0.1 * burst
            slow = burst
        return total, errors, slow

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        t = max(elapsed_s, 0.0) + 1800.0
        lines = ["# TYPE envoy_cluster_upstream_rq_xx counter"]
        for cluster in self.outbound:
            total, errors, _slow = self._calls(cluster, t)
            for code_class, value in (("2", total - errors), ("5", errors)):
                lines.append(f"envoy_cluster_upstream_rq_xx{_labels({'envoy_cluster_name': cluster, 'envoy_response_code_class': code_class})} {int(value)}")
        inbound = "localhost_8080"
        lines.append(f"envoy_cluster_upstream_rq_xx{_labels({'envoy_cluster_name': inbound, 'envoy_response_code_class': '2'})} {int(self.inbound_rps * t)}")
        lines.append("# TYPE envoy_cluster_upstream_rq_total counter")
        for cluster in (*self.outbound, inbound):
            total = self._calls(cluster, t)[0] if cluster in self.outbound else self.inbound_rps * t
            lines.append(f"envoy_cluster_upstream_rq_total{_labels({'envoy_cluster_name': cluster})} {int(total)}")
        lines.append("# TYPE envoy_cluster_upstream_cx_connect_fail counter")
        for cluster in self.outbound:
            fails = self._calls(cluster, t)[2] * 0.02
            lines.append(f"envoy_cluster_upstream_cx_connect_fail{_labels({'envoy_cluster_name': cluster})} {int(fails)}")
        lines.append("# TYPE envoy_cluster_upstream_rq_time histogram")
        for cluster in self.outbound:
            total, _errors, slow = self._calls(cluster, t)
            fast = total - slow
            counts = {1: fast * 0.2, 5: fast * 0.5, 10: fast * 0.2, 25: fast * 0.08, 50: fast * 0.02, 250: slow * 0.5, 500: slow * 0.5}
            lines += _histogram("envoy_cluster_upstream_rq_time", {"envoy_cluster_name": cluster}, _MS_BOUNDS, counts, fast * 5.2 + slow * 350)
        lines += [
            "# TYPE envoy_cluster_membership_healthy gauge",
            *(f"envoy_cluster_membership_healthy{_labels({'envoy_cluster_name': c})} 2" for c in self.outbound),
            "# TYPE envoy_server_live gauge",
            "envoy_server_live{} 1",
            "# TYPE envoy_control_plane_connected_state gauge",
            "envoy_control_plane_connected_state{} 1",
            "# TYPE envoy_server_days_until_first_cert_expiring gauge",
            "envoy_server_days_until_first_cert_expiring{} 0",
        ]
        return ("\n".join(lines) + "\n").encode(), _TEXT


# -- Kuma control plane ------------------------------------------------------------------------


@dataclass
class KumaControlPlaneScenario:
    name: str = "kuma-control-plane"
    source: str = "kuma-cp"
    path: str = "/metrics"
    options: dict[str, str] = field(default_factory=dict)
    proxies: int = 4
    zone: str = "zone-1"
    nack_every_s: float = 90.0
    type_urls: tuple[str, ...] = (
        "type.googleapis.com/envoy.config.listener.v3.Listener",
        "type.googleapis.com/envoy.config.cluster.v3.Cluster",
        "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
        "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
    )

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        t = max(elapsed_s, 0.0) + 7200.0
        pushes = t / 2.0 * self.proxies  # one generation per proxy every 2 s
        nacks = int(t // self.nack_every_s)
        lines = [
            "# HELP cp_info Static information about the CP instance",
            "# TYPE cp_info gauge",
            'cp_info{instance_id="kuma-control-plane-6d9f8c7b5d-xk2lp",product="Kuma",version="2.7.3"} 1',
            "# HELP leader 1 indicates that this instance is leader",
            "# TYPE leader gauge",
            "leader 1",
            "# HELP xds_streams_active Number of active connections between a server and a client",
            "# TYPE xds_streams_active gauge",
            f"xds_streams_active {self.proxies}",
            "# HELP resources_count Number of resources by type",
            "# TYPE resources_count gauge",
            f'resources_count{{mesh="default",resource_type="Dataplane"}} {self.proxies}',
            "# HELP xds_requests_received Number of confirmations requests from a client",
            "# TYPE xds_requests_received counter",
        ]
        for index, type_url in enumerate(self.type_urls):
            nack = nacks if index == 0 else 0
            lines.append(f"xds_requests_received{_labels({'confirmation': 'ACK', 'type_url': type_url})} {int(pushes) - nack}")
            lines.append(f"xds_requests_received{_labels({'confirmation': 'NACK', 'type_url': type_url})} {nack}")
        lines += ["# HELP xds_responses_sent Number of responses sent by the server to a client", "# TYPE xds_responses_sent counter"]
        for type_url in self.type_urls:
            lines.append(f"xds_responses_sent{_labels({'type_url': type_url})} {int(pushes)}")
        lines += [
            "# HELP xds_generation_errors Counter of errors during XDS generation",
            "# TYPE xds_generation_errors counter",
            f"xds_generation_errors {nacks // 4}",
            "# HELP xds_generation Time it took to generate XDS configuration",
            "# TYPE xds_generation histogram",
        ]
        lines += _histogram("xds_generation", {"proxy_type": "sidecar", "result": "changed"}, _S_BOUNDS,
                            {0.005: pushes * 0.6, 0.01: pushes * 0.3, 0.025: pushes * 0.1}, pushes * 0.0065)
        lines += ["# HELP xds_delivery Time it took to deliver XDS configuration", "# TYPE xds_delivery histogram"]
        lines += _histogram("xds_delivery", {}, _S_BOUNDS, {0.01: pushes * 0.5, 0.025: pushes * 0.4, 0.1: pushes * 0.1}, pushes * 0.02)
        lines += [
            "# HELP xds_cert_expiration_timestamp_seconds Expiration of the mesh's dataplane certificates",
            "# TYPE xds_cert_expiration_timestamp_seconds gauge",
            f'xds_cert_expiration_timestamp_seconds{{mesh="default"}} {1764489600 + 86400 * 30}',
        ]
        return ("\n".join(_with_zone(line, self.zone) for line in lines) + "\n").encode(), _TEXT


def _with_zone(line: str, zone: str) -> str:
    """kuma-cp puts its ``zone`` on every series."""
    if line.startswith("#"):
        return line
    name, _, rest = line.partition(" ")
    if name.endswith("}"):
        return f'{name[:-1]},zone="{zone}"}} {rest}' if not name.endswith("{}") else f'{name[:-2]}{{zone="{zone}"}} {rest}'
    return f'{name}{{zone="{zone}"}} {rest}'


# -- KubeVirt ----------------------------------------------------------------------------------


@dataclass
class VirtHandlerScenario:
    """virt-handler on one node: libvirt stats of the VMs running there."""

    node: str
    vms: tuple[tuple[str, float, float], ...]  # (name, vCPU load 0-1, memory GiB)
    source: str = "kubevirt"
    path: str = "/metrics"
    options: dict[str, str] = field(default_factory=dict)
    namespace: str = "vms"
    migrating: str = "web-02"
    migration_period_s: float = 300.0
    migration_start_s: float = 60.0
    migration_s: float = 60.0

    @property
    def name(self) -> str:
        return f"virt-handler-{self.node}"

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        t = max(elapsed_s, 0.0) + 3600.0
        controller = VirtControllerVmFailedScenario()
        lines = [
            "# HELP kubevirt_virt_handler_ready_status Indication for a virt-handler that is ready to take the lead.",
            "# TYPE kubevirt_virt_handler_ready_status gauge",
            "kubevirt_virt_handler_ready_status 1",
        ]
        families: dict[str, tuple[str, list[str]]] = {}

        def sample(family: str, kind: str, labels: Mapping[str, str], value: float) -> None:
            families.setdefault(family, (kind, []))[1].append(f"{family}{_labels(labels)} {value:.17g}")

        for vm, load, memory_gib in self.vms:
            if vm == "db-01" and controller._db_state(elapsed_s)[0] != "running":
                continue  # the VM is down: virt-handler has no domain to report
            base = {"name": vm, "namespace": self.namespace, "node": self.node}
            sample("kubevirt_vmi_cpu_usage_seconds_total", "counter", base, load * 2 * t)
            sample("kubevirt_vmi_vcpu_seconds_total", "counter", {**base, "id": "0", "state": "running"}, load * t)
            sample("kubevirt_vmi_memory_available_bytes", "gauge", base, memory_gib * GIB)
            sample("kubevirt_vmi_memory_usable_bytes", "gauge", base, memory_gib * GIB * (0.55 - 0.1 * load))
            sample("kubevirt_vmi_memory_resident_bytes", "gauge", base, memory_gib * GIB * (0.4 + 0.1 * load))
            sample("kubevirt_vmi_memory_domain_bytes", "gauge", base, memory_gib * GIB)
            for direction, rate in (("receive", 2.0e6 * load), ("transmit", 0.8e6 * load)):
                sample(f"kubevirt_vmi_network_{direction}_bytes_total", "counter", {**base, "interface": "default"}, rate * t)
                sample(f"kubevirt_vmi_network_{direction}_packets_total", "counter", {**base, "interface": "default"}, rate / 900 * t)
            for kind_, rate in (("read", 4.0e6 * load), ("write", 1.5e6 * load)):
                sample(f"kubevirt_vmi_storage_{kind_}_traffic_bytes_total", "counter", {**base, "drive": "vda"}, rate * t)
                sample(f"kubevirt_vmi_storage_iops_{kind_}_total", "counter", {**base, "drive": "vda"}, rate / 16384 * t)
            if vm == self.migrating and _in_window(t, self.migration_period_s, self.migration_start_s, self.migration_s):
                into = (t % self.migration_period_s - self.migration_start_s) / self.migration_s
                total = memory_gib * GIB
                sample("kubevirt_vmi_migration_data_processed_bytes", "gauge", base, total * into)
                sample("kubevirt_vmi_migration_data_remaining_bytes", "gauge", base, total * (1 - into))
                sample("kubevirt_vmi_migration_memory_transfer_rate_bytes", "gauge", base, total / self.migration_s)
        for family, (kind, samples) in families.items():
            lines.append(f"# TYPE {family} {kind}")
            lines.extend(samples)
        return ("\n".join(lines) + "\n").encode(), _TEXT


@dataclass
class VirtComponentScenario:
    """virt-api or virt-operator: readiness (and leadership for the operator)."""

    component: str  # "api" or "operator"
    source: str = "kubevirt"
    path: str = "/metrics"
    options: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"virt-{self.component}"

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        family = f"kubevirt_virt_{self.component}"
        lines = [f"# TYPE {family}_ready_status gauge", f"{family}_ready_status 1"]
        if self.component == "operator":
            lines += [f"# TYPE {family}_leading_status gauge", f"{family}_leading_status 1"]
        lines += [
            "# TYPE kubevirt_rest_client_requests_total counter",
            f'kubevirt_rest_client_requests_total{{code="200",host="10.96.0.1:443",method="GET"}} {12000 + int(elapsed_s * 2)}',
        ]
        return ("\n".join(lines) + "\n").encode(), _TEXT


@dataclass
class CdiControllerScenario:
    """CDI's controller metrics (:8080): readiness, pending DataVolumes, the running import's progress."""

    name: str = "cdi-deployment"
    source: str = "cdi"
    path: str = "/metrics"
    options: dict[str, str] = field(default_factory=dict)

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        from .scenarios_platform import DataVolumeImportScenario

        phase, progress = DataVolumeImportScenario().importing(elapsed_s)
        lines = [
            "# HELP kubevirt_cdi_cr_ready CDI install ready",
            "# TYPE kubevirt_cdi_cr_ready gauge",
            "kubevirt_cdi_cr_ready 1",
            "# HELP kubevirt_cdi_operator_up CDI operator status",
            "# TYPE kubevirt_cdi_operator_up gauge",
            "kubevirt_cdi_operator_up 1",
            "# HELP kubevirt_cdi_datavolume_pending Number of DataVolumes pending for default storage class to be configured",
            "# TYPE kubevirt_cdi_datavolume_pending gauge",
            f"kubevirt_cdi_datavolume_pending {1 if phase == 'ImportScheduled' else 0}",
            "# HELP kubevirt_cdi_storageprofile_info StorageProfiles info labels",
            "# TYPE kubevirt_cdi_storageprofile_info gauge",
            'kubevirt_cdi_storageprofile_info{complete="true",default="true",provisioner="io.openebs.csi-mayastor",rwx="false",smartclone="true",storageclass="mayastor",virtdefault="false"} 1',
        ]
        if phase == "ImportInProgress":
            lines += [
                "# HELP kubevirt_cdi_import_progress_total The import progress in percentage",
                "# TYPE kubevirt_cdi_import_progress_total counter",
                f'kubevirt_cdi_import_progress_total{{ownerUID="b856691e-1038-11e9-a5ab-525500d15501"}} {float(progress.rstrip("%")):.2f}',
            ]
        return ("\n".join(lines) + "\n").encode(), _TEXT


# -- Contour -----------------------------------------------------------------------------------


@dataclass
class ContourControllerScenario:
    name: str = "contour"
    source: str = "contour"
    path: str = "/metrics"
    options: dict[str, str] = field(default_factory=dict)
    rebuild_every_s: float = 20.0
    period_s: float = 360.0
    invalid_start_s: float = 200.0
    invalid_s: float = 120.0

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        t = max(elapsed_s, 0.0)
        rebuilds = 40 + int(t // self.rebuild_every_s)
        invalid = _in_window(t, self.period_s, self.invalid_start_s, self.invalid_s)
        proxies: dict[tuple[str, str], bool] = {
            ("default", "kuard.example.com"): True,
            ("shop", "shop.example.com"): True,
            ("shop", "api.shop.example.com"): not invalid,
        }
        lines = [
            "# HELP contour_build_info Build information for Contour.",
            "# TYPE contour_build_info gauge",
            'contour_build_info{branch="main",revision="b2e7a1d",version="v1.30.0"} 1',
            "# HELP contour_dagrebuild_total Total number of times DAG has been rebuilt since startup",
            "# TYPE contour_dagrebuild_total counter",
            f"contour_dagrebuild_total {rebuilds}",
            "# HELP contour_dagrebuild_timestamp Timestamp of the last DAG rebuild.",
            "# TYPE contour_dagrebuild_timestamp gauge",
            f"contour_dagrebuild_timestamp {1764489600 + rebuilds * int(self.rebuild_every_s)}",
            "# HELP contour_httpproxy Total number of HTTPProxies.",
            "# TYPE contour_httpproxy gauge",
        ]
        for namespace in sorted({ns for ns, _ in proxies}):
            lines.append(f'contour_httpproxy{{namespace="{namespace}"}} {sum(1 for ns, _ in proxies if ns == namespace)}')
        for state, wanted in (("valid", True), ("invalid", False)):
            lines += [f"# HELP contour_httpproxy_{state} Total number of {state} HTTPProxies.", f"# TYPE contour_httpproxy_{state} gauge"]
            for (namespace, vhost), valid in proxies.items():
                lines.append(f'contour_httpproxy_{state}{{namespace="{namespace}",vhost="{vhost}"}} {1 if valid == wanted else 0}')
        lines += [
            "# HELP contour_dagrebuild_seconds Duration in seconds of DAG rebuilds",
            "# TYPE contour_dagrebuild_seconds summary",
            *(f'contour_dagrebuild_seconds{{quantile="{q}"}} {v}' for q, v in (("0.5", 0.012), ("0.9", 0.031), ("0.99", 0.084))),
            f"contour_dagrebuild_seconds_sum {rebuilds * 0.015:.3f}",
            f"contour_dagrebuild_seconds_count {rebuilds}",
        ]
        lines += [
            "# HELP contour_status_update_failed_total Number of status updates that failed.",
            "# TYPE contour_status_update_failed_total counter",
            f'contour_status_update_failed_total{{kind="HTTPProxy"}} {int(_time_in_windows(t, self.period_s, self.invalid_start_s, self.invalid_s) // 30)}',
        ]
        return ("\n".join(lines) + "\n").encode(), _TEXT


def sidecar_scenarios() -> list[Any]:
    return [
        EnvoyReplicaScenario(),
        MayastorReplicaNodeScenario(
            "node-4", "pool-on-node-4", 100, 0.52, 0.55, 180.0, 600.0, "pvc-5b1e0c7d-2a9f-4e3b-9c8d-6f7a1b2c3d4e",
            replicas=(("77c600a8-6709-4779-9a8f-7e86b8cf005e", "pvc-86e8ccf8-3fcd-4d5a-847c-60016f722403"),
                      ("2f4d6b8a-1c3e-4a5f-9b7d-0e2c4a6b8d1f", "pvc-3f0c2a4e-9a1d-4c55-8d7e-2b61a0c9e111")),
        ),
        KumaSidecarScenario("kuma-dp-web-1", "web", 30.0, {"backend_shop_svc_8080": 24.0}, failing="backend_shop_svc_8080"),
        KumaSidecarScenario("kuma-dp-web-2", "web", 28.0, {"backend_shop_svc_8080": 22.0}, failing="backend_shop_svc_8080"),
        KumaSidecarScenario("kuma-dp-backend-1", "backend", 46.0, {"postgres_shop_svc_5432": 60.0}),
        KumaControlPlaneScenario(),
        VirtHandlerScenario("worker-1", (("db-01", 0.7, 8.0), ("web-01", 0.25, 2.0))),
        VirtHandlerScenario("worker-2", (("web-02", 0.3, 2.0),)),
        VirtComponentScenario("api"),
        VirtComponentScenario("operator"),
        CdiControllerScenario(),
        ContourControllerScenario(),
    ]


SIDECAR_SCENARIOS: list[Any] = sidecar_scenarios()
