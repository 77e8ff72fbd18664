from __future__ import annotations

import json

import pytest

from exporters.otlp import decode_request, metrics_data_to_json, parse_json_request
from exporters.otlp._json import json_depth
from omni_core.errors import MalformedPayload


def _points(document: dict, name: str) -> list[dict]:
    metrics = document["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
    metric = next(m for m in metrics if m["name"] == name)
    kind = next(k for k in ("gauge", "sum", "histogram", "exponentialHistogram", "summary") if k in metric)
    return metric[kind]["dataPoints"]


def test_json_uses_otlp_conventions(metrics_data):
    document = json.loads(metrics_data_to_json(metrics_data))
    sum_metric = next(
        m for m in document["resourceMetrics"][0]["scopeMetrics"][0]["metrics"] if m["name"] == "envoy_cluster_upstream_rq_total"
    )
    # enums as integers, ids as hex, 64-bit integers as decimal strings, camelCase keys
    assert sum_metric["sum"]["aggregationTemporality"] == 2
    exemplar = sum_metric["sum"]["dataPoints"][0]["exemplars"][0]
    assert exemplar["traceId"] == "5b8efff798038103d269b633813fc60c"
    assert exemplar["spanId"] == "eee19b7ec3c1b174"
    assert sum_metric["sum"]["dataPoints"][0]["timeUnixNano"] == "1700000015987654321"


def test_json_carries_summary_and_flags(metrics_data):
    document = json.loads(metrics_data_to_json(metrics_data))
    summary = _points(document, "go_gc_duration_seconds")
    assert summary[0]["quantileValues"][1] == {"quantile": 0.5, "value": 0.0002}
    assert summary[1]["flags"] == 1
    assert _points(document, "envoy_cluster_membership_healthy")[2]["flags"] == 1


def test_json_parses_back_to_the_same_metrics(metrics_data, as_comparable):
    request = parse_json_request(metrics_data_to_json(metrics_data).encode())
    assert as_comparable(decode_request(request)) == as_comparable(metrics_data)


def test_snake_case_keys_and_unknown_fields_are_accepted():
    body = json.dumps({
        "resource_metrics": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "x"}}]},
            "futureField": {"a": 1},
            "scope_metrics": [{"metrics": [{"name": "g", "gauge": {"data_points": [
                {"timeUnixNano": "5", "asDouble": 1.5, "exemplars": [{"trace_id": "00" * 16, "asInt": "3"}]},
            ]}}]}],
        }],
    })
    data = decode_request(parse_json_request(body))
    point = data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points[0]
    assert (point.time_unix_nano, point.value) == (5, 1.5)
    assert point.exemplars[0].value == 3


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"[" * 100_000, "levels deep"),
        (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "levels deep"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "must be an object"),
        (b'{"resourceMetrics": "nope"}', "not an OTLP metrics request"),
        (b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "g", "gauge": {"dataPoints": '
         b'[{"exemplars": [{"traceId": "zz"}]}]}}]}]}]}', "not a hex string"),
    ],
)
def test_bad_json_is_refused_with_a_reason(body, reason):
    with pytest.raises(MalformedPayload, match=reason):
        parse_json_request(body)


def test_depth_ignores_brackets_inside_strings():
    assert json_depth('{"a": "[[[[{{{{", "b": [1, {"c": "\\"]]]"}]}') == 3
    assert json_depth("") == 0
