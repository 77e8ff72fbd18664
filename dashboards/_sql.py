"""SQL for panels over the ``otel_metrics_*`` tables, with the Grafana ClickHouse plugin's macros.

Every helper returns one complete, formatted query whose shape an operator can read in the
panel editor: a ``points`` CTE selecting one metric's rows (``Flags = 0``: staleness markers
are not values; ``$__timeFilter(TimeUnix)`` and ``MetricName`` first, so the sort key
prunes), then the computation. Table names are unqualified: the datasource's default
database (provisioned from ``database``) resolves them, as the exporter's own examples do.

Counters are cumulative sums per series. A rate is computed per series from consecutive
points (``lagInFrame`` over the series, ordered by time): the increase between two points is
``value - previous`` or, when the value went down (the process restarted and the counter
began again at 0), the value itself, as Prometheus' ``rate`` does. Per time bucket and series
the rate is ``sum(increase) / sum(seconds elapsed)``, so buckets wider or narrower than the
scrape interval both give per-second figures; series are then summed per legend label.
Histogram quantiles interpolate linearly inside the bucket holding the rank, exactly like
Prometheus' ``histogram_quantile``, from the increase of ``BucketCounts`` over the bucket.
"""

from __future__ import annotations

from textwrap import dedent, indent
from typing import Sequence

from exporters.clickhouse import LOGS_TABLE, MetricKind, TableNames

__all__ = [
    "CLUSTER",
    "GAUGE",
    "HISTOGRAM",
    "LOGS",
    "SUM",
    "SERIES_KEY",
    "SUMMARY",
    "attr",
    "histogram_quantile_series",
    "increase_table",
    "latest_table",
    "log_variable_values",
    "logs_where",
    "quantile_value",
    "rate_series",
    "res",
    "series_over_time",
    "share_series",
    "state_series",
    "variable_values",
    "when_selected",
]

_TABLES = TableNames()
GAUGE = _TABLES.table_for(MetricKind.GAUGE)
SUM = _TABLES.table_for(MetricKind.SUM)
HISTOGRAM = _TABLES.table_for(MetricKind.HISTOGRAM)
SUMMARY = _TABLES.table_for(MetricKind.SUMMARY)
LOGS = LOGS_TABLE

#: Identity of one series: its metric, its resource (target) and its attributes (labels).
SERIES_KEY = "cityHash64(MetricName, ResourceAttributes, Attributes)"


def attr(name: str) -> str:
    """A data point attribute (a Prometheus label)."""
    return f"Attributes['{name}']"


def res(name: str) -> str:
    """A resource attribute (target identity: ``service.name`` = job, ``k8s.node.name``, ...)."""
    return f"ResourceAttributes['{name}']"


def when_selected(expression: str, variable: str) -> str:
    """``expression IN (selected values)``, or no condition when the variable is "All"."""
    return f"$__conditionalAll({expression} IN (${{{variable}:singlequote}}), ${variable})"


#: Every query carries the cluster filter: ``k8s.cluster.name`` is on every resource.
CLUSTER = when_selected(res("k8s.cluster.name"), "cluster")


def _metric_names(metric: str | Sequence[str]) -> str:
    if isinstance(metric, str):
        return f"MetricName = '{metric}'"
    return "MetricName IN (" + ", ".join(f"'{m}'" for m in metric) + ")"


def _where(metric: str | Sequence[str], where: Sequence[str]) -> str:
    conditions = ["$__timeFilter(TimeUnix)", _metric_names(metric), "Flags = 0", CLUSTER, *where]
    return "\n  AND ".join(conditions)


def _sql(text: str) -> str:
    return dedent(text).strip() + "\n"


def series_over_time(
    metric: str | Sequence[str],
    legend: str,
    *,
    where: Sequence[str] = (),
    value: str = "Value",
    aggregate: str = "avg",
    table: str = GAUGE,
    combine: str = "sum",
) -> str:
    """A gauge over time: per bucket and series ``aggregate(value)``, then ``combine`` per legend."""
    return _sql(
        f"""
        SELECT time, legend, {combine}(v) AS value
        FROM (
          SELECT $__timeInterval(TimeUnix) AS time, {legend} AS legend, {SERIES_KEY} AS series, {aggregate}({value}) AS v
          FROM {table}
          WHERE {indent(_where(metric, where), '          ').lstrip()}
          GROUP BY time, legend, series
        )
        GROUP BY time, legend
        ORDER BY time, legend
        """
    )


def _increases(metric: str | Sequence[str], legend: str, where: Sequence[str], table: str, tag: str = "1") -> str:
    """CTEs ``points``, ``steps``, ``increases``: each point's increase over the previous point of its series."""
    return f"""
        points AS (
          SELECT TimeUnix AS t, {SERIES_KEY} AS series, {legend} AS legend, {tag} AS tag, Value AS v
          FROM {table}
          WHERE {indent(_where(metric, where), '          ').lstrip()}
        ),
        steps AS (
          SELECT t, series, legend, tag, v,
                 lagInFrame(v) OVER w AS previous,
                 lagInFrame(t) OVER w AS previous_t,
                 row_number() OVER w AS n
          FROM points
          WINDOW w AS (PARTITION BY series ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ),
        increases AS (
          -- a value below the previous one is a counter reset: the counter restarted at 0
          SELECT t, series, legend, tag, if(v >= previous, v - previous, v) AS increase,
                 dateDiff('millisecond', previous_t, t) / 1000 AS seconds
          FROM steps
          WHERE n > 1 AND t > previous_t
        )"""


def rate_series(
    metric: str | Sequence[str],
    legend: str,
    *,
    where: Sequence[str] = (),
    table: str = SUM,
    scale: float = 1.0,
) -> str:
    """Per-second rate of a cumulative counter over time, summed per ``legend``."""
    factor = "" if scale == 1.0 else f" * {scale:g}"
    return _sql(
        f"""
        WITH{_increases(metric, legend, where, table)}
        SELECT time, legend, sum(rate){factor} AS value
        FROM (
          SELECT $__timeInterval(t) AS time, legend, series, sum(increase) / sum(seconds) AS rate
          FROM increases
          GROUP BY time, legend, series
        )
        GROUP BY time, legend
        ORDER BY time, legend
        """
    )


def share_series(
    metric: str | Sequence[str],
    legend: str,
    part: str,
    *,
    where: Sequence[str] = (),
    table: str = SUM,
) -> str:
    """Percentage of a counter's increase whose series match ``part`` (e.g. the 5xx share of requests)."""
    return _sql(
        f"""
        WITH{_increases(metric, legend, where, table, tag=part)}
        SELECT $__timeInterval(t) AS time, legend, 100 * sumIf(increase, tag) / sum(increase) AS value
        FROM increases
        GROUP BY time, legend
        HAVING sum(increase) > 0
        ORDER BY time, legend
        """
    )


def state_series(
    metric: str | Sequence[str],
    legend: str,
    state: str,
    states: Sequence[str],
    *,
    where: Sequence[str] = (),
    current: str = "Value = 1",
) -> str:
    """A state per entity over time as a code: the position of the newest state in ``states`` (0 = other).

    State gauges have one series per possible state and 1 on the current one (``current``);
    the newest current state in each time bucket wins.
    """
    codes = "[" + ", ".join(f"'{s}'" for s in states) + "]"
    return _sql(
        f"""
        SELECT time, legend, indexOf({codes}, state) AS value
        FROM (
          SELECT $__timeInterval(TimeUnix) AS time, {legend} AS legend, argMax({state}, TimeUnix) AS state
          FROM {GAUGE}
          WHERE {indent(_where(metric, [*where, current]), '          ').lstrip()}
          GROUP BY time, legend
        )
        ORDER BY time, legend
        """
    )


def increase_table(
    metric: str | Sequence[str],
    columns: Sequence[tuple[str, str]],
    *,
    where: Sequence[str] = (),
    table: str = SUM,
) -> str:
    """Total increase of a counter over the whole range, per the given ``(expression, name)`` columns."""
    legend = "tuple(" + ", ".join(expr for expr, _ in columns) + ")" if len(columns) > 1 else columns[0][0]
    names = ", ".join(f"legend.{i + 1} AS {name}" if len(columns) > 1 else f"legend AS {name}" for i, (_, name) in enumerate(columns))
    return _sql(
        f"""
        WITH{_increases(metric, legend, where, table)}
        SELECT {names}, sum(increase) AS increase
        FROM increases
        GROUP BY legend
        ORDER BY increase DESC
        """
    )


def latest_table(
    metric: str | Sequence[str],
    columns: Sequence[tuple[str, str]],
    *,
    where: Sequence[str] = (),
    table: str = GAUGE,
    value: str = "Value",
    value_name: str = "value",
    having: str = "",
) -> str:
    """The newest value of each series in the range, with the given ``(expression, name)`` columns."""
    selected = ",\n  ".join(f"{expr} AS {name}" for expr, name in columns)
    group = ", ".join(name for _, name in columns)
    having_clause = f"\nHAVING {having}" if having else ""
    return _sql(
        f"""
        SELECT
          {indent(selected, '          ').lstrip()},
          argMax({value}, TimeUnix) AS {value_name}
        FROM {table}
        WHERE {indent(_where(metric, where), '        ').lstrip()}
        GROUP BY {group}{having_clause}
        ORDER BY {group}
        """
    )


def quantile_value(q: float, bounds: str = "bounds", counts: str = "counts") -> str:
    """Prometheus' ``histogram_quantile`` of one histogram: ``counts`` per bucket, one more than ``bounds`` (+Inf).

    The rank ``q * total`` falls in bucket ``i`` (the first whose cumulative count reaches
    it); the answer interpolates linearly between that bucket's lower and upper bound (0 below
    the first bound). A rank in the +Inf bucket answers the highest finite bound; an empty
    histogram answers NaN.
    """
    i = f"arrayFirstIndex(c -> c >= {q:g} * arraySum({counts}), arrayCumSum({counts}))"
    lower = f"if({i} = 1, 0, {bounds}[{i} - 1])"
    below = f"if({i} = 1, 0, arrayCumSum({counts})[{i} - 1])"
    return (
        f"if(arraySum({counts}) = 0, nan,\n"
        f"   if({i} > length({bounds}), {bounds}[length({bounds})],\n"
        f"      {lower} + ({bounds}[{i}] - {lower}) * ({q:g} * arraySum({counts}) - {below}) / {counts}[{i}]))"
    )


def _tag(q: float) -> str:
    return f"{q:g}".replace(".", "")


def histogram_quantile_series(
    metric: str,
    quantiles: Sequence[float],
    legend: str,
    *,
    where: Sequence[str] = (),
    table: str = HISTOGRAM,
) -> str:
    """Quantiles over time from cumulative bucket counts, one series per quantile and ``legend``.

    The per-series increase of each bucket (reset-aware on ``Count``) is summed per time
    bucket and legend, then interpolated as Prometheus does; the +Inf bucket answers with
    the highest finite bound.
    """
    values = ",\n".join(f"{quantile_value(q)} AS p{_tag(q)}" for q in quantiles)
    union = " UNION ALL ".join(
        f"SELECT time, concat(legend, ' p{round(q * 100, 1):g}') AS legend, p{_tag(q)} AS value FROM quantiles"
        for q in quantiles
    )
    return _sql(
        f"""
        WITH
        points AS (
          SELECT TimeUnix AS t, {SERIES_KEY} AS series, {legend} AS legend,
                 ExplicitBounds AS bounds, BucketCounts AS bucket_counts, Count AS total
          FROM {table}
          WHERE {indent(_where(metric, where), '          ').lstrip()}
        ),
        steps AS (
          SELECT t, series, legend, bounds, bucket_counts, total,
                 lagInFrame(bucket_counts) OVER w AS previous_counts,
                 lagInFrame(total) OVER w AS previous_total,
                 row_number() OVER w AS n
          FROM points
          WINDOW w AS (PARTITION BY series ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ),
        buckets AS (
          -- per bucket of time and legend: how many observations fell in each histogram bucket
          SELECT $__timeInterval(t) AS time, legend, any(bounds) AS bounds,
                 sumForEach(if(total >= previous_total AND length(previous_counts) = length(bucket_counts),
                               arrayMap((c, p) -> toFloat64(c) - toFloat64(p), bucket_counts, previous_counts),
                               arrayMap(c -> toFloat64(c), bucket_counts))) AS counts
          FROM steps
          WHERE n > 1
          GROUP BY time, legend
        ),
        quantiles AS (
          SELECT time, legend,
          {indent(values, '          ').lstrip()}
          FROM buckets
        )
        SELECT time, legend, value FROM ({union})
        WHERE NOT isNaN(value)
        ORDER BY time, legend
        """
    )


def variable_values(
    expression: str,
    metric: str | Sequence[str],
    *,
    table: str = GAUGE,
    where: Sequence[str] = (),
) -> str:
    """A template variable's values: distinct ``expression`` of one metric in the time range.

    The time filter and ``MetricName`` make the query read through the sort key instead of
    the whole table.
    """
    conditions = ["$__timeFilter(TimeUnix)", _metric_names(metric), *where]
    return (
        f"SELECT DISTINCT {expression} AS value FROM {table} WHERE "
        + " AND ".join(conditions)
        + f" AND {expression} != '' ORDER BY value"
    )


def logs_where(where: Sequence[str] = ()) -> str:
    """The conditions of a log query: the time range on the sort key's column, the cluster, then ``where``."""
    return "\n  AND ".join(["$__timeFilter(TimestampTime)", CLUSTER, *where])


def log_variable_values(expression: str, *, where: Sequence[str] = ()) -> str:
    """A template variable's values from the log records in the time range."""
    conditions = ["$__timeFilter(TimestampTime)", *where]
    return (
        f"SELECT DISTINCT {expression} AS value FROM {LOGS} WHERE "
        + " AND ".join(conditions)
        + f" AND {expression} != '' ORDER BY value"
    )
