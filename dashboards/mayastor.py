"""Mayastor: pool capacity and state, volume and replica I/O, volume state and rebuilds, node state.

Two sources feed it: the io-engine exporter on every node (``diskpool_*``, ``volume_*``,
``replica_*`` with ``name``/``node``/``pv_name``; job ``mayastor``) and the control plane's
REST API (``mayastor_*_status`` state gauges, rebuild progress; job ``mayastor-api``).
"""

from __future__ import annotations

from grafanalib.core import Dashboard

from ._common import CLUSTER_VARIABLES, job, query_variable
from ._grafana import Layout, StateMap, bargauge, dashboard, state_timeline, status_history, timeseries
from ._sql import CLUSTER, GAUGE, attr, rate_series, series_over_time, state_series, when_selected

UID = "omni-mayastor"

NODE = when_selected(attr("node"), "node")
POOL = when_selected(attr("name"), "pool")
POOL_STATES = StateMap([(0, "unknown", "gray"), (1, "online", "green"), (2, "degraded", "orange"),
                        (3, "faulted", "red"), (4, "suspected", "yellow")])
VOLUME_STATES = StateMap([(0, "unknown", "gray"), (1, "online", "green"), (2, "degraded", "orange"),
                          (3, "faulted", "red"), (4, "shutdown", "purple")])
NODE_STATES = StateMap([(0, "unknown", "gray"), (1, "online", "green"), (2, "offline", "red")])

CAPACITY = series_over_time(
    ["diskpool_total_size_bytes", "diskpool_used_size_bytes", "diskpool_committed_size_bytes"],
    f"concat({attr('name')}, ' ', replaceRegexpOne(MetricName, '^diskpool_(\\\\w+)_size_bytes$', '\\\\1'))",
    where=[job("mayastor"), NODE, POOL],
)

USAGE_NOW = f"""
SELECT pool, 100 * used / total AS value
FROM (
  SELECT {attr('name')} AS pool,
         argMaxIf(Value, TimeUnix, MetricName = 'diskpool_used_size_bytes') AS used,
         argMaxIf(Value, TimeUnix, MetricName = 'diskpool_total_size_bytes') AS total
  FROM {GAUGE}
  WHERE $__timeFilter(TimeUnix)
    AND MetricName IN ('diskpool_used_size_bytes', 'diskpool_total_size_bytes')
    AND Flags = 0
    AND {CLUSTER}
    AND {NODE}
    AND {POOL}
  GROUP BY pool
)
WHERE total > 0
ORDER BY pool
""".strip() + "\n"

USAGE_OVER_TIME = f"""
SELECT $__timeInterval(TimeUnix) AS time, {attr('name')} AS legend,
       100 * avgIf(Value, MetricName = 'diskpool_used_size_bytes')
           / avgIf(Value, MetricName = 'diskpool_total_size_bytes') AS value
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix)
  AND MetricName IN ('diskpool_used_size_bytes', 'diskpool_total_size_bytes')
  AND Flags = 0
  AND {CLUSTER}
  AND {NODE}
  AND {POOL}
GROUP BY time, legend
ORDER BY time, legend
""".strip() + "\n"

# io-engine's diskpool_status carries its state name in `state` (one series, the value is the
# state's number); the API's mayastor_pool_status has one series per state, 1 on the current.
POOL_STATE = state_series(
    ["diskpool_status", "mayastor_pool_status"],
    f"if(MetricName = 'diskpool_status', {attr('name')}, {attr('pool')})",
    f"lower(if(MetricName = 'diskpool_status', {attr('state')}, {attr('status')}))",
    ["online", "degraded", "faulted", "suspected"],
    where=[NODE],
    current="(MetricName = 'diskpool_status' OR Value = 1)",
)

_IO = [job("mayastor"), NODE]


def _io(subsystem: str, what: str) -> str:
    names = {"throughput": ("bytes_read", "bytes_written"), "iops": ("num_read_ops", "num_write_ops")}[what]
    entity = {"diskpool": attr("name"), "volume": attr("pv_name"), "replica": f"concat({attr('pv_name')}, ' @', {attr('node')})"}[subsystem]
    direction = f"if(MetricName LIKE '%read%', 'read', 'write')"
    extra = [POOL] if subsystem == "diskpool" else []
    return rate_series([f"{subsystem}_{n}" for n in names], f"concat({entity}, ' ', {direction})", where=[*_IO, *extra])


VOLUME_STATE = state_series(
    "mayastor_volume_status", attr("pv_name"), f"lower({attr('status')})",
    ["online", "degraded", "faulted", "shutdown"], where=[job("mayastor-api")],
)

REBUILD_PROGRESS = series_over_time(
    "mayastor_volume_rebuild_progress_ratio",
    f"concat({attr('pv_name')}, ' ', {attr('replica')})",
    value="Value * 100", aggregate="max", combine="max",
)

REPLICAS_ONLINE = series_over_time(
    ["mayastor_volume_replicas_online", "mayastor_volume_replicas_desired"],
    f"concat({attr('pv_name')}, if(MetricName = 'mayastor_volume_replicas_online', ' online', ' desired'))",
    aggregate="min", combine="min",
)

NODE_STATE = state_series(
    "mayastor_node_status", attr("node"), f"lower({attr('status')})", ["online", "offline"], where=[NODE],
)


def build() -> Dashboard:
    layout = Layout()
    panels = [
        timeseries("Pool capacity, used and committed", CAPACITY, layout.next(12), unit="bytes",
                   description="io-engine's view of each pool: total size, used and committed (thin provisioning) bytes."),
        bargauge("Pool usage", USAGE_NOW, layout.next(6), unit="percent",
                 steps=((None, "green"), (75, "orange"), (90, "red"))),
        timeseries("Pool usage over time", USAGE_OVER_TIME, layout.next(6), unit="percent", min_value=0, max_value=100),
        state_timeline("Pool state", POOL_STATE, layout.next(12), POOL_STATES,
                       description="From io-engine's diskpool_status and the control plane's pool status."),
        state_timeline("Node state", NODE_STATE, layout.next(12), NODE_STATES),
        timeseries("Pool throughput", _io("diskpool", "throughput"), layout.next(12), unit="Bps"),
        timeseries("Pool IOPS", _io("diskpool", "iops"), layout.next(12), unit="iops"),
        timeseries("Volume throughput", _io("volume", "throughput"), layout.next(12), unit="Bps"),
        timeseries("Volume IOPS", _io("volume", "iops"), layout.next(12), unit="iops"),
        timeseries("Replica throughput", _io("replica", "throughput"), layout.next(12), unit="Bps"),
        timeseries("Replica IOPS", _io("replica", "iops"), layout.next(12), unit="iops"),
        status_history("Volume state", VOLUME_STATE, layout.next(12), VOLUME_STATES),
        timeseries("Replicas online vs desired", REPLICAS_ONLINE, layout.next(6), unit="short"),
        timeseries("Rebuild progress", REBUILD_PROGRESS, layout.next(6), unit="percent", min_value=0, max_value=100,
                   description="Per rebuilding replica, from the control plane's volume and nexus state."),
    ]
    variables = (
        *CLUSTER_VARIABLES,
        query_variable("node", "Node", attr("node"), "diskpool_total_size_bytes"),
        query_variable("pool", "Pool", attr("name"), "diskpool_total_size_bytes"),
    )
    return dashboard(uid=UID, title="Mayastor storage", description="Pools, volumes, replicas and nodes of OpenEBS Mayastor.",
                     tags=["omni-telemetry", "mayastor"], panels=panels, templating=variables)
