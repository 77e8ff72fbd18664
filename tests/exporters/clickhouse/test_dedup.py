"""The insert token is what keeps a retried batch from being stored twice, not ClickHouse's
content hash: every retry here sends the same rows in another order, so the block's bytes
(and its content hash) differ, and only the token can recognise it."""

from __future__ import annotations

import re

from opentelemetry.sdk.metrics.export import Gauge, Metric, MetricsData, ResourceMetrics, ScopeMetrics

from exporters.clickhouse import MetricKind, qualified


def _reordered(metrics_data: MetricsData) -> MetricsData:
    return MetricsData([
        ResourceMetrics(rm.resource, [
            ScopeMetrics(sm.scope, [
                Metric(m.name, m.description, m.unit, Gauge(list(reversed(m.data.data_points)))) for m in sm.metrics
            ], sm.schema_url)
            for sm in rm.scope_metrics
        ], rm.schema_url)
        for rm in metrics_data.resource_metrics
    ])


def test_the_schema_turns_on_token_deduplication_for_plain_merge_trees(chdb_store):
    engine = chdb_store.client.command(
        "SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": chdb_store.options.database, "t": chdb_store.options.tables.table_for(MetricKind.GAUGE)},
    )
    window = re.search(r"non_replicated_deduplication_window = (\d+)", str(engine))
    assert window is not None and int(window.group(1)) > 0


def test_same_rows_with_the_same_token_are_stored_once(chdb_store, make_gauge_batch):
    writer = chdb_store.writer()
    writer.write(make_gauge_batch(12), insert_token="batch-1")
    writer.write(make_gauge_batch(12), insert_token="batch-1")
    assert chdb_store.rows() == 12


def test_same_rows_with_different_tokens_are_stored_twice(chdb_store, make_gauge_batch):
    writer = chdb_store.writer()
    writer.write(make_gauge_batch(12), insert_token="batch-1")
    writer.write(make_gauge_batch(12), insert_token="batch-2")
    assert chdb_store.rows() == 24


def test_the_token_recognises_a_retry_whose_bytes_differ(chdb_store, make_gauge_batch):
    writer = chdb_store.writer()
    writer.write(make_gauge_batch(12), insert_token="batch-1")
    writer.write(_reordered(make_gauge_batch(12)), insert_token="batch-1")
    assert chdb_store.rows() == 12


def test_without_a_token_a_retry_whose_bytes_differ_is_stored_twice(chdb_store, make_gauge_batch):
    """The control: content deduplication cannot stand in for a missing token."""
    writer = chdb_store.writer()
    writer.write(make_gauge_batch(12))
    writer.write(_reordered(make_gauge_batch(12)))
    assert chdb_store.rows() == 24
    assert int(chdb_store.client.command(
        f"SELECT uniqExact(Attributes['series']) FROM {qualified(chdb_store.options, MetricKind.GAUGE)}")) == 12
