"""MetricsData -> ClickHouseWriter -> real chDB -> SELECT returns every field the exporter maps."""

from __future__ import annotations

import math
import threading
import uuid

import pytest
from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Buckets,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from exporters.clickhouse import (
    ClickHouseMetricExporter,
    ClickHouseWriter,
    MetricKind,
    SchemaOptions,
    apply_schema,
    connect,
    qualified,
)
from omni_core.datamodel import (
    NO_RECORDED_VALUE,
    FlaggedHistogramDataPoint,
    FlaggedNumberDataPoint,
    QuantileValue,
    Summary,
    SummaryDataPoint,
)
from omni_core.errors import StorageError, StorageUnavailable

# Low digits set on purpose: a float or microsecond round trip would lose them.
START = 1_700_000_000_111_222_333
T1 = 1_700_000_015_444_555_666
T2 = 1_700_000_030_777_888_999
TRACE = 0x0AF7651916CD43DD8448EB211C80319C
SPAN = 0x00F067AA0BA902B7
CUMULATIVE = AggregationTemporality.CUMULATIVE
DELTA = AggregationTemporality.DELTA
RESOURCE_SCHEMA = "https://opentelemetry.io/schemas/1.24.0"
SCOPE_SCHEMA = "https://opentelemetry.io/schemas/1.21.0"


def hand_built() -> MetricsData:
    """Every metric kind, staleness points, exemplars with and without ids, unsorted and non-string labels."""
    with_ids = Exemplar({"trace_kind": "sampled", "pod": "web-0"}, 0.25, T1 - 7, SPAN, TRACE)
    without_ids = Exemplar({}, 3, T1 - 9)
    metrics = [
        Metric("envoy_server_live", "Server liveness", "1", Gauge([
            FlaggedNumberDataPoint({"zone": "b", "az": "a"}, 0, T1, 1, [with_ids, without_ids]),
            FlaggedNumberDataPoint({"zone": "c"}, 0, T1, math.nan, flags=NO_RECORDED_VALUE),
            NumberDataPoint({"zone": "d"}, 0, T2, -2.5),
        ])),
        Metric("envoy_cluster_upstream_rq_total", "Requests", "", Sum([
            FlaggedNumberDataPoint({"envoy_cluster_name": "shop/cart/80", "code": 200}, START, T1, 1027),
        ], CUMULATIVE, True)),
        Metric("kubevirt_vmi_phase_count", "", "", Sum([
            NumberDataPoint({"phase": "Running"}, START, T1, 4.0),
        ], DELTA, False)),
        Metric("envoy_cluster_upstream_rq_time", "Latency", "ms", Histogram([
            FlaggedHistogramDataPoint({"envoy_cluster_name": "a"}, START, T1, 10, 123.5, [1, 2, 3, 4],
                                      [0.5, 1.0, 5.0], math.nan, math.nan, [with_ids]),
            HistogramDataPoint({"envoy_cluster_name": "b"}, START, T1, 2, 3.0, [0, 2], [10.0], 1.0, 2.0),
            FlaggedHistogramDataPoint({"envoy_cluster_name": "gone"}, START, T1, 0, 0.0, [], [], math.nan, math.nan,
                                      flags=NO_RECORDED_VALUE),
        ], CUMULATIVE)),
        Metric("http.server.duration", "", "s", ExponentialHistogram([
            ExponentialHistogramDataPoint({"route": "/"}, START, T1, 7, 2.75, 3, 1, Buckets(-2, [1, 0, 2]),
                                          Buckets(5, [3]), 0, 0.01, 1.5, []),
        ], DELTA)),
        Metric("go_gc_duration_seconds", "GC pauses", "s", Summary([
            SummaryDataPoint({"instance_role": "io-engine"}, START, T1, 42, 0.0123,
                             (QuantileValue(0.0, 1e-5), QuantileValue(0.5, 2e-4), QuantileValue(1.0, 3e-3))),
            SummaryDataPoint({"instance_role": "gone"}, START, T1, 0, 0.0, (), NO_RECORDED_VALUE),
        ])),
    ]
    scope = InstrumentationScope("omni_telemetry.collectors", "0.1.0", SCOPE_SCHEMA, {"source": "envoy", "rank": 2})
    resource = Resource(
        {"service.name": "contour", "service.instance.id": "10.0.0.7:8002", "server.port": 8002, "up": True,
         "ratio": 0.5},
        RESOURCE_SCHEMA,
    )
    return MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, metrics, SCOPE_SCHEMA)], RESOURCE_SCHEMA)])


HEAD = (
    "ResourceAttributes, ResourceSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, ScopeDroppedAttrCount, "
    "ScopeSchemaUrl, ServiceName, MetricName, MetricDescription, MetricUnit, Attributes, "
    "toUnixTimestamp64Nano(StartTimeUnix), toUnixTimestamp64Nano(TimeUnix)"
)
EXEMPLAR_COLUMNS = (
    "Exemplars.FilteredAttributes, arrayMap(t -> toUnixTimestamp64Nano(t), Exemplars.TimeUnix), "
    "Exemplars.Value, Exemplars.SpanId, Exemplars.TraceId"
)
# The resource and scope maps as pcommon AsString renders them, keys sorted.
RESOURCE_MAP = {"ratio": "0.5", "server.port": "8002", "service.instance.id": "10.0.0.7:8002",
                "service.name": "contour", "up": "true"}
SCOPE_MAP = {"rank": "2", "source": "envoy"}
SCOPE_COLUMNS = (RESOURCE_MAP, RESOURCE_SCHEMA, "omni_telemetry.collectors", "0.1.0", SCOPE_MAP, 0, SCOPE_SCHEMA,
                 "contour")
EXEMPLARS_WITH_IDS = ([{"pod": "web-0", "trace_kind": "sampled"}], [T1 - 7], [0.25],
                      ["00f067aa0ba902b7"], ["0af7651916cd43dd8448eb211c80319c"])
NO_EXEMPLARS = ([], [], [], [], [])


@pytest.fixture
def store(chdb_store):
    ClickHouseWriter(chdb_store.client, chdb_store.options).write(hand_built())
    return chdb_store


def select(store, kind: MetricKind, columns: str, order: str = "MetricName, TimeUnix, toString(Attributes)"):
    return store.client.query(f"SELECT {columns} FROM {qualified(store.options, kind)} ORDER BY {order}").result_rows


def test_gauge_rows_carry_every_field_including_staleness_and_exemplars(store):
    rows = select(store, MetricKind.GAUGE, f"{HEAD}, Value, Flags, {EXEMPLAR_COLUMNS}")
    head = (*SCOPE_COLUMNS, "envoy_server_live", "Server liveness", "1")
    assert rows == [
        (*head, {"az": "a", "zone": "b"}, 0, T1, 1.0, 0,
         [{"pod": "web-0", "trace_kind": "sampled"}, {}], [T1 - 7, T1 - 9], [0.25, 3.0],
         ["00f067aa0ba902b7", "0000000000000000"],
         ["0af7651916cd43dd8448eb211c80319c", "00000000000000000000000000000000"]),
        # A staleness marker keeps its row: Flags carries NO_RECORDED_VALUE and Value is 0.
        (*head, {"zone": "c"}, 0, T1, 0.0, NO_RECORDED_VALUE, *NO_EXEMPLARS),
        (*head, {"zone": "d"}, 0, T2, -2.5, 0, *NO_EXEMPLARS),
    ]


def test_sums_keep_temporality_monotonicity_and_cast_ints_to_float(store):
    rows = select(store, MetricKind.SUM, f"{HEAD}, Value, Flags, {EXEMPLAR_COLUMNS}, AggregationTemporality, IsMonotonic")
    assert rows == [
        (*SCOPE_COLUMNS, "envoy_cluster_upstream_rq_total", "Requests", "",
         {"code": "200", "envoy_cluster_name": "shop/cart/80"}, START, T1, 1027.0, 0, *NO_EXEMPLARS, 2, True),
        (*SCOPE_COLUMNS, "kubevirt_vmi_phase_count", "", "", {"phase": "Running"}, START, T1, 4.0, 0, *NO_EXEMPLARS,
         1, False),
    ]


def test_histograms_store_buckets_bounds_and_zero_for_unset_min_max(store):
    rows = select(store, MetricKind.HISTOGRAM,
                  f"{HEAD}, Count, Sum, BucketCounts, ExplicitBounds, {EXEMPLAR_COLUMNS}, Flags, Min, Max, "
                  "AggregationTemporality")
    head = (*SCOPE_COLUMNS, "envoy_cluster_upstream_rq_time", "Latency", "ms")
    assert rows == [
        (*head, {"envoy_cluster_name": "a"}, START, T1, 10, 123.5, [1, 2, 3, 4], [0.5, 1.0, 5.0],
         *EXEMPLARS_WITH_IDS, 0, 0.0, 0.0, 2),
        (*head, {"envoy_cluster_name": "b"}, START, T1, 2, 3.0, [0, 2], [10.0], *NO_EXEMPLARS, 0, 1.0, 2.0, 2),
        (*head, {"envoy_cluster_name": "gone"}, START, T1, 0, 0.0, [], [], *NO_EXEMPLARS, NO_RECORDED_VALUE,
         0.0, 0.0, 2),
    ]


def test_exponential_histograms_store_scale_zero_count_and_offsets(store):
    rows = select(store, MetricKind.EXPONENTIAL_HISTOGRAM,
                  f"{HEAD}, Count, Sum, Scale, ZeroCount, PositiveOffset, PositiveBucketCounts, NegativeOffset, "
                  f"NegativeBucketCounts, {EXEMPLAR_COLUMNS}, Flags, Min, Max, AggregationTemporality")
    assert rows == [
        (*SCOPE_COLUMNS, "http.server.duration", "", "s", {"route": "/"}, START, T1, 7, 2.75, 3, 1, -2, [1, 0, 2],
         5, [3], *NO_EXEMPLARS, 0, 0.01, 1.5, 1),
    ]


def test_summaries_store_quantiles_as_parallel_arrays(store):
    rows = select(store, MetricKind.SUMMARY,
                  f"{HEAD}, Count, Sum, ValueAtQuantiles.Quantile, ValueAtQuantiles.Value, Flags")
    head = (*SCOPE_COLUMNS, "go_gc_duration_seconds", "GC pauses", "s")
    assert rows == [
        (*head, {"instance_role": "gone"}, START, T1, 0, 0.0, [], [], NO_RECORDED_VALUE),
        (*head, {"instance_role": "io-engine"}, START, T1, 42, 0.0123, [0.0, 0.5, 1.0], [1e-5, 2e-4, 3e-3], 0),
    ]


def test_attribute_maps_are_stored_with_sorted_keys(store):
    keys = select(store, MetricKind.GAUGE, "mapKeys(Attributes), mapKeys(ResourceAttributes), "
                  "mapKeys(ScopeAttributes), arrayMap(m -> mapKeys(m), Exemplars.FilteredAttributes)")
    assert keys[0] == (["az", "zone"], sorted(RESOURCE_MAP), ["rank", "source"], [["pod", "trace_kind"], []])


def test_same_labels_in_another_order_are_one_series(chdb_store):
    resource = Resource({"service.name": "svc"})
    scope = InstrumentationScope("s")

    def batch(attributes: dict, value: float) -> MetricsData:
        metric = Metric("m", "", "", Gauge([NumberDataPoint(attributes, 0, T1 + int(value), value)]))
        return MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, [metric], "")], "")])

    writer = chdb_store.writer()
    writer.write(batch({"b": "2", "a": "1"}, 1.0))
    writer.write(batch({"a": "1", "b": "2"}, 2.0))
    assert chdb_store.client.command(
        f"SELECT uniqExact(Attributes) FROM {qualified(chdb_store.options, MetricKind.GAUGE)}") == 1


def test_v2_tables_store_second_timestamps(chdb_store):
    options = SchemaOptions(database=f"v2_{uuid.uuid4().hex[:8]}", generation="v2")
    apply_schema(chdb_store.client, options)
    ClickHouseWriter(chdb_store.client, options).write(hand_built())
    rows = chdb_store.client.query(
        f"SELECT toUnixTimestamp(StartTimeUnix), toUnixTimestamp(TimeUnix), arrayMap(t -> toUnixTimestamp(t), "
        f"Exemplars.TimeUnix) FROM {qualified(options, MetricKind.HISTOGRAM)} ORDER BY Attributes['envoy_cluster_name']"
    ).result_rows
    assert rows[0] == (START // 10**9, T1 // 10**9, [(T1 - 7) // 10**9])


def test_write_reports_rows_per_table(chdb_store):
    report = chdb_store.writer().write(hand_built())
    options = chdb_store.options
    assert dict(report.rows) == {
        qualified(options, MetricKind.GAUGE): 3,
        qualified(options, MetricKind.SUM): 2,
        qualified(options, MetricKind.HISTOGRAM): 3,
        qualified(options, MetricKind.EXPONENTIAL_HISTOGRAM): 1,
        qualified(options, MetricKind.SUMMARY): 2,
    }
    assert report.total == 11 and report.skipped_points == 0
    assert chdb_store.all_rows() == 11


def test_one_insert_per_table_per_write(chdb_store):
    """Column-oriented batches: a write is one INSERT (one part) per table, never one per point."""
    chdb_store.client.command("SYSTEM STOP MERGES")
    try:
        chdb_store.writer().write(hand_built())
        parts = chdb_store.client.query(
            "SELECT table, count() FROM system.parts WHERE active AND database = {db:String} GROUP BY table",
            parameters={"db": chdb_store.options.database},
        ).result_rows
    finally:
        chdb_store.client.command("SYSTEM START MERGES")
    assert sorted(parts) == sorted((chdb_store.options.tables.table_for(kind), 1) for kind in MetricKind)


def test_a_retried_batch_with_the_same_token_is_stored_once(chdb_store):
    writer = chdb_store.writer()
    writer.write(hand_built(), insert_token="batch-1")
    writer.write(hand_built(), insert_token="batch-1")
    assert chdb_store.all_rows() == 11
    writer.write(hand_built(), insert_token="batch-2")
    assert chdb_store.all_rows() == 22


def test_token_deduplication_needs_the_window_setting(chdb_store):
    options = SchemaOptions(database=f"nodedup_{uuid.uuid4().hex[:8]}", deduplication_window=0)
    apply_schema(chdb_store.client, options)
    writer = ClickHouseWriter(chdb_store.client, options)
    writer.write(hand_built(), insert_token="batch-1")
    writer.write(hand_built(), insert_token="batch-1")
    assert int(chdb_store.client.command(f"SELECT count() FROM {qualified(options, MetricKind.GAUGE)}")) == 6


def test_inserting_into_missing_tables_is_a_statement_error_not_an_outage(chdb_store):
    writer = ClickHouseWriter(chdb_store.client, SchemaOptions(database="no_such_database"))
    with pytest.raises(StorageError) as caught:
        writer.write(hand_built())
    assert not isinstance(caught.value, StorageUnavailable)
    assert "no_such_database" in str(caught.value)


def test_unknown_metric_data_is_skipped_and_counted(chdb_store):
    class Exotic:
        data_points = [object(), object()]

    data = MetricsData([ResourceMetrics(Resource({}), [ScopeMetrics(InstrumentationScope("s"), [
        Metric("exotic", "", "", Exotic()),
        Metric("fine", "", "", Gauge([NumberDataPoint({}, 0, T1, 1.0)])),
    ], "")], "")])
    report = chdb_store.writer().write(data)
    assert report.skipped_points == 2 and report.total == 1


def test_two_exporters_on_one_chdb_path_write_from_many_threads(chdb_store):
    """chDB allows one engine per process: both exporters share its client and take turns on it."""
    first = ClickHouseMetricExporter(ClickHouseWriter(connect(chdb_store.dsn), chdb_store.options))
    second = ClickHouseMetricExporter(ClickHouseWriter(connect(chdb_store.dsn), chdb_store.options))
    results = []

    def work(exporter: ClickHouseMetricExporter, thread: int) -> None:
        for i in range(10):
            data = MetricsData([ResourceMetrics(Resource({"service.name": f"t{thread}"}), [ScopeMetrics(
                InstrumentationScope("s"),
                [Metric("m", "", "", Gauge([NumberDataPoint({"i": str(i)}, 0, T1 + i, float(j)) for j in range(50)]))],
                "",
            )], "")])
            results.append(exporter.export(data).name)
            # a concurrent reader on the same shared client
            connect(chdb_store.dsn).query(f"SELECT count() FROM {qualified(chdb_store.options, MetricKind.GAUGE)}")

    threads = [threading.Thread(target=work, args=(exp, n)) for n, exp in enumerate([first, second, first, second])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["SUCCESS"] * 40
    assert chdb_store.rows(MetricKind.GAUGE) == 4 * 10 * 50


def test_an_identical_batch_without_a_token_is_also_recognised_as_a_duplicate(chdb_store):
    """Same series, timestamps and values: the block checksum matches, so the window drops it."""
    writer = chdb_store.writer()
    writer.write(hand_built())
    writer.write(hand_built())
    assert chdb_store.all_rows() == 11


def test_a_malformed_point_is_a_storage_error_and_stores_nothing(chdb_store):
    data = MetricsData([ResourceMetrics(Resource({}), [ScopeMetrics(InstrumentationScope("s"), [
        Metric("fine", "", "", Gauge([NumberDataPoint({}, 0, T1, 1.0)])),
        Metric("broken", "", "", Gauge([NumberDataPoint({}, 0, T1, "not a number")])),
    ], "")], "")])
    with pytest.raises(StorageError, match="malformed"):
        chdb_store.writer().write(data)
    assert chdb_store.all_rows() == 0
