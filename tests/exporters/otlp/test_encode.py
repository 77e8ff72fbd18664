from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics as sdk_encode_metrics
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import Gauge, InMemoryMetricReader, Metric, MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from omni_core.datamodel import FlaggedNumberDataPoint, QuantileValue, Summary, SummaryDataPoint

from exporters.otlp import count_data_points, encode_metrics_data
from omni_core.otlp_decode import decode_request

START_NS = 1_700_000_000_123_456_789
TIME_NS = 1_700_000_015_987_654_321


def _metric(request: ExportMetricsServiceRequest, name: str):
    return next(m for m in request.resource_metrics[0].scope_metrics[0].metrics if m.name == name)


def test_decode_inverts_encode_for_every_kind(metrics_data, as_comparable):
    decoded = decode_request(encode_metrics_data(metrics_data))
    assert as_comparable(decoded) == as_comparable(metrics_data)


def test_roundtrip_survives_protobuf_bytes(metrics_data, as_comparable):
    wire = encode_metrics_data(metrics_data).SerializeToString()
    assert as_comparable(decode_request(ExportMetricsServiceRequest.FromString(wire))) == as_comparable(metrics_data)


def test_timestamps_are_copied_to_the_nanosecond(metrics_data):
    request = encode_metrics_data(metrics_data)
    point = _metric(request, "envoy_cluster_upstream_rq_total").sum.data_points[0]
    assert (point.start_time_unix_nano, point.time_unix_nano) == (START_NS, TIME_NS)


def test_summary_keeps_count_sum_and_quantiles(metrics_data):
    summary = _metric(encode_metrics_data(metrics_data), "go_gc_duration_seconds").summary
    first = summary.data_points[0]
    assert (first.count, first.sum) == (42, 0.0123)
    assert [(q.quantile, q.value) for q in first.quantile_values] == [(0.0, 1e-5), (0.5, 2e-4), (1.0, 3e-3)]


def test_staleness_flag_is_carried_on_gauge_histogram_and_summary(metrics_data):
    request = encode_metrics_data(metrics_data)
    gauge = _metric(request, "envoy_cluster_membership_healthy").gauge.data_points
    histogram = _metric(request, "envoy_cluster_upstream_rq_time").histogram.data_points
    summary = _metric(request, "go_gc_duration_seconds").summary.data_points
    assert [p.flags for p in gauge] == [0, 0, 1]
    assert [p.flags for p in histogram] == [0, 0, 1]
    assert [p.flags for p in summary] == [0, 1]


def test_integer_values_stay_integers_and_floats_stay_doubles(metrics_data):
    gauge = _metric(encode_metrics_data(metrics_data), "envoy_cluster_membership_healthy").gauge.data_points
    assert gauge[0].WhichOneof("value") == "as_int" and gauge[0].as_int == 3
    assert gauge[1].WhichOneof("value") == "as_double" and gauge[1].as_double == 2.5


def test_unknown_histogram_min_max_are_absent_and_known_ones_kept(metrics_data):
    points = _metric(encode_metrics_data(metrics_data), "envoy_cluster_upstream_rq_time").histogram.data_points
    assert not points[0].HasField("min") and not points[0].HasField("max")
    assert (points[1].min, points[1].max) == (1.0, 2.0)
    assert list(points[0].bucket_counts) == [1, 2, 3, 4]
    assert list(points[0].explicit_bounds) == [0.5, 1.0, 5.0]


def test_exemplar_ids_are_big_endian_bytes(metrics_data):
    exemplar = _metric(encode_metrics_data(metrics_data), "envoy_cluster_upstream_rq_total").sum.data_points[0].exemplars[0]
    assert exemplar.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert exemplar.span_id.hex() == "eee19b7ec3c1b174"
    assert exemplar.as_double == 0.67
    assert {kv.key: kv.value.string_value for kv in exemplar.filtered_attributes} == {"pod": "web-0"}


def test_resource_and_scope_keep_schema_urls_and_typed_attributes(metrics_data):
    resource_metrics = encode_metrics_data(metrics_data).resource_metrics[0]
    assert resource_metrics.schema_url == "https://opentelemetry.io/schemas/1.24.0"
    scope_metrics = resource_metrics.scope_metrics[0]
    assert scope_metrics.schema_url == "https://opentelemetry.io/schemas/1.21.0"
    assert (scope_metrics.scope.name, scope_metrics.scope.version) == ("omni_telemetry.collectors", "0.1.0")
    values = {kv.key: kv.value for kv in resource_metrics.resource.attributes}
    assert values["k8s.pod.restart"].int_value == 2
    assert values["omni.up"].bool_value is True
    assert [v.string_value for v in values["omni.zones"].array_value.values] == ["a", "b"]


def test_temporality_and_monotonicity_are_kept(metrics_data):
    request = encode_metrics_data(metrics_data)
    assert _metric(request, "envoy_cluster_upstream_rq_total").sum.is_monotonic is True
    assert _metric(request, "kubevirt_vmi_phase_count").sum.is_monotonic is False
    assert _metric(request, "envoy_cluster_upstream_rq_total").sum.aggregation_temporality == 2
    assert _metric(request, "http.server.duration").exponential_histogram.aggregation_temporality == 1


def test_exponential_histogram_buckets_are_kept(metrics_data):
    point = _metric(encode_metrics_data(metrics_data), "http.server.duration").exponential_histogram.data_points[0]
    assert (point.scale, point.zero_count, point.positive.offset, point.negative.offset) == (3, 1, -2, 0)
    assert list(point.positive.bucket_counts) == [1, 0, 2] and list(point.negative.bucket_counts) == [3]
    assert (point.min, point.max) == (0.01, 1.5)


def test_integer_beyond_int64_travels_as_double():
    data = MetricsData([ResourceMetrics(Resource({}), [ScopeMetrics(InstrumentationScope("s"), [
        Metric("big", "", "", Gauge([FlaggedNumberDataPoint({}, 0, TIME_NS, 2**70)])),
    ], "")], "")])
    point = encode_metrics_data(data).resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]
    assert point.as_double == float(2**70)


def test_unknown_metric_kind_is_refused_loudly():
    data = MetricsData([ResourceMetrics(Resource({}), [ScopeMetrics(InstrumentationScope("s"), [
        Metric("odd", "", "", object()),  # type: ignore[arg-type]
    ], "")], "")])
    with pytest.raises(TypeError, match="odd"):
        encode_metrics_data(data)


def test_sdk_produced_metrics_encode_like_the_sdk_encoder_does():
    """Where the SDK's own encoder is complete (its own instruments), both encodings agree."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], resource=Resource({"service.name": "sdk"}))
    meter = provider.get_meter("probe", "1.0")
    meter.create_counter("requests").add(5, {"route": "/a"})
    meter.create_histogram("latency").record(0.25, {"route": "/a"})
    meter.create_up_down_counter("inflight").add(-2)
    data = reader.get_metrics_data()
    provider.shutdown()
    assert encode_metrics_data(data) == sdk_encode_metrics(data)


def test_count_data_points_counts_every_point(metrics_data):
    # gauge 3, monotonic sum 2, non-monotonic sum 1, histogram 3, exponential 1, summary 2
    assert count_data_points(metrics_data) == 3 + 2 + 1 + 3 + 1 + 2


_attribute_values = st.one_of(
    st.text(max_size=20), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
    st.lists(st.text(max_size=5), max_size=3).map(tuple),
)
_attributes = st.dictionaries(st.text(min_size=1, max_size=10), _attribute_values, max_size=4)
# Storable timestamps: the decoder rejects those past DateTime64(9) (2**63 - 1 ns) as partial success.
_timestamps = st.integers(0, 2**63 - 1)
_values = st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def _metrics_data(draw) -> MetricsData:
    number_points = draw(st.lists(st.builds(
        FlaggedNumberDataPoint, _attributes, _timestamps, _timestamps, _values, st.just([]), flags=st.integers(0, 2**32 - 1),
    ), min_size=1, max_size=4))
    summary_points = draw(st.lists(st.builds(
        SummaryDataPoint, _attributes, _timestamps, _timestamps, st.integers(0, 2**64 - 1), st.floats(),
        st.lists(st.builds(QuantileValue, st.floats(0, 1), st.floats()), max_size=3).map(tuple),
        st.integers(0, 2**32 - 1),
    ), min_size=1, max_size=3))
    metrics = [
        Metric(draw(st.text(min_size=1, max_size=12)), draw(st.text(max_size=12)), draw(st.text(max_size=4)),
               Gauge(number_points)),
        Metric("s", "", "", Summary(summary_points)),
    ]
    scope = InstrumentationScope(draw(st.text(max_size=8)), draw(st.one_of(st.none(), st.text(min_size=1, max_size=5))),
                                 draw(st.text(max_size=8)), draw(_attributes))
    return MetricsData([ResourceMetrics(Resource(draw(_attributes), ""), [ScopeMetrics(scope, metrics, scope.schema_url)],
                                        "")])


@settings(max_examples=150, deadline=None)
@given(_metrics_data())
def test_any_gauge_or_summary_survives_the_wire(as_comparable, data):
    wire = encode_metrics_data(data).SerializeToString()
    assert as_comparable(decode_request(ExportMetricsServiceRequest.FromString(wire))) == as_comparable(data)
