"""Logs: the log records in ``otel_logs`` (Kubernetes events and any OpenTelemetry logs), filtered
by namespace, service and severity.

``otel_logs`` is the Collector exporter's table, so this dashboard reads records written by
the kubernetes-events source, by ``ingest`` (``/v1/logs``) and by a Collector alike.
The log panel uses the ClickHouse plugin's logs format with the column names its logs query
builder gives in OTel mode: ``timestamp`` (``Timestamp``), ``body`` (``Body``), ``level``
(``SeverityText``) and ``labels``, here the record's attributes with the service, namespace
and involved object added, so the log details show what an event is about. Picking a
cluster keeps only records carrying that ``k8s.cluster.name`` (the events source sets it;
an application's own OTLP logs have it when its SDK or Collector adds it).
"""

from __future__ import annotations

from grafanalib.core import Dashboard

from ._common import CLUSTER_VARIABLES
from ._grafana import ClickHouseVariable, Layout, dashboard, logs, stat, table, timeseries
from ._sql import CLUSTER, LOGS, log_variable_values, logs_where, res, when_selected

UID = "omni-logs"

NAMESPACE = when_selected(res("k8s.namespace.name"), "namespace")
SERVICE = when_selected("ServiceName", "service")
SEVERITY = when_selected("SeverityText", "severity")
_WHERE = logs_where([NAMESPACE, SERVICE, SEVERITY])
#: Kubernetes events at Warning (the events source maps Warning to WARN, 13) or worse.
_WARNING_EVENTS = "SeverityNumber >= 13 AND LogAttributes['k8s.event.reason'] != ''"
_OBJECT = (
    f"concat({res('k8s.namespace.name')}, '/', lower({res('k8s.object.kind')}), '/', {res('k8s.object.name')})"
)

LOG_LINES = f"""
SELECT Timestamp AS timestamp, Body AS body, SeverityText AS level,
       mapUpdate(LogAttributes, map('service.name', ServiceName,
                                    'k8s.namespace.name', {res('k8s.namespace.name')},
                                    'k8s.object.kind', {res('k8s.object.kind')},
                                    'k8s.object.name', {res('k8s.object.name')})) AS labels,
       TraceId AS traceID
FROM {LOGS}
WHERE {_WHERE}
ORDER BY timestamp DESC
LIMIT 1000
""".strip() + "\n"

BY_SEVERITY = f"""
SELECT $__timeInterval(Timestamp) AS time, SeverityText AS legend, count() AS value
FROM {LOGS}
WHERE {_WHERE}
GROUP BY time, legend
ORDER BY time, legend
""".strip() + "\n"

SEVERITY_TOTALS = f"""
SELECT SeverityText AS severity, count() AS records
FROM {LOGS}
WHERE {_WHERE}
GROUP BY severity
ORDER BY min(SeverityNumber) DESC, severity
""".strip() + "\n"

WARNING_EVENTS = f"""
SELECT LogAttributes['k8s.event.reason'] AS reason, {_OBJECT} AS object,
       argMax(Body, Timestamp) AS message,
       max(toUInt64OrZero(LogAttributes['k8s.event.count'])) AS count,
       max(Timestamp) AS last_seen, any(ServiceName) AS reported_by
FROM {LOGS}
WHERE {_WHERE}
  AND {_WARNING_EVENTS}
GROUP BY reason, object
ORDER BY last_seen DESC
LIMIT 100
""".strip() + "\n"


def build() -> Dashboard:
    layout = Layout()
    panels = [
        timeseries("Log records per severity", BY_SEVERITY, layout.next(16, 7), stacked=True),
        stat("Records by severity", SEVERITY_TOTALS, layout.next(8, 7), per_row=True),
        table("Latest warning events", WARNING_EVENTS, layout.next(24, 8),
              description="Kubernetes events of type Warning, one row per reason and object; count is the event's own."),
        logs("Logs", LOG_LINES, layout.next(24, 14),
             description="Newest first, at most 1000 lines; expand a line for its attributes."),
    ]
    variables = (
        *CLUSTER_VARIABLES,
        ClickHouseVariable("namespace", "Namespace", log_variable_values(res("k8s.namespace.name"), where=[CLUSTER])),
        ClickHouseVariable("service", "Service", log_variable_values("ServiceName", where=[CLUSTER, NAMESPACE])),
        ClickHouseVariable("severity", "Severity", log_variable_values("SeverityText", where=[CLUSTER, NAMESPACE, SERVICE])),
    )
    return dashboard(uid=UID, title="Logs", description="Log records and Kubernetes events in otel_logs.",
                     tags=["omni-telemetry", "logs"], panels=panels, templating=variables)
