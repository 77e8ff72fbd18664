"""The pre-encoded Native block of a steady-state batch is byte for byte the block
clickhouse-connect builds from the plain path's columns, on generated layouts and values."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from clickhouse_connect.datatypes.registry import get_from_name
from clickhouse_connect.driver.insert import InsertContext
from clickhouse_connect.driver.transform import NativeTransform
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    Metric,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from exporters.clickhouse import MetricKind, SchemaOptions, expected_columns
from exporters.clickhouse._columns import to_columns
from exporters.clickhouse._encoded import NativeEncoder
from omni_core.datamodel import (
    NO_RECORDED_VALUE,
    FlaggedHistogramDataPoint,
    FlaggedNumberDataPoint,
    QuantileValue,
    Summary,
    SummaryDataPoint,
)

T0 = 1_700_000_000_123_456_789

labels = st.dictionaries(
    st.sampled_from(["job", "instance", "le", "path", "zone", "ü"]),
    st.text(max_size=6),
    max_size=4,
)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, math.nan, 1e-300, -1.5]),
    st.integers(min_value=-(2**40), max_value=2**40),
)
counts = st.integers(min_value=0, max_value=2**63)
bounds = st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=4)
quantiles = st.lists(st.sampled_from([0.0, 0.5, 0.9, 0.99, -0.0]), max_size=3)
metric_specs = st.lists(
    st.tuples(
        st.sampled_from(["gauge", "sum", "histogram", "summary"]),
        st.sampled_from(["a", "b_total", "c_seconds", "é"]),
        st.sampled_from([None, "", "help text"]),
        st.sampled_from(["", "s", "By"]),
        st.lists(st.tuples(labels, bounds, quantiles), min_size=0, max_size=4),
        st.booleans(),
    ),
    min_size=1,
    max_size=5,
)


def build(specs, draw_value, time_ns: int) -> MetricsData:
    """A batch with the layout of ``specs``; ``draw_value`` gives every value, count and flag."""
    metrics = []
    for kind, name, description, unit, series, monotonic in specs:
        if kind in ("gauge", "sum"):
            points = [
                FlaggedNumberDataPoint(attrs, T0, time_ns, draw_value(floats), (), draw_value(st.sampled_from([0, NO_RECORDED_VALUE])))
                for attrs, _, _ in series
            ]
            data = Gauge(points) if kind == "gauge" else Sum(points, AggregationTemporality.CUMULATIVE, monotonic)
        elif kind == "histogram":
            points = [
                FlaggedHistogramDataPoint(
                    attrs, T0, time_ns, draw_value(counts), draw_value(floats),
                    [draw_value(counts) for _ in range(len(b) + 1)], b,
                    draw_value(floats), draw_value(floats), [], draw_value(st.sampled_from([0, NO_RECORDED_VALUE])),
                )
                for attrs, b, _ in series
            ]
            data = Histogram(points, AggregationTemporality.CUMULATIVE)
        else:
            points = [
                SummaryDataPoint(
                    attrs, T0, time_ns, draw_value(counts), draw_value(floats),
                    tuple(QuantileValue(q, draw_value(floats)) for q in qs),
                )
                for attrs, _, qs in series
            ]
            data = Summary(points)
        metrics.append(Metric(name, description, unit, data))
    resource = Resource({"service.name": "svc", "k8s.pod.name": "p-1"})
    return MetricsData([ResourceMetrics(resource, [ScopeMetrics(InstrumentationScope("s", "1"), metrics, "")], "")])


def reference_blocks(batch: MetricsData, options: SchemaOptions) -> dict[MetricKind, bytes]:
    """What clickhouse-connect's own Native insert writes for the plain path's columns."""
    tables, _ = to_columns(batch, options.generation)
    out = {}
    for kind, column_set in tables.items():
        if not column_set.rows:
            continue
        described = expected_columns(options, kind)
        context = InsertContext(
            "t", [n for n, _ in described], [get_from_name(t) for _, t in described],
            data=column_set.columns, column_oriented=True, block_size=10**6,
        )
        body = b"".join(NativeTransform.build_insert(context))
        out[kind] = body[body.index(b"\n") + 1 :]
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=metric_specs, generation=st.sampled_from(["classic", "v2"]), data=st.data())
def test_a_reused_layout_encodes_the_same_bytes_as_the_plain_path(specs, generation, data):
    options = SchemaOptions(generation=generation)
    encoder = NativeEncoder(options)
    draw = data.draw
    first = build(specs, draw, T0 + 15_000_000_000)
    second = build(specs, draw, T0 + 30_000_000_000)
    for batch in (first, second):
        encoded = encoder.encode(batch)
        assert encoded is not None
        expected = reference_blocks(batch, options)
        assert {kind: table.payload for kind, table in encoded.tables.items()} == expected
    if any(series for *_, series, _ in specs):
        assert encoder.hits == 1 and encoder.misses == 1


def test_a_label_value_that_is_not_a_plain_string_is_never_served_from_the_cache():
    options = SchemaOptions()
    encoder = NativeEncoder(options)

    class Shouty(str):
        def __str__(self) -> str:
            return self.upper()

    def batch(value) -> MetricsData:
        point = FlaggedNumberDataPoint({"zone": value}, T0, T0, 1.0, (), 0)
        metric = Metric("up", "", "", Gauge([point]))
        return MetricsData([ResourceMetrics(Resource({}), [ScopeMetrics(InstrumentationScope("s"), [metric], "")], "")])

    assert encoder.encode(batch("a")) is not None
    # Equal to "a" as a str, but rendered differently by the plain path: the cache must not answer.
    odd = batch(Shouty("a"))
    encoded = encoder.encode(odd)
    assert encoded is not None
    assert encoded.tables[MetricKind.GAUGE].payload == reference_blocks(odd, options)[MetricKind.GAUGE]
    assert encoder.hits == 0 and encoder.plain == 1


def test_targets_with_the_same_metrics_keep_their_own_resource_and_scope_columns():
    options = SchemaOptions()
    encoder = NativeEncoder(options)

    def batch(resource: dict, scope_name: str, schema_url: str, time_ns: int) -> MetricsData:
        point = FlaggedNumberDataPoint({"zone": "a"}, T0, time_ns, 1.0, (), 0)
        metric = Metric("up", "", "", Gauge([point]))
        scope = ScopeMetrics(InstrumentationScope(scope_name), [metric], "")
        return MetricsData([ResourceMetrics(Resource(resource), [scope], schema_url)])

    # Pairs that a flattened key could confuse: values moving between fields.
    variants = [
        ({"a": "b"}, "", ""),
        ({"a": ""}, "b", ""),
        ({}, "a", "b"),
        ({"a": "b", "c": ""}, "", ""),
        ({"a": "b"}, "", "x"),
    ]
    for step in range(3):
        for resource, scope_name, schema_url in variants:
            one = batch(resource, scope_name, schema_url, T0 + step)
            encoded = encoder.encode(one)
            assert encoded is not None
            assert encoded.tables[MetricKind.GAUGE].payload == reference_blocks(one, options)[MetricKind.GAUGE]
    assert encoder.misses == len(variants) and encoder.hits == 2 * len(variants)
