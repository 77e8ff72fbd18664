from __future__ import annotations

import json

from exporters.otlp import metrics_data_to_json


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
