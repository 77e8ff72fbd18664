"""Overview: is every part of the platform reporting, and what is unhealthy right now."""

from __future__ import annotations

from grafanalib.core import Dashboard

from ._common import CLUSTER_VARIABLES, UP_DOWN
from ._grafana import Layout, StateMap, dashboard, stat, state_timeline, table, timeseries
from ._sql import CLUSTER, GAUGE, HISTOGRAM, SUM, SUMMARY, res, series_over_time

UID = "omni-overview"

COMPONENT_STATES = StateMap([(0, "ok", "green"), (1, "degraded", "orange"), (2, "down", "red")])

# The platform's state gauges: one series per state, 1 on the current one. An object's state is
# the newest state whose value is 1; these states count as healthy.
_STATE_METRICS = ("mayastor_pool_status", "mayastor_volume_status", "mayastor_node_status",
                  "kuma_dataplane_status", "kubevirt_vm_info", "cdi_datavolume_phase")
_HEALTHY_STATES = "('online', 'running', 'succeeded', 'Succeeded')"
_OBJECT_STATES = f"""
  SELECT ServiceName AS job,
    multiIf(MetricName = 'mayastor_pool_status', 'Mayastor pool',
            MetricName = 'mayastor_volume_status', 'Mayastor volume',
            MetricName = 'mayastor_node_status', 'Mayastor node',
            MetricName = 'kuma_dataplane_status', 'Kuma dataplane',
            MetricName = 'kubevirt_vm_info', 'KubeVirt VM',
            'CDI DataVolume') AS kind,
    multiIf(MetricName = 'mayastor_pool_status', Attributes['pool'],
            MetricName = 'mayastor_volume_status', Attributes['pv_name'],
            MetricName = 'mayastor_node_status', Attributes['node'],
            MetricName = 'kuma_dataplane_status', concat(Attributes['mesh'], '/', Attributes['name']),
            concat(Attributes['namespace'], '/', Attributes['name'])) AS object,
    argMax(multiIf(MetricName = 'kubevirt_vm_info', Attributes['status_group'],
                   MetricName = 'cdi_datavolume_phase', Attributes['phase'],
                   lower(Attributes['status'])), TimeUnix) AS state
  FROM {GAUGE}
  WHERE $__timeFilter(TimeUnix)
    AND MetricName IN ({', '.join(repr(m) for m in _STATE_METRICS)})
    AND Flags = 0 AND Value = 1
    AND {CLUSTER}
  GROUP BY job, kind, object"""

# A component (job) is down when none of its targets answered the newest scrape, degraded
# when some did not or when one of the objects it reports is in an unhealthy state, ok otherwise.
COMPONENT_STATUS = f"""
SELECT job, max(status) AS value
FROM (
  SELECT job, multiIf(targets_up = 0, 2, targets_up < targets, 1, 0) AS status
  FROM (
    SELECT job, count() AS targets, countIf(up = 1) AS targets_up
    FROM (
      SELECT ServiceName AS job, {res('service.instance.id')} AS instance, argMax(Value, TimeUnix) AS up
      FROM {GAUGE}
      WHERE $__timeFilter(TimeUnix) AND MetricName = 'up' AND Flags = 0
        AND {CLUSTER}
      GROUP BY job, instance
    )
    GROUP BY job
  )
  UNION ALL
  SELECT job, if(state IN {_HEALTHY_STATES}, 0, 1) AS status
  FROM ({_OBJECT_STATES}
  )
)
GROUP BY job
ORDER BY job
""".strip() + "\n"

TARGETS_UP = f"""
SELECT countIf(up = 1) AS up, count() AS targets
FROM (
  SELECT ServiceName, {res('service.instance.id')} AS instance, argMax(Value, TimeUnix) AS up
  FROM {GAUGE}
  WHERE $__timeFilter(TimeUnix) AND MetricName = 'up' AND Flags = 0
    AND {CLUSTER}
  GROUP BY ServiceName, instance
)
""".strip() + "\n"

# Rows per second into each table, from the tables themselves (whoever wrote them).
SAMPLES_STORED = "SELECT time, legend, value FROM (\n" + "\nUNION ALL\n".join(
    f"""SELECT $__timeInterval(TimeUnix) AS time, '{kind}' AS legend, count() / $__interval_s AS value
FROM {table}
WHERE $__timeFilter(TimeUnix) AND {CLUSTER}
GROUP BY time"""
    for kind, table in (("gauge", GAUGE), ("sum", SUM), ("histogram", HISTOGRAM), ("summary", SUMMARY))
) + "\n)\nORDER BY time, legend\n"

NEWEST_DATA_AGE = f"""
SELECT ServiceName AS job, dateDiff('second', max(TimeUnix), now()) AS value
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix) AND MetricName = 'up' AND Flags = 0
  AND {CLUSTER}
GROUP BY job
ORDER BY job
""".strip() + "\n"

# Objects whose newest state is not the healthy one, across the platform's state gauges.
UNHEALTHY = f"""
SELECT kind, object, state
FROM ({_OBJECT_STATES}
)
WHERE state NOT IN {_HEALTHY_STATES}
ORDER BY kind, object
""".strip() + "\n"

TARGETS_OVER_TIME = series_over_time(
    "up", f"concat(ServiceName, ' ', {res('service.instance.id')})", aggregate="min", combine="min"
)


def build() -> Dashboard:
    layout = Layout()
    panels = [
        stat("Component status", COMPONENT_STATUS, layout.next(12, 5), states=COMPONENT_STATES, per_row=True,
             description="Per source (job): down when no target answered the newest scrape; degraded when some did not, or when a pool, volume, node, dataplane, VM or DataVolume it reports is unhealthy."),
        stat("Targets up", TARGETS_UP, layout.next(4, 5), description="Targets whose newest scrape succeeded, of all targets."),
        stat("Newest data age", NEWEST_DATA_AGE, layout.next(8, 5), unit="s", per_row=True,
             steps=((None, "green"), (60, "orange"), (300, "red")),
             description="Seconds since the newest stored scrape of each source."),
        timeseries("Samples stored per second", SAMPLES_STORED, layout.next(12, 8), unit="ops", stacked=True,
                   description="Rows arriving in each otel_metrics_* table, whoever wrote them."),
        table("Unhealthy objects", UNHEALTHY, layout.next(12, 8),
              description="Pools, volumes, nodes, dataplanes, VMs and DataVolumes whose newest state is not the healthy one."),
        state_timeline("Targets up over time", TARGETS_OVER_TIME, layout.next(24, 10), UP_DOWN),
    ]
    return dashboard(
        uid=UID, title="Platform overview", description="Is every component reporting, and what is unhealthy.",
        tags=["omni-telemetry", "overview"], panels=panels, templating=CLUSTER_VARIABLES,
    )
