"""The collect process as ``build_collect`` assembles it: the store's own state stored each
cycle beside the scraped targets, and Kubernetes events into ``otel_logs``."""

from __future__ import annotations

import asyncio

import pytest
from http_targets import Answer, http_target
from k8s_events_api import NAMESPACE, api_server, recorded
from opentelemetry.sdk.metrics.export import MetricExportResult, MetricsData
from prometheus_client import CollectorRegistry

from exporters.clickhouse import MetricKind, connect, qualified, qualified_logs
from omni_core.errors import ConfigError, StorageUnavailable
from omni_telemetry._store_state import StoreStateReading, WithStoreState
from omni_telemetry._wiring import build_collect, build_store_state, event_namespaces
from omni_telemetry.settings import TargetSettings, load_settings

POOL = b"""# TYPE diskpool_status gauge
diskpool_status{node="n1",name="pool-1"} 1
"""


def two_cycles(process) -> None:
    async def run() -> None:
        try:
            await process.loop.run_once()
            await process.loop.run_once()
        finally:
            await process.loop.scraper.aclose()

    asyncio.run(run())
    assert process.exporter.force_flush(timeout_millis=30_000)
    process.exporter.shutdown(timeout_millis=1000)


def test_two_collect_cycles_store_the_store_state_beside_the_scraped_targets(tmp_path):
    dsn = f"chdb://{tmp_path / 'db'}"
    # batch_max_age_s=0: each cycle's batch is inserted at once, so the second reading can see it;
    # store_state_interval_s=0: a reading every cycle
    settings = load_settings(storage_dsn=dsn, cluster_name="lab", batch_max_age_s=0, store_state_interval_s=0)
    with http_target(Answer(POOL)) as server:
        process = build_collect(
            settings, [TargetSettings(url=f"{server.url}/metrics", source="prometheus")], open_store_first=True
        )
        two_cycles(process)

    client = connect(dsn)
    options = settings.schema_options()
    gauges = qualified(options, MetricKind.GAUGE)
    disk = client.query(
        f"SELECT ServiceName, ResourceAttributes['k8s.cluster.name'], count(DISTINCT TimeUnix) FROM {gauges} "
        "WHERE MetricName = 'omni_store_disk_free_bytes' GROUP BY 1, 2"
    ).result_rows
    assert disk == [("clickhouse", "lab", 2)]  # one reading per cycle, named as the reader names the store
    # The second reading sees what the first cycle wrote: the gauge table has rows by then.
    rows = client.query(
        f"SELECT Value FROM {gauges} WHERE MetricName = 'omni_store_table_rows' "
        f"AND Attributes['database'] = '{options.database}' AND Attributes['table'] = 'otel_metrics_gauge' "
        "ORDER BY TimeUnix"
    ).result_rows
    assert len(rows) == 1 and rows[0][0] > 0
    sums = client.query(
        f"SELECT count() FROM {qualified(options, MetricKind.SUM)} WHERE MetricName = 'omni_store_failed_inserts_total'"
    ).result_rows
    assert sums == [(2,)]  # a cumulative sum, one point per cycle
    scraped = client.query(f"SELECT count() FROM {gauges} WHERE MetricName = 'diskpool_status'").result_rows
    assert scraped == [(2,)]


def test_with_store_metrics_disabled_only_the_targets_are_stored(tmp_path):
    dsn = f"chdb://{tmp_path / 'db'}"
    settings = load_settings(storage_dsn=dsn, store_metrics_enabled=False)
    with http_target(Answer(POOL)) as server:
        process = build_collect(
            settings, [TargetSettings(url=f"{server.url}/metrics", source="prometheus")], open_store_first=True
        )
        two_cycles(process)
    gauges = qualified(settings.schema_options(), MetricKind.GAUGE)
    found = connect(dsn).query(f"SELECT count() FROM {gauges} WHERE MetricName LIKE 'omni_store_%'").result_rows
    assert found == [(0,)]


class RecordingSink:
    def __init__(self) -> None:
        self.exported: list[MetricsData] = []

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        self.exported.append(metrics_data)
        return MetricExportResult.SUCCESS


def test_a_store_that_cannot_be_read_costs_only_its_reading_and_is_reopened_next_cycle(tmp_path):
    opened = []
    client = connect(f"chdb://{tmp_path / 'db'}")

    def open_query():
        opened.append(1)
        if len(opened) == 1:
            raise StorageUnavailable("ClickHouse at http://127.0.0.1:1 is unreachable")
        return lambda sql: client.query(sql).result_rows

    registry = CollectorRegistry()
    reading = StoreStateReading(open_query, registry=registry)
    sink = RecordingSink()
    exporter = WithStoreState(sink, reading)
    scraped = MetricsData([])

    assert exporter.export(scraped) is MetricExportResult.SUCCESS  # the store is down: the cycle goes on
    assert exporter.export(scraped) is MetricExportResult.SUCCESS  # reopened, read
    assert [len(data.resource_metrics) for data in sink.exported] == [0, 1]
    assert len(opened) == 2
    assert registry.get_sample_value("omni_store_state_read_failures_total") == 1
    assert registry.get_sample_value("omni_store_state_reads_total") == 2


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_store_state_is_read_at_most_once_per_interval_on_a_fixed_rhythm(tmp_path):
    client = connect(f"chdb://{tmp_path / 'db'}")
    clock = ManualClock()
    registry = CollectorRegistry()
    reading = StoreStateReading(
        lambda: (lambda sql: client.query(sql).result_rows), registry=registry, interval_s=30, clock=clock
    )
    sink = RecordingSink()
    exporter = WithStoreState(sink, reading)
    read_at = []
    # cycles every 15 s, each a little late or early, then a stall of two minutes
    for at in (0, 15.01, 29.98, 30.02, 45.0, 60.01, 75.0, 90.0, 210.0, 225.0, 240.0):
        clock.now = 1000.0 + at
        assert exporter.export(MetricsData([])) is MetricExportResult.SUCCESS  # every cycle is exported
        if len(sink.exported[-1].resource_metrics) == 1:
            read_at.append(at)
    assert len(sink.exported) == 11
    assert read_at == [0, 30.02, 60.01, 90.0, 210.0, 240.0]
    assert registry.get_sample_value("omni_store_state_reads_total") == len(read_at)


def test_collect_reads_the_store_state_every_store_state_interval_s(tmp_path):
    dsn = f"chdb://{tmp_path / 'db'}"
    settings = load_settings(storage_dsn=dsn, batch_max_age_s=0, store_state_interval_s=3600)
    with http_target(Answer(POOL)) as server:
        process = build_collect(
            settings, [TargetSettings(url=f"{server.url}/metrics", source="prometheus")], open_store_first=True
        )
        two_cycles(process)
    gauges = qualified(settings.schema_options(), MetricKind.GAUGE)
    client = connect(dsn)
    readings = client.query(
        f"SELECT count(DISTINCT TimeUnix) FROM {gauges} WHERE MetricName = 'omni_store_disk_free_bytes'"
    ).result_rows
    assert readings == [(1,)]  # the first cycle reads, the second is within the hour
    scraped = client.query(f"SELECT count() FROM {gauges} WHERE MetricName = 'diskpool_status'").result_rows
    assert scraped == [(2,)]


@pytest.mark.parametrize(
    ("scrape_interval_s", "store_state_interval_s", "expected"),
    [(15, 30, 22.5), (2, 30, 3.0), (60, 30, 30.0), (15, 0, 0.0)],
)
def test_the_store_state_interval_stays_within_half_the_health_staleness_window(
    scrape_interval_s, store_state_interval_s, expected
):
    settings = load_settings(
        scrape_interval_s=scrape_interval_s, store_state_interval_s=store_state_interval_s, health_staleness_intervals=3
    )
    assert build_store_state(settings).interval_s == expected


def test_a_negative_store_state_interval_is_refused():
    with pytest.raises(ConfigError) as raised:
        load_settings(store_state_interval_s=-1)
    assert raised.value.field == "store_state_interval_s"


def test_events_namespaces_default_to_where_discovery_looks():
    settings = load_settings(discovery_sources=["mayastor", "kubevirt"])
    assert event_namespaces(settings) == ["mayastor", "openebs", "kubevirt"]
    moved = load_settings(discovery_sources=["mayastor", "kubevirt"], discovery_namespaces={"kubevirt": ["virt"]})
    assert event_namespaces(moved) == ["mayastor", "openebs", "virt"]
    assert event_namespaces(load_settings(events_namespaces=["vms", "vms", "argocd"])) == ["vms", "argocd"]


def test_collect_with_events_enabled_stores_each_event_once_in_otel_logs(data_dir, tmp_path):
    dsn = f"chdb://{tmp_path / 'db'}"
    state = recorded(data_dir)
    with api_server(state) as url:
        settings = load_settings(
            storage_dsn=dsn, cluster_name="lab", events_enabled=True, events_namespaces=[NAMESPACE],
            discovery_mode="url", discovery_api_url=url, retry_initial_s=0.1, retry_max_s=0.5,
        )
        process = build_collect(settings, open_store_first=True)  # events alone need no scrape target
        assert process.events is not None
        process.events.start()
        assert state.done.wait(60), "the source did not replay every recorded watch"
        assert process.events.stop(timeout_s=30)
    process.exporter.shutdown(timeout_millis=1000)

    rows = connect(dsn).query(
        "SELECT ServiceName, SeverityText, LogAttributes['k8s.event.reason'], LogAttributes['k8s.event.count'], "
        f"ResourceAttributes['k8s.cluster.name'] FROM {qualified_logs(settings.schema_options())} ORDER BY Timestamp"
    ).result_rows
    assert sorted(r[2] for r in rows) == sorted(
        ["FailedCreate", "Scheduled", "Degraded", "OperationCompleted", "FailedCreate", "BackOff", "OperationCompleted"]
    )
    assert {r[4] for r in rows} == {"lab"}
    warnings = [(r[0], r[2], r[3]) for r in rows if r[1] == "WARN"]
    assert warnings == [
        ("virtualmachine-controller", "FailedCreate", "1"),
        ("openebs-operator-diskpool", "Degraded", "1"),
        ("argocd-application-controller", "OperationCompleted", "1"),
        ("virtualmachine-controller", "FailedCreate", "2"),
        ("kubelet", "BackOff", "4"),
    ]
    assert process.events.delivery.written == 7 and process.events.delivery.dropped == 0


def test_events_without_our_clickhouse_writer_or_without_namespaces_are_refused_at_start(tmp_path):
    pushing = load_settings(storage_dsn=f"chdb://{tmp_path / 'db'}", events_enabled=True, export_mode="otlp",
                            events_namespaces=["vms"])
    with pytest.raises(ConfigError, match="export_mode clickhouse") as caught:
        build_collect(pushing)
    assert caught.value.field == "events_enabled"
    nowhere = load_settings(storage_dsn=f"chdb://{tmp_path / 'db'}", events_enabled=True, events_namespaces=[])
    with pytest.raises(ConfigError, match="events_namespaces") as caught:
        build_collect(nowhere)
    assert caught.value.field == "events_namespaces"
