"""An Argo CD application controller (:8082 ``/metrics``) whose ``kubevirt`` application drifts.

The families, label sets, clusters and applications are those of the test fixture
``tests/data/argocd/application_controller_metrics_synthesized.prom`` (built from Argo CD's
metrics code and docs); the demo keeps every application healthy except one, whose story
repeats every ``period_s``:

* ``0 .. out_of_sync_s``: Healthy and Synced;
* from ``out_of_sync_s``: a new commit makes it OutOfSync, and the automated sync starts
  (``operation="sync"``);
* at ``sync_fails_s`` the sync fails (``argocd_app_sync_total{phase="Failed"}`` + 1);
* from ``degraded_s``: the half-applied change leaves it Degraded (still OutOfSync);
* at ``recovered_s`` a fixed commit syncs (``phase="Succeeded"`` + 1): Healthy and Synced.

Counters and the reconciliation histogram are functions of elapsed time, so every answer is
consistent and monotonic. The first OutOfSync comes within seconds, so a short demo shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

__all__ = ["ArgoCdDriftScenario", "ARGOCD_SCENARIOS"]

_TEXT = "text/plain; version=0.0.4; charset=utf-8"
_IN_CLUSTER = "https://kubernetes.default.svc"
_SHOP = "https://10.20.0.1:6443"
_REPO_PLATFORM = "https://github.com/example/platform-gitops"
#: (name, project, dest_namespace, dest_server, repo, autosync) as in the fixture.
_APPS = (
    ("contour", "platform", "projectcontour", _IN_CLUSTER, _REPO_PLATFORM, "true"),
    ("kubevirt", "platform", "kubevirt", _IN_CLUSTER, _REPO_PLATFORM, "true"),
    ("kuma", "platform", "kuma-system", _IN_CLUSTER, _REPO_PLATFORM, "false"),
    ("mayastor", "platform", "mayastor", _IN_CLUSTER, _REPO_PLATFORM, "true"),
    ("shop-checkout", "apps", "shop", _SHOP, "https://github.com/example/shop-deploy", "false"),
)
#: The fixture's reconciliation histogram, as cumulative shares of its count per bucket.
_RECONCILE_BOUNDS = ("0.25", "0.5", "1", "2", "4", "8", "16")
_RECONCILE_SHARES = (412 / 1503, 803 / 1503, 1190 / 1503, 1422 / 1503, 1491 / 1503, 1500 / 1503, 1502 / 1503)
_RECONCILE_MEAN_S = 1187.25 / 1503


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


@dataclass
class ArgoCdDriftScenario:
    name: str = "argocd-app-drift"
    source: str = "argocd"
    path: str = "/metrics"
    options: dict[str, str] = field(default_factory=dict)
    drifting: str = "kubevirt"
    period_s: float = 300.0
    out_of_sync_s: float = 4.0
    sync_fails_s: float = 6.0
    degraded_s: float = 8.0
    recovered_s: float = 150.0
    #: reconciliations per second per destination cluster
    reconcile_rate: Mapping[str, float] = field(default_factory=lambda: {_IN_CLUSTER: 2.0, _SHOP: 0.25})

    def state(self, elapsed_s: float) -> tuple[str, str, str]:
        """(health_status, sync_status, operation) of the drifting application."""
        at = elapsed_s % self.period_s
        if at < self.out_of_sync_s or at >= self.recovered_s:
            return "Healthy", "Synced", ""
        if at < self.sync_fails_s:
            return "Healthy", "OutOfSync", "sync"
        if at < self.degraded_s:
            return "Progressing", "OutOfSync", ""
        return "Degraded", "OutOfSync", ""

    def _passed(self, elapsed_s: float, moment_s: float) -> int:
        """How many times ``moment_s`` of the period has passed by ``elapsed_s``."""
        full, rest = divmod(elapsed_s, self.period_s)
        return int(full) + (1 if rest >= moment_s else 0)

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")

        family("argocd_app_info", "gauge", "Information about application.")
        for name, project, dest_ns, server, repo, autosync in _APPS:
            health, sync, operation = ("Healthy", "Synced", "")
            if name == self.drifting:
                health, sync, operation = self.state(elapsed_s)
            labels = {"autosync_enabled": autosync, "dest_namespace": dest_ns, "dest_server": server,
                      "health_status": health, "name": name, "namespace": "argocd", "operation": operation,
                      "project": project, "repo": repo, "sync_status": sync}
            lines.append(f"argocd_app_info{_labels(labels)} 1")

        family("argocd_app_k8s_request_total", "counter",
               "Number of kubernetes requests executed during application reconciliation.")
        for app, kind, ns, verb, rate in (("contour", "Deployment", "projectcontour", "Patch", 0.05),
                                          ("kubevirt", "KubeVirt", "kubevirt", "Get", 1.0)):
            labels = {"dry_run": "false", "name": app, "namespace": "argocd", "project": "platform",
                      "resource_kind": kind, "resource_namespace": ns, "response_code": "200",
                      "server": _IN_CLUSTER, "verb": verb}
            lines.append(f"argocd_app_k8s_request_total{_labels(labels)} {int(300 + rate * elapsed_s)}")

        family("argocd_app_reconcile", "histogram", "Application reconciliation performance in seconds.")
        for server, rate in self.reconcile_rate.items():
            count = int(1500 + rate * elapsed_s)
            base = {"dest_server": server, "namespace": "argocd"}
            for bound, share in zip(_RECONCILE_BOUNDS, _RECONCILE_SHARES):
                lines.append(f"argocd_app_reconcile_bucket{_labels({**base, 'le': bound})} {int(share * count)}")
            lines.append(f"argocd_app_reconcile_bucket{_labels({**base, 'le': '+Inf'})} {count}")
            lines.append(f"argocd_app_reconcile_sum{_labels(base)} {count * _RECONCILE_MEAN_S:.2f}")
            lines.append(f"argocd_app_reconcile_count{_labels(base)} {count}")

        family("argocd_app_sync_total", "counter", "Number of application syncs.")
        failed = 2 + self._passed(elapsed_s, self.sync_fails_s)
        succeeded = 5 + self._passed(elapsed_s, self.recovered_s)
        for app, phase, value, project, server in (
            ("contour", "Succeeded", 7, "platform", _IN_CLUSTER),
            ("kubevirt", "Failed", failed, "platform", _IN_CLUSTER),
            ("kubevirt", "Succeeded", succeeded, "platform", _IN_CLUSTER),
            ("mayastor", "Succeeded", 3, "platform", _IN_CLUSTER),
            ("shop-checkout", "Error", 1, "apps", _SHOP),
        ):
            labels = {"dest_server": server, "dry_run": "false", "name": app, "namespace": "argocd", "phase": phase,
                      "project": project}
            lines.append(f"argocd_app_sync_total{_labels(labels)} {value}")

        clusters = ((_SHOP, "shop-eu1", "1.30", 2210, 61), (_IN_CLUSTER, "in-cluster", "1.31", 5873, 112))
        family("argocd_cluster_api_resource_objects", "gauge", "Number of k8s resource objects in the cache.")
        for server, _name, _version, objects, _resources in clusters:
            lines.append(f"argocd_cluster_api_resource_objects{_labels({'server': server})} {objects}")
        family("argocd_cluster_api_resources", "gauge", "Number of monitored kubernetes API resources.")
        for server, _name, _version, _objects, resources in clusters:
            lines.append(f"argocd_cluster_api_resources{_labels({'server': server})} {resources}")
        family("argocd_cluster_cache_age_seconds", "gauge", "Cluster cache age in seconds.")
        for server, *_rest in clusters:
            lines.append(f"argocd_cluster_cache_age_seconds{_labels({'server': server})} {int(elapsed_s % 60)}")
        family("argocd_cluster_connection_status", "gauge", "The k8s cluster current connection status.")
        for server, _name, version, *_rest in clusters:
            lines.append(f"argocd_cluster_connection_status{_labels({'k8s_version': version, 'server': server})} 1")
        family("argocd_cluster_events_total", "counter", "Number of processes k8s resource events.")
        for group, kind, rate in (("apps", "Deployment", 3.0), ("kubevirt.io", "VirtualMachineInstance", 0.5)):
            labels = {"group": group, "kind": kind, "server": _IN_CLUSTER}
            lines.append(f"argocd_cluster_events_total{_labels(labels)} {int(100 + rate * elapsed_s)}")
        family("argocd_cluster_info", "gauge", "Information about cluster.")
        for server, name, version, *_rest in clusters:
            lines.append(f"argocd_cluster_info{_labels({'k8s_version': version, 'name': name, 'server': server})} 1")

        family("argocd_kubectl_exec_pending", "gauge", "Number of pending kubectl executions")
        lines.append('argocd_kubectl_exec_pending{command="apply",hostname="argocd-application-controller-0"} 0')
        family("argocd_kubectl_exec_total", "counter", "Number of kubectl executions")
        syncs = failed + succeeded
        lines.append(f'argocd_kubectl_exec_total{{command="apply",hostname="argocd-application-controller-0"}} {syncs}')
        family("go_goroutines", "gauge", "Number of goroutines that currently exist.")
        lines.append("go_goroutines 412")
        family("workqueue_depth", "gauge", "Current depth of workqueue")
        operating = 1 if self.state(elapsed_s)[2] == "sync" else 0
        lines.append(f'workqueue_depth{{name="app_reconciliation_queue"}} 0')
        lines.append(f'workqueue_depth{{name="app_operation_processing_queue"}} {operating}')
        return ("\n".join(lines) + "\n").encode(), _TEXT


ARGOCD_SCENARIOS = (ArgoCdDriftScenario(),)
