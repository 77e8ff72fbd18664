"""Kuma: dataplane status per mesh and service, certificate expiry, the control plane's xDS
pushes and rejections, and service-to-service traffic, errors and latency from the sidecars.

Status comes from the control plane's API (job ``kuma-api``), xDS from its ``/metrics`` (job
``kuma-cp``) and traffic from every sidecar's Envoy stats (job ``kuma-dp``), where the
calling service is ``kuma_io_service`` and the called one the outbound cluster's ``service``.
"""

from __future__ import annotations

from grafanalib.core import Dashboard

from ._common import CLUSTER_VARIABLES, job, query_variable
from ._grafana import Layout, StateMap, dashboard, stat, status_history, table, timeseries
from ._sql import (
    CLUSTER,
    GAUGE,
    attr,
    histogram_quantile_series,
    rate_series,
    series_over_time,
    state_series,
    when_selected,
)

UID = "omni-kuma"

MESH = when_selected(attr("mesh"), "mesh")
SERVICE = when_selected(attr("service"), "service")
CALLER = when_selected(attr("kuma_io_service"), "service")
OUTBOUND = "Attributes['cluster_kind'] = 'outbound'"
DP_STATES = StateMap([(0, "unknown", "gray"), (1, "online", "green"), (2, "partially degraded", "orange"), (3, "offline", "red")])

MESH_DATAPLANES = series_over_time(
    "kuma_mesh_dataplanes", f"concat({attr('mesh')}, ' ', {attr('status')})",
    where=[job("kuma-api"), MESH, f"{attr('status')} != 'total'"], aggregate="max",
)

DATAPLANE_STATUS = state_series(
    "kuma_dataplane_status", f"concat({attr('service')}, ' / ', {attr('name')})", attr("status"),
    ["online", "partially_degraded", "offline"], where=[job("kuma-api"), MESH, SERVICE],
)

SERVICES_NOW = f"""
SELECT {attr('mesh')} AS mesh, {attr('service')} AS service,
       argMax({attr('status')}, TimeUnix) AS status
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix) AND MetricName = 'kuma_service_status' AND Flags = 0 AND Value = 1
  AND {CLUSTER}
  AND {MESH}
  AND {SERVICE}
GROUP BY mesh, service
ORDER BY mesh, service
""".strip() + "\n"

CERT_EXPIRY = f"""
SELECT {attr('mesh')} AS mesh, {attr('name')} AS dataplane,
       (argMax(Value, TimeUnix) - toUnixTimestamp(now())) / 86400 AS days_left
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix) AND MetricName = 'kuma_dataplane_cert_expiration_timestamp_seconds' AND Flags = 0
  AND {CLUSTER}
  AND {MESH}
  AND {SERVICE}
GROUP BY mesh, dataplane
ORDER BY days_left, mesh, dataplane
""".strip() + "\n"

XDS = rate_series(
    ["xds_responses_sent", "xds_requests_received"],
    f"if(MetricName = 'xds_responses_sent', 'pushes', concat('client ', {attr('confirmation')}))",
    where=[job("kuma-cp")],
)

CONNECTED = f"""
SELECT {attr('zone')} AS zone, argMax(Value, TimeUnix) AS proxies
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix) AND MetricName = 'xds_streams_active' AND Flags = 0
  AND {CLUSTER}
  AND {job('kuma-cp')}
GROUP BY zone
ORDER BY zone
""".strip() + "\n"

_PAIR = f"concat({attr('kuma_io_service')}, ' → ', {attr('service')})"
_SIDECAR = [job("kuma-dp"), OUTBOUND, MESH, CALLER]

S2S_RATE = rate_series("envoy_cluster_upstream_rq_xx", _PAIR, where=_SIDECAR)
S2S_ERRORS = rate_series("envoy_cluster_upstream_rq_xx", _PAIR, where=[*_SIDECAR, f"{attr('envoy_response_code_class')} = '5'"])
S2S_LATENCY = histogram_quantile_series("envoy_cluster_upstream_rq_time", [0.5, 0.99], _PAIR, where=_SIDECAR)


def build() -> Dashboard:
    layout = Layout()
    panels = [
        timeseries("Dataplanes by status", MESH_DATAPLANES, layout.next(12), stacked=True,
                   description="Online, partially degraded and offline proxies per mesh (Kuma's own rule)."),
        status_history("Dataplane status", DATAPLANE_STATUS, layout.next(12), DP_STATES),
        table("Service status", SERVICES_NOW, layout.next(8)),
        table("Certificate expiry", CERT_EXPIRY, layout.next(8), unit="d",
              description="Days until each proxy's mTLS certificate expires."),
        stat("Connected proxies", CONNECTED, layout.next(8), per_row=True),
        timeseries("xDS pushes and ACK / NACK", XDS, layout.next(24), unit="ops",
                   description="Responses the control plane sent, and the proxies' ACKs and NACKs (rejected config)."),
        timeseries("Service-to-service requests", S2S_RATE, layout.next(8), unit="reqps"),
        timeseries("Service-to-service 5xx", S2S_ERRORS, layout.next(8), unit="reqps"),
        timeseries("Service-to-service latency", S2S_LATENCY, layout.next(8), unit="ms"),
    ]
    variables = (
        *CLUSTER_VARIABLES,
        query_variable("mesh", "Mesh", attr("mesh"), "kuma_dataplane_status"),
        query_variable("service", "Service", attr("service"), "kuma_dataplane_status", where=[MESH]),
    )
    return dashboard(uid=UID, title="Kuma service mesh", description="Dataplanes, control plane and service traffic.",
                     tags=["omni-telemetry", "kuma"], panels=panels, templating=variables)
