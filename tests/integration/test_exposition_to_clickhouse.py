"""Exposition -> MetricsData -> ClickHouse (real chDB) -> SELECT gives every sample back."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource

from collectors import ScrapeTarget, Scraper, SeriesTracker, metrics_data, parse_exposition, to_metrics
from collectors._scrape import SCOPE
from exporters.clickhouse import ClickHouseWriter, MetricKind, SchemaOptions, apply_schema, connect, qualified
from http_targets import Answer, http_target

EXPOSITION = """\
# HELP api_requests_total Requests served.
# TYPE api_requests_total counter
api_requests_total{method="GET",code="200"} 1027 1700000000000
api_requests_total{method="POST",code="500"} 3 1700000000000
# HELP queue_depth Items waiting.
# TYPE queue_depth gauge
queue_depth{queue="a b \\"c\\""} 12.5 1700000000000
legacy_thing{kind="x"} 42 1700000000000
# HELP rpc_latency_seconds RPC latency.
# TYPE rpc_latency_seconds histogram
rpc_latency_seconds_bucket{rpc="get",le="0.05"} 10 1700000000000
rpc_latency_seconds_bucket{rpc="get",le="0.5"} 25 1700000000000
rpc_latency_seconds_bucket{rpc="get",le="+Inf"} 30 1700000000000
rpc_latency_seconds_sum{rpc="get"} 6.25 1700000000000
rpc_latency_seconds_count{rpc="get"} 30 1700000000000
# HELP gc_pause_seconds GC pauses.
# TYPE gc_pause_seconds summary
gc_pause_seconds{quantile="0.5"} 0.002 1700000000000
gc_pause_seconds{quantile="0.99"} 0.04 1700000000000
gc_pause_seconds_sum 1.5 1700000000000
gc_pause_seconds_count 420 1700000000000
"""
TS = 1_700_000_000_000_000_000
SCRAPE_NS = TS + 5_000_000_000


@pytest.fixture
def store(tmp_path):
    client = connect(f"chdb://{tmp_path / 'db'}")
    options = SchemaOptions(database="rt")
    apply_schema(client, options)
    return client, options


def write_exposition(store, text: str) -> None:
    client, options = store
    metrics = to_metrics(parse_exposition(text), scrape_time_ns=SCRAPE_NS, tracker=SeriesTracker())
    resource = Resource({"service.name": "api", "service.instance.id": "10.1.2.3:9100"})
    data = MetricsData([ResourceMetrics(resource, [ScopeMetrics(SCOPE, metrics, "")], "")])
    ClickHouseWriter(client, options).write(data)


def rows(store, kind: MetricKind, columns: str, order: str = "MetricName"):
    client, options = store
    return client.query(f"SELECT {columns} FROM {qualified(options, kind)} ORDER BY {order}").result_rows


def test_counters_round_trip_as_monotonic_cumulative_sums(store):
    write_exposition(store, EXPOSITION)
    got = rows(
        store, MetricKind.SUM,
        "MetricName, MetricDescription, Attributes, Value, toUnixTimestamp64Nano(TimeUnix), "
        "toUnixTimestamp64Nano(StartTimeUnix), AggregationTemporality, IsMonotonic, ServiceName, "
        "ResourceAttributes['service.instance.id']",
        "Value",
    )
    assert got == [
        ("api_requests_total", "Requests served.", {"code": "500", "method": "POST"}, 3.0, TS, TS, 2, True, "api", "10.1.2.3:9100"),
        ("api_requests_total", "Requests served.", {"code": "200", "method": "GET"}, 1027.0, TS, TS, 2, True, "api", "10.1.2.3:9100"),
    ]


def test_gauges_and_untyped_round_trip_with_escaped_labels(store):
    write_exposition(store, EXPOSITION)
    got = rows(store, MetricKind.GAUGE, "MetricName, Attributes, Value, toUnixTimestamp64Nano(TimeUnix), Flags")
    assert got == [
        ("legacy_thing", {"kind": "x"}, 42.0, TS, 0),
        ("queue_depth", {"queue": 'a b "c"'}, 12.5, TS, 0),
    ]


def test_histograms_round_trip_with_bounds_and_decumulated_counts(store):
    write_exposition(store, EXPOSITION)
    got = rows(store, MetricKind.HISTOGRAM, "MetricName, Attributes, Count, Sum, BucketCounts, ExplicitBounds, AggregationTemporality")
    assert got == [("rpc_latency_seconds", {"rpc": "get"}, 30, 6.25, [10, 15, 5], [0.05, 0.5], 2)]


def test_summaries_round_trip_with_quantiles(store):
    write_exposition(store, EXPOSITION)
    got = rows(store, MetricKind.SUMMARY, "MetricName, Count, Sum, `ValueAtQuantiles.Quantile`, `ValueAtQuantiles.Value`")
    assert got == [("gc_pause_seconds", 420, 1.5, [0.5, 0.99], [0.002, 0.04])]


def test_scrape_of_live_target_stores_up_and_scrape_metrics(store):
    client, options = store
    with http_target(Answer(EXPOSITION.encode())) as server:
        scraper = Scraper(cluster="lab")
        target = ScrapeTarget(f"{server.url}/metrics", job="api")

        async def once():
            try:
                return await scraper.scrape(target)
            finally:
                await scraper.aclose()

        result = asyncio.run(once())
    ClickHouseWriter(client, options).write(metrics_data([result]))
    got = dict(
        rows(store, MetricKind.GAUGE, "MetricName, Value", "MetricName")
    )
    assert got["up"] == 1.0
    assert got["scrape_samples_scraped"] == 13  # 2 counter + 2 gauge + 5 histogram + 4 summary lines
    assert got["scrape_duration_seconds"] > 0
    cluster = rows(store, MetricKind.GAUGE, "DISTINCT ResourceAttributes['k8s.cluster.name']")
    assert cluster == [("lab",)]


def test_federated_job_and_instance_labels_are_stored_as_two_series(store):
    text = (
        '# TYPE x_total counter\n'
        'x_total{instance="pod-a:9000",job="app"} 1\n'
        'x_total{instance="pod-b:9000",job="app"} 2\n'
    )
    write_exposition(store, text)
    got = rows(store, MetricKind.SUM, "Attributes, Value, ServiceName, ResourceAttributes['service.instance.id']", "Value")
    assert got == [
        ({"exported_instance": "pod-a:9000", "exported_job": "app"}, 1.0, "api", "10.1.2.3:9100"),
        ({"exported_instance": "pod-b:9000", "exported_job": "app"}, 2.0, "api", "10.1.2.3:9100"),
    ]
