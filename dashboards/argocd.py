"""Argo CD: applications by health and sync status, their history, sync activity and failures,
reconciliation time and the managed clusters' connection.

All series come from the application controller's ``/metrics`` (source and job ``argocd``).
``argocd_app_info`` has one series per application whose ``health_status`` and
``sync_status`` labels carry the state (a change of state starts a new series), so the
current state of an application is the label set of its newest point. The reconciliation
histogram and the cluster cache series are per destination cluster, not per application:
the project and application variables do not narrow them.
"""

from __future__ import annotations

from grafanalib.core import Dashboard

from ._common import CLUSTER_VARIABLES, job, query_variable
from ._grafana import Layout, StateMap, dashboard, stat, state_timeline, status_history, table, timeseries
from ._sql import (
    CLUSTER,
    GAUGE,
    attr,
    histogram_quantile_series,
    increase_table,
    rate_series,
    series_over_time,
    state_series,
    when_selected,
)

UID = "omni-argocd"

PROJECT = when_selected(attr("project"), "project")
APPLICATION = when_selected(attr("name"), "application")
_APP_FILTERS = [job("argocd"), PROJECT, APPLICATION]
_APP = f"concat({attr('namespace')}, '/', {attr('name')})"

#: Argo CD's health statuses (gitops-engine ``health.HealthStatusCode``), worst last but Unknown.
HEALTH = ["Healthy", "Progressing", "Suspended", "Degraded", "Missing", "Unknown"]
HEALTH_STATES = StateMap([(0, "other", "gray"), (1, "Healthy", "green"), (2, "Progressing", "blue"),
                          (3, "Suspended", "purple"), (4, "Degraded", "red"), (5, "Missing", "orange"),
                          (6, "Unknown", "gray")])
SYNC = ["Synced", "OutOfSync", "Unknown"]
SYNC_STATES = StateMap([(0, "other", "gray"), (1, "Synced", "green"), (2, "OutOfSync", "orange"), (3, "Unknown", "gray")])


def _array(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _latest_apps(columns: str) -> str:
    """The newest labels of every application in the range (one row per application)."""
    return f"""
  SELECT {attr('namespace')} AS app_namespace, {attr('name')} AS application,
         {columns}
  FROM {GAUGE}
  WHERE $__timeFilter(TimeUnix) AND MetricName = 'argocd_app_info' AND Flags = 0 AND Value = 1
    AND {CLUSTER}
    AND {job('argocd')}
    AND {PROJECT}
    AND {APPLICATION}
  GROUP BY app_namespace, application"""


def _count_by(label: str, name: str) -> str:
    return f"""
SELECT {name}, count() AS applications
FROM ({_latest_apps(f"argMax({attr(label)}, TimeUnix) AS {name}")}
)
GROUP BY {name}
ORDER BY applications DESC, {name}
""".strip() + "\n"


BY_HEALTH = _count_by("health_status", "health")
BY_SYNC = _count_by("sync_status", "sync")

APPLICATIONS = f"""
SELECT application, project, health, sync, destination, operation, autosync
FROM ({_latest_apps(f'''argMax({attr('project')}, TimeUnix) AS project,
         argMax({attr('health_status')}, TimeUnix) AS health,
         argMax({attr('sync_status')}, TimeUnix) AS sync,
         argMax(concat({attr('dest_server')}, ' ', {attr('dest_namespace')}), TimeUnix) AS destination,
         argMax({attr('operation')}, TimeUnix) AS operation,
         argMax({attr('autosync_enabled')}, TimeUnix) AS autosync''')}
)
ORDER BY indexOf({_array(HEALTH)}, health) = 1, sync = 'Synced', application
""".strip() + "\n"

HEALTH_OVER_TIME = state_series("argocd_app_info", _APP, attr("health_status"), HEALTH, where=_APP_FILTERS)
SYNC_OVER_TIME = state_series("argocd_app_info", _APP, attr("sync_status"), SYNC, where=_APP_FILTERS)

SYNC_RATE = rate_series("argocd_app_sync_total", attr("phase"), where=_APP_FILTERS, scale=3600.0)
SYNCS_BY_APP = increase_table(
    "argocd_app_sync_total", [(_APP, "application"), (attr("phase"), "phase")], where=_APP_FILTERS
)
FAILED_SYNCS = rate_series(
    "argocd_app_sync_total", _APP, where=[*_APP_FILTERS, f"{attr('phase')} IN ('Failed', 'Error')"], scale=3600.0
)

RECONCILE = histogram_quantile_series(
    "argocd_app_reconcile", [0.5, 0.9, 0.99], attr("dest_server"), where=[job("argocd")]
)

CLUSTERS = f"""
SELECT {attr('server')} AS server,
       argMaxIf({attr('name')}, TimeUnix, MetricName = 'argocd_cluster_info') AS name,
       argMaxIf({attr('k8s_version')}, TimeUnix, MetricName = 'argocd_cluster_info') AS k8s_version,
       argMaxIf(Value, TimeUnix, MetricName = 'argocd_cluster_connection_status') AS connected,
       argMaxIf(Value, TimeUnix, MetricName = 'argocd_cluster_cache_age_seconds') AS cache_age_s,
       argMaxIf(Value, TimeUnix, MetricName = 'argocd_cluster_api_resources') AS api_resources,
       argMaxIf(Value, TimeUnix, MetricName = 'argocd_cluster_api_resource_objects') AS objects
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix)
  AND MetricName IN ('argocd_cluster_info', 'argocd_cluster_connection_status', 'argocd_cluster_cache_age_seconds',
                     'argocd_cluster_api_resources', 'argocd_cluster_api_resource_objects')
  AND Flags = 0
  AND {CLUSTER}
  AND {job('argocd')}
GROUP BY server
ORDER BY connected, server
""".strip() + "\n"

CONNECTION = series_over_time(
    "argocd_cluster_connection_status", attr("server"), where=[job("argocd")], aggregate="min", combine="min"
)
CLUSTER_EVENTS = rate_series(
    "argocd_cluster_events_total", f"concat({attr('server')}, ' ', {attr('kind')})", where=[job("argocd")]
)


def build() -> Dashboard:
    layout = Layout()
    panels = [
        stat("Applications by health", BY_HEALTH, layout.next(6, 6), per_row=True,
             description="Applications per health status, each at its newest argocd_app_info in the range."),
        stat("Applications by sync status", BY_SYNC, layout.next(6, 6), per_row=True),
        table("Applications", APPLICATIONS, layout.next(12, 6),
              description="Newest state per application: unhealthy and out-of-sync first."),
        state_timeline("Application health", HEALTH_OVER_TIME, layout.next(12), HEALTH_STATES),
        status_history("Application sync status", SYNC_OVER_TIME, layout.next(12), SYNC_STATES),
        timeseries("Syncs per hour by phase", SYNC_RATE, layout.next(12), unit="short",
                   description="argocd_app_sync_total: operations the controller completed, by their phase."),
        timeseries("Failed syncs per hour by application", FAILED_SYNCS, layout.next(12), unit="short",
                   description="Sync operations that ended Failed or Error."),
        table("Syncs in range by application and phase", SYNCS_BY_APP, layout.next(12)),
        timeseries("Reconciliation time p50 / p90 / p99", RECONCILE, layout.next(12), unit="s",
                   description="argocd_app_reconcile per destination cluster (not narrowed by project or application)."),
        table("Clusters", CLUSTERS, layout.next(12),
              description="argocd_cluster_*: connection status (1 = connected), cache age and cached objects per cluster."),
        state_timeline("Cluster connection", CONNECTION, layout.next(12),
                       StateMap([(0, "disconnected", "red"), (1, "connected", "green")])),
        timeseries("Cluster cache events per second", CLUSTER_EVENTS, layout.next(12), unit="ops"),
    ]
    variables = (
        *CLUSTER_VARIABLES,
        query_variable("project", "Project", attr("project"), "argocd_app_info"),
        query_variable("application", "Application", attr("name"), "argocd_app_info", where=[PROJECT]),
    )
    return dashboard(uid=UID, title="Argo CD", description="Applications' health and sync, syncs, reconciliation, clusters.",
                     tags=["omni-telemetry", "argocd"], panels=panels, templating=variables)
