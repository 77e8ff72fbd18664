"""A gauge that reads -0.0 is stored as -0.0: the sign of zero survives the column writer and chDB."""

from __future__ import annotations

import math

from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import Gauge, Metric, MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from exporters.clickhouse import ClickHouseWriter, MetricKind, qualified
from omni_core.datamodel import FlaggedNumberDataPoint

T = 1_700_000_000_000_000_000


def test_negative_zero_values_and_exemplar_values_keep_their_sign(chdb_store):
    points = [
        FlaggedNumberDataPoint({"which": "negative"}, 0, T, -0.0, [Exemplar({}, -0.0, T, None, None)]),
        FlaggedNumberDataPoint({"which": "positive"}, 0, T, 0.0, [Exemplar({}, 0.0, T, None, None)]),
    ]
    metric = Metric("temperature_delta", "", "", Gauge(points))
    scope = ScopeMetrics(InstrumentationScope("test"), [metric], "")
    data = MetricsData([ResourceMetrics(Resource({"service.name": "t"}), [scope], "")])
    ClickHouseWriter(chdb_store.client, chdb_store.options).write(data)
    rows = chdb_store.client.query(
        f"SELECT Attributes['which'], Value, `Exemplars.Value`[1] "
        f"FROM {qualified(chdb_store.options, MetricKind.GAUGE)} ORDER BY Attributes['which']"
    ).result_rows
    signs = {which: (math.copysign(1.0, value), math.copysign(1.0, exemplar)) for which, value, exemplar in rows}
    assert signs == {"negative": (-1.0, -1.0), "positive": (1.0, 1.0)}
