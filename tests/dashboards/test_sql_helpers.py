"""The SQL helpers on rows written by the real writer: rates across counter resets, increases,
histogram quantiles against a hand computation, and the plugin's macro expansion."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    Metric,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from dashboards import ALL, QueryContext, expand_query
from dashboards._sql import attr, histogram_quantile_series, increase_table, rate_series
from exporters.clickhouse import ClickHouseWriter, SchemaOptions, apply_schema, connect
from omni_core.datamodel import FlaggedHistogramDataPoint, FlaggedNumberDataPoint
from omni_core.errors import ConfigError

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=timezone.utc)
T0_NS = int(T0.timestamp()) * 1_000_000_000
S = 1_000_000_000
_TABLE = re.compile(r"(?<![.\w`])(otel_metrics_\w+)\b")

#: (seconds after T0, cumulative value): +10, +10, reset to 5 (counts as +5), +10.
COUNTER = [(0, 100.0), (10, 110.0), (20, 120.0), (30, 5.0), (40, 15.0)]
BOUNDS = [1.0, 5.0, 10.0]
#: Non-cumulative bucket counts (N+1, last is +Inf) at each point: 0 at start, then these.
BUCKETS = [10, 20, 30, 40]


def _data(metrics: list[Metric]) -> MetricsData:
    resource = Resource({"service.name": "unit", "service.instance.id": "a:1", "k8s.cluster.name": "test"})
    return MetricsData([ResourceMetrics(resource, [ScopeMetrics(InstrumentationScope("test"), metrics, "")], "")])


@pytest.fixture
def store(tmp_path: Any) -> Any:
    client = connect(f"chdb://{tmp_path}")
    options = SchemaOptions(database="otel")
    apply_schema(client, options)
    cumulative = AggregationTemporality.CUMULATIVE
    counter = [FlaggedNumberDataPoint({"route": "/"}, T0_NS, T0_NS + s * S, v) for s, v in COUNTER]
    # a second series of the same metric, steady at +1 per 10 s: rates sum across series
    counter += [FlaggedNumberDataPoint({"route": "/x"}, T0_NS, T0_NS + s * S, float(s // 10)) for s, _ in COUNTER]
    # another counter with the very same attributes: a query reading both must not mix their points
    errors = [FlaggedNumberDataPoint({"route": "/"}, T0_NS, T0_NS + s * S, float(s // 10)) for s, _ in COUNTER]
    histogram = [
        FlaggedHistogramDataPoint({"route": "/"}, T0_NS, T0_NS, 0, 0.0, [0, 0, 0, 0], BOUNDS, math.nan, math.nan),
        FlaggedHistogramDataPoint({"route": "/"}, T0_NS, T0_NS + 10 * S, sum(BUCKETS), 500.0, BUCKETS, BOUNDS, math.nan, math.nan),
    ]
    ClickHouseWriter(client, options).write(_data([
        Metric("requests_total", "", "", Sum(counter, cumulative, True)),
        Metric("errors_total", "", "", Sum(errors, cumulative, True)),
        Metric("latency", "", "s", Histogram(histogram, cumulative)),
    ]))
    return client


def _run(client: Any, sql: str, *, interval_s: float, variables: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    context = QueryContext(T0 - timedelta(seconds=1), T0 + timedelta(seconds=59), interval_s=interval_s,
                           variables={"cluster": [ALL], **(variables or {})})
    return client.query(_TABLE.sub(r"otel.\1", expand_query(sql, context))).result_rows


def test_rate_counts_a_reset_as_a_restart_from_zero_not_a_negative_spike(store: Any) -> None:
    rows = _run(store, rate_series("requests_total", attr("route")), interval_s=60)
    by_route = {legend: value for _time, legend, value in rows}
    # increases 10 + 10 + 5 + 10 = 35 over the 40 s between the first and last point
    assert by_route["/"] == pytest.approx(35 / 40)
    assert by_route["/x"] == pytest.approx(4 / 40)


def test_rate_per_bucket_is_per_second_and_never_negative(store: Any) -> None:
    rows = _run(store, rate_series("requests_total", attr("route"), where=[f"{attr('route')} = '/'"]), interval_s=10)
    rates = {time.replace(tzinfo=timezone.utc) - T0: value for time, _legend, value in rows}
    assert rates == {
        timedelta(seconds=10): pytest.approx(1.0),  # +10 in 10 s
        timedelta(seconds=20): pytest.approx(1.0),
        timedelta(seconds=30): pytest.approx(0.5),  # reset: 5 counted, not -115
        timedelta(seconds=40): pytest.approx(1.0),
    }


def test_rate_over_several_metrics_keeps_each_metrics_series_apart(store: Any) -> None:
    sql = rate_series(["requests_total", "errors_total"], "MetricName", where=[f"{attr('route')} = '/'"])
    rows = _run(store, sql, interval_s=60)
    assert {legend: value for _time, legend, value in rows} == {
        "requests_total": pytest.approx(35 / 40),
        "errors_total": pytest.approx(4 / 40),
    }


def test_rate_legend_sums_series_and_honours_variables(store: Any) -> None:
    sql = rate_series("requests_total", "'all routes'", where=[f"$__conditionalAll({attr('route')} IN (${{route:singlequote}}), $route)"])
    assert _run(store, sql, interval_s=60, variables={"route": [ALL]})[0][2] == pytest.approx(39 / 40)
    assert _run(store, sql, interval_s=60, variables={"route": ["/x"]})[0][2] == pytest.approx(4 / 40)


def test_increase_over_the_range_adds_the_post_reset_value(store: Any) -> None:
    rows = _run(store, increase_table("requests_total", [(attr("route"), "route")]), interval_s=60)
    assert dict(rows) == {"/": 35.0, "/x": 4.0}


def _hand_quantile(q: float, bounds: list[float], counts: list[int]) -> float:
    """Prometheus' histogram_quantile, written out step by step."""
    total = sum(counts)
    rank = q * total
    seen = 0
    for index, count in enumerate(counts):
        if seen + count >= rank:
            if index == len(bounds):  # +Inf bucket
                return bounds[-1]
            lower = 0.0 if index == 0 else bounds[index - 1]
            return lower + (bounds[index] - lower) * (rank - seen) / count
        seen += count
    raise AssertionError("unreachable")


@pytest.mark.parametrize("q", [0.1, 0.25, 0.5, 0.9, 0.99])
def test_histogram_quantile_matches_a_hand_computation(store: Any, q: float) -> None:
    rows = _run(store, histogram_quantile_series("latency", [q], attr("route")), interval_s=60)
    assert len(rows) == 1
    assert rows[0][2] == pytest.approx(_hand_quantile(q, BOUNDS, BUCKETS))


def test_hand_quantile_agrees_with_known_values() -> None:
    assert _hand_quantile(0.5, BOUNDS, BUCKETS) == pytest.approx(5 + 5 * (50 - 30) / 30)
    assert _hand_quantile(0.99, BOUNDS, BUCKETS) == 10.0  # in +Inf: highest finite bound


# -- macro expansion ---------------------------------------------------------------------------

CONTEXT = QueryContext(
    datetime(2026, 1, 5, 12, 0, 0, 900_000, tzinfo=timezone.utc),
    datetime(2026, 1, 5, 13, 0, 0, 999_000, tzinfo=timezone.utc),
    interval_s=0.4,
    variables={"pool": [ALL], "node": ["n1", "n2"], "one": "solo", "empty": ""},
    all_values={"pool": ["p1", "p2"]},
)
F, T = int(datetime(2026, 1, 5, 12, tzinfo=timezone.utc).timestamp()), int(datetime(2026, 1, 5, 13, tzinfo=timezone.utc).timestamp())


def test_time_macros_expand_to_whole_seconds_and_an_interval_of_at_least_one() -> None:
    assert expand_query("$__timeFilter(TimeUnix)", CONTEXT) == f"TimeUnix >= toDateTime({F}) AND TimeUnix <= toDateTime({T})"
    assert expand_query("$__timeInterval(TimeUnix)", CONTEXT) == "toStartOfInterval(toDateTime(TimeUnix), INTERVAL 1 second)"
    assert expand_query("x / $__interval_s", CONTEXT) == "x / 1"
    assert expand_query("$__fromTime, $__toTime", CONTEXT) == f"toDateTime({F}), toDateTime({T})"


def test_conditional_all_drops_the_condition_for_all_and_empty_values() -> None:
    assert expand_query("$__conditionalAll(a IN (${pool:singlequote}), $pool)", CONTEXT) == "1=1"
    assert expand_query("$__conditionalAll(a IN (${empty:singlequote}), $empty)", CONTEXT) == "1=1"
    assert expand_query("$__conditionalAll(a IN (${node:singlequote}), $node)", CONTEXT) == "a IN ('n1','n2')"


def test_variables_interpolate_as_grafana_does() -> None:
    assert expand_query("x = $one", CONTEXT) == "x = solo"  # single value: raw
    assert expand_query("x = ${one:singlequote}", CONTEXT) == "x = 'solo'"
    assert expand_query("x IN ($node)", CONTEXT) == "x IN ('n1','n2')"  # multi-value: quoted list
    assert expand_query("x IN (${pool:singlequote})", CONTEXT) == "x IN ('p1','p2')"
    assert expand_query("x = $unknown", CONTEXT) == "x = $unknown"


def test_conditional_all_with_wrong_arguments_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="exactly 2 arguments"):
        expand_query("$__conditionalAll(a = 1)", CONTEXT)
    with pytest.raises(ConfigError, match="unknown variable"):
        expand_query("$__conditionalAll(a = 1, $nope)", CONTEXT)
