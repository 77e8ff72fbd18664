"""Envoy / Contour: ingress traffic by response class, upstream errors and latency, cluster
membership, connection failures, proxy liveness, and Contour's HTTPProxy validity and DAG rebuilds.

Envoy rows are the ``envoy`` job (Contour's Envoy pods on :8002); Contour's own metrics are the
``contour`` job. Cluster names are split by the collector into ``namespace``/``service``/``port``;
Contour's internal xDS and admin clusters carry ``cluster_kind = 'internal'`` and are left out.
"""

from __future__ import annotations

from grafanalib.core import Dashboard

from ._common import CLUSTER_VARIABLES, UP_DOWN, job, query_variable
from ._grafana import Layout, StateMap, dashboard, stat, state_timeline, status_history, table, timeseries
from ._sql import (
    CLUSTER,
    GAUGE,
    SUM,
    attr,
    histogram_quantile_series,
    rate_series,
    res,
    series_over_time,
    share_series,
    when_selected,
)

UID = "omni-envoy-contour"

ENVOY = job("envoy")
NAMESPACE = when_selected(attr("namespace"), "namespace")
UPSTREAM = when_selected(attr("envoy_cluster_name"), "envoy_cluster")
SERVICES = "Attributes['cluster_kind'] != 'internal'"
VALIDITY = StateMap([(0, "valid", "green"), (1, "invalid", "red")])

DOWNSTREAM_BY_CLASS = rate_series(
    "envoy_http_downstream_rq_xx", f"concat({attr('envoy_response_code_class')}, 'xx')", where=[ENVOY]
)

UPSTREAM_5XX_SHARE = share_series(
    "envoy_cluster_upstream_rq_xx", attr("envoy_cluster_name"), f"{attr('envoy_response_code_class')} = '5'",
    where=[ENVOY, SERVICES, NAMESPACE, UPSTREAM],
)

UPSTREAM_RATE = rate_series(
    "envoy_cluster_upstream_rq_xx",
    f"concat({attr('envoy_cluster_name')}, ' ', {attr('envoy_response_code_class')}, 'xx')",
    where=[ENVOY, SERVICES, NAMESPACE, UPSTREAM],
)

UPSTREAM_LATENCY = histogram_quantile_series(
    "envoy_cluster_upstream_rq_time", [0.5, 0.9, 0.99], attr("envoy_cluster_name"),
    where=[ENVOY, SERVICES, NAMESPACE, UPSTREAM],
)

MEMBERSHIP = f"""
SELECT cluster, healthy, total, if(total > 0, 100 * healthy / total, 0) AS healthy_percent
FROM (
  SELECT {attr('envoy_cluster_name')} AS cluster,
         argMaxIf(Value, TimeUnix, MetricName = 'envoy_cluster_membership_healthy') AS healthy,
         argMaxIf(Value, TimeUnix, MetricName = 'envoy_cluster_membership_total') AS total
  FROM {GAUGE}
  WHERE $__timeFilter(TimeUnix)
    AND MetricName IN ('envoy_cluster_membership_healthy', 'envoy_cluster_membership_total')
    AND Flags = 0
    AND {CLUSTER}
    AND {ENVOY}
    AND {SERVICES}
    AND {NAMESPACE}
    AND {UPSTREAM}
  GROUP BY cluster
)
ORDER BY healthy_percent, cluster
""".strip() + "\n"

CONNECT_FAILURES = rate_series(
    "envoy_cluster_upstream_cx_connect_fail", attr("envoy_cluster_name"), where=[ENVOY, SERVICES, NAMESPACE, UPSTREAM]
)

LIVENESS = series_over_time(
    "envoy_server_live", res("service.instance.id"), where=[ENVOY], aggregate="min", combine="min"
)

HTTPPROXY_VALIDITY = series_over_time(
    "contour_httpproxy_invalid", f"concat({attr('namespace')}, '/', {attr('vhost')})",
    where=[job("contour"), NAMESPACE], aggregate="max", combine="max",
)

INVALID_NOW = f"""
SELECT {attr('namespace')} AS namespace, {attr('vhost')} AS vhost, argMax(Value, TimeUnix) AS invalid
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix) AND MetricName = 'contour_httpproxy_invalid' AND Flags = 0
  AND {CLUSTER}
  AND {job('contour')}
  AND {NAMESPACE}
GROUP BY namespace, vhost
ORDER BY invalid DESC, namespace, vhost
""".strip() + "\n"

DAG_REBUILDS = rate_series("contour_dagrebuild_total", res("service.instance.id"), where=[job("contour")], scale=60)

LAST_REBUILD_AGE = f"""
SELECT {res('service.instance.id')} AS contour, toUnixTimestamp(now()) - argMax(Value, TimeUnix) AS seconds_ago
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix) AND MetricName = 'contour_dagrebuild_timestamp' AND Flags = 0
  AND {CLUSTER}
  AND {job('contour')}
GROUP BY contour
ORDER BY contour
""".strip() + "\n"


def build() -> Dashboard:
    layout = Layout()
    panels = [
        timeseries("Downstream requests by response class", DOWNSTREAM_BY_CLASS, layout.next(12), unit="reqps", stacked=True,
                   description="Requests Envoy's HTTP listeners answered, per response class."),
        timeseries("Upstream 5xx share", UPSTREAM_5XX_SHARE, layout.next(12), unit="percent", min_value=0,
                   description="Share of each upstream cluster's responses that were 5xx."),
        timeseries("Upstream latency p50 / p90 / p99", UPSTREAM_LATENCY, layout.next(12), unit="ms",
                   description="From envoy_cluster_upstream_rq_time buckets, interpolated as histogram_quantile does."),
        timeseries("Upstream requests by cluster and class", UPSTREAM_RATE, layout.next(12), unit="reqps"),
        table("Cluster membership: healthy vs total", MEMBERSHIP, layout.next(12)),
        timeseries("Upstream connection failures", CONNECT_FAILURES, layout.next(12), unit="ops"),
        state_timeline("Envoy server live", LIVENESS, layout.next(12), UP_DOWN),
        status_history("HTTPProxy validity", HTTPPROXY_VALIDITY, layout.next(12), VALIDITY,
                       description="Contour's verdict per virtual host: red while the HTTPProxy is invalid."),
        table("HTTPProxies now", INVALID_NOW, layout.next(8)),
        timeseries("DAG rebuilds per minute", DAG_REBUILDS, layout.next(8), unit="short"),
        stat("Seconds since last DAG rebuild", LAST_REBUILD_AGE, layout.next(8), unit="s", per_row=True,
             steps=((None, "green"), (300, "orange"), (900, "red"))),
    ]
    variables = (
        *CLUSTER_VARIABLES,
        query_variable("namespace", "Namespace", attr("namespace"), "envoy_cluster_upstream_rq_total", table=SUM),
        query_variable("envoy_cluster", "Envoy cluster", attr("envoy_cluster_name"), "envoy_cluster_upstream_rq_total",
                       table=SUM, where=[NAMESPACE]),
    )
    return dashboard(uid=UID, title="Envoy / Contour ingress", description="Contour's Envoy fleet and Contour itself.",
                     tags=["omni-telemetry", "envoy", "contour"], panels=panels, templating=variables)
