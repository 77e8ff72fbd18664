"""Pipeline: the collector watching itself -- scrapes, storage inserts, the delivery queue.

``up``, ``scrape_duration_seconds`` and ``scrape_samples_scraped`` are stored for every target
by the scrape loop. The ``omni_*`` series are the collector's own ``/metrics``, stored when
``metrics_port`` is set (target of source ``omni``, job ``omni``).
"""

from __future__ import annotations

from grafanalib.core import Dashboard

from ._common import CLUSTER_VARIABLES, UP_DOWN, job, query_variable
from ._grafana import Layout, dashboard, state_timeline, table, timeseries
from ._sql import (
    CLUSTER,
    SERIES_KEY,
    GAUGE,
    SUM,
    attr,
    histogram_quantile_series,
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
    ]
    variables = (*CLUSTER_VARIABLES, query_variable("job", "Job", "ServiceName", "up"))
    return dashboard(uid=UID, title="omni-telemetry pipeline", description="Scrapes, inserts and the delivery queue.",
                     tags=["omni-telemetry", "pipeline"], panels=panels, templating=variables)
