"""Conversion rules of the Prometheus receiver, on hand-built expositions."""

from __future__ import annotations

import math

from opentelemetry.sdk.metrics.export import AggregationTemporality, Gauge, Histogram, Sum

from collectors.exposition import (
    ConversionReport,
    Exemplar,
    Exposition,
    MetricFamily,
    Sample,
    SeriesTracker,
    to_metrics,
)
from omni_core.datamodel import NO_RECORDED_VALUE, Summary, point_flags

T0 = 1_700_000_000_000_000_000
STEP = 15_000_000_000


def counter(value: float, **labels: str) -> Exposition:
    return Exposition(
        [MetricFamily("requests_total", "counter", "Requests.", samples=[Sample("requests_total", labels, value)])]
    )


def by_name(metrics):
    return {m.name: m for m in metrics}


def test_counter_becomes_cumulative_monotonic_sum_named_as_exposed():
    metrics = to_metrics(counter(5, code="200"), scrape_time_ns=T0, tracker=SeriesTracker())
    (metric,) = metrics
    assert metric.name == "requests_total"
    assert metric.description == "Requests."
    assert isinstance(metric.data, Sum)
    assert metric.data.is_monotonic
    assert metric.data.aggregation_temporality == AggregationTemporality.CUMULATIVE
    (point,) = metric.data.data_points
    assert point.value == 5
    assert dict(point.attributes) == {"code": "200"}
    assert point.start_time_unix_nano == T0 == point.time_unix_nano


def test_counter_keeps_start_time_across_scrapes():
    tracker = SeriesTracker()
    to_metrics(counter(5), scrape_time_ns=T0, tracker=tracker)
    (metric,) = to_metrics(counter(9), scrape_time_ns=T0 + STEP, tracker=tracker)
    point = metric.data.data_points[0]
    assert point.start_time_unix_nano == T0
    assert point.time_unix_nano == T0 + STEP


def test_counter_reset_starts_new_cumulative_series():
    tracker = SeriesTracker()
    to_metrics(counter(50), scrape_time_ns=T0, tracker=tracker)
    to_metrics(counter(60), scrape_time_ns=T0 + STEP, tracker=tracker)
    (metric,) = to_metrics(counter(3), scrape_time_ns=T0 + 2 * STEP, tracker=tracker)
    assert metric.data.data_points[0].start_time_unix_nano == T0 + 2 * STEP
    (metric,) = to_metrics(counter(7), scrape_time_ns=T0 + 3 * STEP, tracker=tracker)
    assert metric.data.data_points[0].start_time_unix_nano == T0 + 2 * STEP


def test_created_sample_gives_start_time():
    family = MetricFamily(
        "jobs",
        "counter",
        samples=[Sample("jobs_total", {"q": "a"}, 4), Sample("jobs_created", {"q": "a"}, 1_600_000_000.5)],
    )
    (metric,) = to_metrics(Exposition([family]), scrape_time_ns=T0, tracker=SeriesTracker())
    assert metric.name == "jobs_total"
    (point,) = metric.data.data_points
    assert point.start_time_unix_nano == 1_600_000_000_500_000_000


def test_gauge_and_untyped_become_gauges_without_start_time():
    exposition = Exposition(
        [
            MetricFamily("temp", "gauge", samples=[Sample("temp", {}, 21.5)]),
            MetricFamily("mystery", "untyped", samples=[Sample("mystery", {}, -1)]),
        ]
    )
    metrics = by_name(to_metrics(exposition, scrape_time_ns=T0, tracker=SeriesTracker()))
    for name, value in (("temp", 21.5), ("mystery", -1)):
        assert isinstance(metrics[name].data, Gauge)
        (point,) = metrics[name].data.data_points
        assert point.value == value
        assert point.start_time_unix_nano == 0


def test_type_override_turns_gauge_declared_totals_into_monotonic_sums():
    exposition = Exposition([MetricFamily("diskpool_bytes_read", "gauge", samples=[Sample("diskpool_bytes_read", {}, 10)])])
    tracker = SeriesTracker()
    overrides = {"diskpool_bytes_read": "counter"}
    (metric,) = to_metrics(exposition, scrape_time_ns=T0, tracker=tracker, type_overrides=overrides)
    assert isinstance(metric.data, Sum) and metric.data.is_monotonic


def test_attributes_drop_reserved_and_empty_labels_keep_exposed_job_instance_as_exported_and_are_sorted():
    labels = {"zone": "b", "job": "j", "instance": "i:1", "__scheme__": "http", "empty": "", "app": "x"}
    (metric,) = to_metrics(counter(1, **labels), scrape_time_ns=T0, tracker=SeriesTracker())
    attrs = metric.data.data_points[0].attributes
    assert dict(attrs) == {"app": "x", "exported_instance": "i:1", "exported_job": "j", "zone": "b"}
    assert list(attrs) == sorted(attrs)


def histogram(buckets: dict[str, float], count: float | None, total: float, **labels: str) -> Exposition:
    samples = [Sample("latency_seconds_bucket", {**labels, "le": le}, v) for le, v in buckets.items()]
    samples.append(Sample("latency_seconds_sum", labels, total))
    if count is not None:
        samples.append(Sample("latency_seconds_count", labels, count))
    return Exposition([MetricFamily("latency_seconds", "histogram", "Latency.", samples=samples)])


def test_histogram_buckets_are_decumulated_with_inf_bucket_last():
    exposition = histogram({"0.1": 2, "0.5": 5, "1": 9, "+Inf": 10}, 10, 4.2, path="/")
    (metric,) = to_metrics(exposition, scrape_time_ns=T0, tracker=SeriesTracker())
    assert metric.name == "latency_seconds"
    assert isinstance(metric.data, Histogram)
    (point,) = metric.data.data_points
    assert list(point.explicit_bounds) == [0.1, 0.5, 1.0]
    assert list(point.bucket_counts) == [2, 3, 4, 1]
    assert point.count == 10 and point.sum == 4.2
    assert dict(point.attributes) == {"path": "/"}


def test_histogram_buckets_out_of_order_are_sorted_by_bound():
    exposition = histogram({"+Inf": 6, "1": 4, "0.25": 1}, 6, 2.0)
    (metric,) = to_metrics(exposition, scrape_time_ns=T0, tracker=SeriesTracker())
    (point,) = metric.data.data_points
    assert list(point.explicit_bounds) == [0.25, 1.0]
    assert list(point.bucket_counts) == [1, 3, 2]


def test_histogram_without_count_is_dropped_and_reported():
    report = ConversionReport()
    metrics = to_metrics(histogram({"1": 1, "+Inf": 1}, None, 1), scrape_time_ns=T0, tracker=SeriesTracker(), report=report)
    assert metrics == []
    assert report.dropped == 3
    assert "without _count" in report.warnings[0]


def test_bucket_without_le_is_dropped_and_rest_kept():
    exposition = histogram({"1": 1, "+Inf": 2}, 2, 1.5)
    exposition.families[0].samples.append(Sample("latency_seconds_bucket", {}, 7))
    report = ConversionReport()
    (metric,) = to_metrics(exposition, scrape_time_ns=T0, tracker=SeriesTracker(), report=report)
    assert report.dropped == 1
    assert list(metric.data.data_points[0].bucket_counts) == [1, 1]


def test_histogram_count_reset_starts_new_series():
    tracker = SeriesTracker()
    to_metrics(histogram({"1": 5, "+Inf": 8}, 8, 3), scrape_time_ns=T0, tracker=tracker)
    (metric,) = to_metrics(histogram({"1": 1, "+Inf": 1}, 1, 0.2), scrape_time_ns=T0 + STEP, tracker=tracker)
    assert metric.data.data_points[0].start_time_unix_nano == T0 + STEP


def test_summary_quantiles_sorted_with_count_and_sum():
    samples = [
        Sample("rpc_seconds", {"quantile": "0.99"}, 0.9),
        Sample("rpc_seconds", {"quantile": "0.5"}, 0.2),
        Sample("rpc_seconds_sum", {}, 12.0),
        Sample("rpc_seconds_count", {}, 40),
    ]
    exposition = Exposition([MetricFamily("rpc_seconds", "summary", samples=samples)])
    (metric,) = to_metrics(exposition, scrape_time_ns=T0, tracker=SeriesTracker())
    assert isinstance(metric.data, Summary)
    (point,) = metric.data.data_points
    assert [(q.quantile, q.value) for q in point.quantile_values] == [(0.5, 0.2), (0.99, 0.9)]
    assert point.count == 40 and point.sum == 12.0
    assert dict(point.attributes) == {}


def test_vanished_series_gets_one_staleness_point_then_nothing():
    tracker = SeriesTracker()
    both = Exposition(
        [MetricFamily("up_things", "gauge", samples=[Sample("up_things", {"a": "1"}, 1), Sample("up_things", {"a": "2"}, 2)])]
    )
    one = Exposition([MetricFamily("up_things", "gauge", samples=[Sample("up_things", {"a": "1"}, 1)])])
    to_metrics(both, scrape_time_ns=T0, tracker=tracker)
    metrics = to_metrics(one, scrape_time_ns=T0 + STEP, tracker=tracker)
    points = [p for m in metrics for p in m.data.data_points]
    stale = [p for p in points if point_flags(p) & NO_RECORDED_VALUE]
    assert len(stale) == 1 and dict(stale[0].attributes) == {"a": "2"}
    metrics = to_metrics(one, scrape_time_ns=T0 + 2 * STEP, tracker=tracker)
    points = [p for m in metrics for p in m.data.data_points]
    assert len(points) == 1 and point_flags(points[0]) == 0


def test_target_down_marks_every_series_stale():
    tracker = SeriesTracker()
    to_metrics(counter(5, code="200"), scrape_time_ns=T0, tracker=tracker)
    from collectors.exposition import staleness_metrics

    (metric,) = staleness_metrics(tracker.mark_all_stale(T0 + STEP), T0 + STEP)
    (point,) = metric.data.data_points
    assert metric.name == "requests_total" and isinstance(metric.data, Sum)
    assert point.flags == NO_RECORDED_VALUE
    assert point.start_time_unix_nano == T0


def test_ordinary_nan_value_is_kept_not_flagged():
    exposition = Exposition([MetricFamily("ratio", "gauge", samples=[Sample("ratio", {}, math.nan)])])
    (metric,) = to_metrics(exposition, scrape_time_ns=T0, tracker=SeriesTracker())
    point = metric.data.data_points[0]
    assert math.isnan(point.value) and point_flags(point) == 0


def test_sample_timestamp_overrides_scrape_time():
    exposition = Exposition([MetricFamily("t", "gauge", samples=[Sample("t", {}, 1, timestamp_ms=1_600_000_000_123)])])
    (metric,) = to_metrics(exposition, scrape_time_ns=T0, tracker=SeriesTracker())
    assert metric.data.data_points[0].time_unix_nano == 1_600_000_000_123_000_000


def test_exemplar_trace_and_span_ids_become_ids_other_labels_filtered_attributes():
    sample = Sample(
        "hits_total", {}, 3,
        exemplar=Exemplar({"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331", "user": "u1"}, 1.0, 1_600_000_000.0),
    )
    exposition = Exposition([MetricFamily("hits", "counter", samples=[sample])])
    (metric,) = to_metrics(exposition, scrape_time_ns=T0, tracker=SeriesTracker())
    (exemplar,) = metric.data.data_points[0].exemplars
    assert exemplar.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert exemplar.span_id == 0xB7AD6B7169203331
    assert dict(exemplar.filtered_attributes) == {"user": "u1"}
    assert exemplar.time_unix_nano == 1_600_000_000_000_000_000


def test_tracker_forgets_series_unseen_past_horizon_and_respects_bound():
    tracker = SeriesTracker(forget_after_s=60, max_series=10)
    many = Exposition([MetricFamily("c", "counter", samples=[Sample("c", {"i": str(i)}, 1) for i in range(25)])])
    to_metrics(many, scrape_time_ns=T0, tracker=tracker)
    assert len(tracker) <= 10
    tracker2 = SeriesTracker(forget_after_s=60)
    to_metrics(counter(1, a="x"), scrape_time_ns=T0, tracker=tracker2)
    to_metrics(counter(1, a="y"), scrape_time_ns=T0 + 120 * 10**9, tracker=tracker2)
    assert len(tracker2) == 1
