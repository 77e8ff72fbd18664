"""Pipeline: the collector watching itself -- scrapes, storage inserts, the delivery queue.

``up``, ``scrape_duration_seconds`` and ``scrape_samples_scraped`` are stored for every target
by the scrape loop. The ``omni_*`` series are the collector's own ``/metrics``, stored when
``metrics_port`` is set (target of source ``omni``, job ``omni``). The ``omni_store_*``
series are the store's own state, read through the writer's client each cycle and stored
with ``service.name`` ``clickhouse`` (disks, parts, tables, errors; replicas only on a
replicated server, so those panels stay empty on chDB).
"""

from __future__ import annotations

from grafanalib.core import Dashboard

from ._common import CLUSTER_VARIABLES, UP_DOWN, job, query_variable
from ._grafana import Layout, bargauge, dashboard, state_timeline, table, timeseries
from ._sql import (
    CLUSTER,
    SERIES_KEY,
    GAUGE,
    SUM,
    attr,
    histogram_quantile_series,
    latest_table,
    rate_series,
    res,
    series_over_time,
    when_selected,
)

UID = "omni-pipeline"

JOB = when_selected("ServiceName", "job")
# our counters' `job` label is the scraped job; the omni source stores it as `exported_job`
OMNI_JOB = when_selected(attr("exported_job"), "job")
_TARGET = f"concat(ServiceName, ' ', {res('service.instance.id')})"

SCRAPE_DURATION = series_over_time("scrape_duration_seconds", _TARGET, where=[JOB], aggregate="max", combine="max")
SAMPLES = series_over_time("scrape_samples_scraped", _TARGET, where=[JOB], aggregate="avg")
UP = series_over_time("up", _TARGET, where=[JOB], aggregate="min", combine="min")

FAILURES = f"""
SELECT job, targets, targets_down, failed_scrapes, warnings
FROM (
  SELECT ServiceName AS job, uniqExact({res('service.instance.id')}) AS targets,
         uniqExactIf({res('service.instance.id')}, Value = 0) AS targets_down
  FROM {GAUGE}
  WHERE $__timeFilter(TimeUnix) AND MetricName = 'up' AND Flags = 0
    AND {CLUSTER}
    AND {JOB}
  GROUP BY job
) AS up
LEFT JOIN (
  SELECT job, sumIf(increase, metric = 'omni_scrapes_total') AS failed_scrapes,
         sumIf(increase, metric = 'omni_scrape_warnings_total') AS warnings
  FROM (
    -- per series: newest minus oldest value in the range (these counters restart with the collector)
    SELECT {attr('exported_job')} AS job, MetricName AS metric, {SERIES_KEY} AS series,
           argMax(Value, TimeUnix) - argMin(Value, TimeUnix) AS increase
    FROM {SUM}
    WHERE $__timeFilter(TimeUnix) AND MetricName IN ('omni_scrapes_total', 'omni_scrape_warnings_total') AND Flags = 0
      AND {CLUSTER}
      AND {job('omni')}
      AND (MetricName = 'omni_scrape_warnings_total' OR {attr('result')} = 'failure')
    GROUP BY job, metric, series
  )
  GROUP BY job
) AS own USING (job)
ORDER BY targets_down DESC, job
""".strip() + "\n"

ROWS_WRITTEN = rate_series("omni_exporter_samples_written_total", attr("sink"), where=[job("omni")])
INSERT_LATENCY = histogram_quantile_series(
    "omni_exporter_insert_duration_seconds", [0.5, 0.99], f"concat({attr('sink')}, ' ', {attr('outcome')})", where=[job("omni")]
)
QUEUE = series_over_time(
    ["omni_exporter_queue_samples"], f"concat({attr('sink')}, ' ', {attr('where')})", where=[job("omni")], aggregate="max"
)
SPOOL = series_over_time(
    ["omni_exporter_queue_batches"], f"concat({attr('sink')}, ' ', {attr('where')})",
    where=[job("omni"), f"{attr('where')} = 'spool'"], aggregate="max",
)
DROPS = rate_series("omni_exporter_samples_dropped_total", f"concat({attr('sink')}, ' ', {attr('reason')})", where=[job("omni")])
SCRAPE_RATE = rate_series(
    "omni_scrapes_total", f"concat({attr('exported_job')}, ' ', {attr('result')})", where=[job("omni"), OMNI_JOB]
)

# --- the store's own state (service.name clickhouse) ---
STORE = job("clickhouse")
#: ClickHouse refuses inserts into a partition with this many active parts (parts_to_throw_insert).
PARTS_TO_THROW_INSERT = 300
_TABLE_NAME = f"concat({attr('database')}, '.', {attr('table')})"

FREE_DISK = f"""
SELECT {attr('disk')} AS disk,
       100 * argMaxIf(Value, TimeUnix, MetricName = 'omni_store_disk_free_bytes')
         / nullIf(argMaxIf(Value, TimeUnix, MetricName = 'omni_store_disk_total_bytes'), 0) AS free_percent
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix) AND MetricName IN ('omni_store_disk_free_bytes', 'omni_store_disk_total_bytes') AND Flags = 0
  AND {CLUSTER}
  AND {STORE}
GROUP BY disk
ORDER BY disk
""".strip() + "\n"

ACTIVE_PARTS = series_over_time("omni_store_active_parts", _TABLE_NAME, where=[STORE], aggregate="max", combine="max")

TABLES = f"""
SELECT {_TABLE_NAME} AS store_table,
       argMaxIf(Value, TimeUnix, MetricName = 'omni_store_table_rows') AS table_rows,
       argMaxIf(Value, TimeUnix, MetricName = 'omni_store_table_bytes') AS bytes_on_disk,
       formatReadableSize(bytes_on_disk) AS size,
       argMaxIf(Value, TimeUnix, MetricName = 'omni_store_active_parts') AS most_parts_in_a_partition
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix)
  AND MetricName IN ('omni_store_table_rows', 'omni_store_table_bytes', 'omni_store_active_parts')
  AND Flags = 0
  AND {CLUSTER}
  AND {STORE}
GROUP BY store_table
ORDER BY bytes_on_disk DESC, store_table
""".strip() + "\n"

STORE_ERRORS = rate_series(
    ["omni_store_errors_total", "omni_store_failed_inserts_total"],
    f"if(MetricName = 'omni_store_failed_inserts_total', 'failed inserts', concat({attr('error')}, ' (', {attr('code')}, ')'))",
    where=[STORE],
)
REPLICAS = series_over_time(
    ["omni_store_replica_queue_size", "omni_store_replica_readonly"],
    f"concat({_TABLE_NAME}, if(MetricName = 'omni_store_replica_readonly', ' readonly', ' queue'))",
    where=[STORE], aggregate="max", combine="max",
)
MERGES = series_over_time("omni_store_merges_in_progress", _TABLE_NAME, where=[STORE], aggregate="max")
READONLY_REPLICAS = latest_table(
    "omni_store_replica_readonly", [(_TABLE_NAME, "replicated_table")], where=[STORE],
    value_name="readonly", having="readonly = 1",
)


def build() -> Dashboard:
    layout = Layout()
    panels = [
        timeseries("Scrape duration by target", SCRAPE_DURATION, layout.next(12), unit="s"),
        timeseries("Samples per scrape by target", SAMPLES, layout.next(12)),
        state_timeline("Targets up", UP, layout.next(12), UP_DOWN),
        table("Targets down, failed scrapes and warnings", FAILURES, layout.next(12),
              description="Failed scrapes and conversion warnings from the collector's own counters; reasons are in its log."),
        timeseries("Scrapes per second by result", SCRAPE_RATE, layout.next(12), unit="ops"),
        timeseries("Rows written per second", ROWS_WRITTEN, layout.next(12), unit="ops"),
        timeseries("Insert latency p50 / p99", INSERT_LATENCY, layout.next(12), unit="s"),
        timeseries("Queue depth (data points)", QUEUE, layout.next(12)),
        timeseries("Spool (batches on disk)", SPOOL, layout.next(12)),
        timeseries("Dropped data points", DROPS, layout.next(12), unit="ops",
                   description="Points lost to the queue or spool bound, refused by the sink, or unsaved at shutdown."),
        bargauge("Store free disk", FREE_DISK, layout.next(8), unit="percent",
                 steps=((None, "red"), (5, "orange"), (15, "green")),
                 description="system.disks: free space per disk; the health API calls below 15% degraded, below 5% critical."),
        timeseries("Store active parts per partition (max)", ACTIVE_PARTS, layout.next(16),
                   threshold_lines=((None, "green"), (PARTS_TO_THROW_INSERT, "red")),
                   description=f"system.parts: the most active parts in any partition of each table; "
                               f"ClickHouse refuses inserts at {PARTS_TO_THROW_INSERT} (parts_to_throw_insert)."),
        table("Store tables: rows and bytes", TABLES, layout.next(12),
              description="system.parts (active parts): newest rows, bytes on disk and worst partition per table."),
        timeseries("Store errors and failed inserts per second", STORE_ERRORS, layout.next(12), unit="ops",
                   description="system.errors by error name and system.events FailedInsertQuery."),
        timeseries("Store merges in progress", MERGES, layout.next(8)),
        timeseries("Replication queue and readonly replicas", REPLICAS, layout.next(8),
                   description="system.replicas: queue entries and readonly (1) per replicated table; empty without replication."),
        table("Readonly replicas", READONLY_REPLICAS, layout.next(8),
              description="Replicated tables whose newest reading is readonly: inserts into them fail."),
    ]
    variables = (*CLUSTER_VARIABLES, query_variable("job", "Job", "ServiceName", "up"))
    return dashboard(uid=UID, title="omni-telemetry pipeline", description="Scrapes, inserts and the delivery queue.",
                     tags=["omni-telemetry", "pipeline"], panels=panels, templating=variables)
