"""Pipeline rules: targets down with the scrape's reason, delivery-queue drops, the store."""

from __future__ import annotations

import pytest

from service import Status

from health_store import HealthStore, entity


@pytest.fixture
def store(tmp_path):
    return HealthStore(tmp_path / "store")


def test_target_down_is_critical_with_the_reason_of_that_scrape(store):
    for seconds, up in ((60, 1), (30, 0), (5, 0)):
        store.gauge("up", [(store.ago(seconds), up)], job="mayastor", instance="io-engine-1")
    store.gauge("omni_scrape_error_info", [(store.ago(30), 1)], {"reason": "timed out after 10s"},
                job="mayastor", instance="io-engine-1")
    store.gauge("omni_scrape_error_info", [(store.ago(5), 1)], {"reason": "connection refused"},
                job="mayastor", instance="io-engine-1")
    store.gauge_now("up", 1, job="envoy", instance="envoy-a")
    snapshot = store.evaluator().evaluate()
    down = entity(snapshot, "pipeline", "target/mayastor/io-engine-1")
    assert down.status is Status.CRITICAL
    assert "connection refused" in down.reasons[0].message
    assert down.reasons[0].since == store.ago(30)
    assert entity(snapshot, "pipeline", "target/envoy/envoy-a").status is Status.OK
    assert entity(snapshot, "pipeline", "store/clickhouse").status is Status.OK


def test_samples_dropped_by_the_delivery_queue_are_degraded(store):
    store.counter("omni_exporter_samples_dropped_total", [(store.ago(300), 10), (store.ago(5), 250)],
                  {"reason": "spool_full"}, job="omni-telemetry", instance="collector-0")
    snapshot = store.evaluator().evaluate()
    queue = entity(snapshot, "pipeline", "delivery-queue/collector-0/spool_full")
    assert queue.status is Status.DEGRADED
    assert queue.reasons[0].observed == 240


def disk(store: HealthStore, free: float, total: float, name: str = "default") -> None:
    store.gauge_now("omni_store_disk_free_bytes", free, {"disk": name}, job="clickhouse", instance="")
    store.gauge_now("omni_store_disk_total_bytes", total, {"disk": name}, job="clickhouse", instance="")


@pytest.mark.parametrize(("free", "expected"), [
    (150e9, Status.OK),            # exactly 15% free
    (149.9e9, Status.DEGRADED),    # just below 15%
    (50e9, Status.DEGRADED),       # exactly 5%
    (49.9e9, Status.CRITICAL),     # just below 5%
])
def test_store_disk_free_share_is_judged_per_disk(store, free, expected):
    disk(store, free, 1000e9)
    disk(store, 900e9, 1000e9, name="s3cache")
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "pipeline", "disk/default").status is expected
    assert entity(snapshot, "pipeline", "disk/s3cache").status is Status.OK
    if expected is not Status.OK:
        reason = entity(snapshot, "pipeline", "disk/default").reasons[0]
        assert reason.rule == "pipeline.store_disk_free" and reason.observed == pytest.approx(free / 1000e9)
    assert snapshot.components["pipeline"].status is expected


@pytest.mark.parametrize(("parts", "expected"), [(300, Status.OK), (301, Status.DEGRADED)])
def test_more_than_300_active_parts_in_a_partition_is_degraded(store, parts, expected):
    store.gauge_now("omni_store_active_parts", parts, {"database": "otel", "table": "otel_metrics_gauge"},
                    job="clickhouse", instance="")
    table = entity(store.evaluator().evaluate(), "pipeline", "table/otel.otel_metrics_gauge")
    assert table.status is expected
    if expected is Status.DEGRADED:
        assert table.reasons[0].observed == parts and table.reasons[0].threshold == "> 300"


@pytest.mark.parametrize(("readonly", "expected"), [(0, Status.OK), (1, Status.CRITICAL)])
def test_a_readonly_replica_is_critical(store, readonly, expected):
    store.gauge_now("omni_store_replica_readonly", readonly, {"database": "otel", "table": "otel_metrics_sum_local"},
                    job="clickhouse", instance="")
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "pipeline", "table/otel.otel_metrics_sum_local").status is expected
    assert snapshot.components["pipeline"].status is expected


def test_the_stores_own_reading_of_this_chdb_store_is_judged(store):
    from collectors.store import StoreStateReader

    store.gauge_now("up", 1, job="envoy", instance="envoy-a")  # a part in otel_metrics_gauge to count
    reading = StoreStateReader.from_client(store.client).read()
    store.writer.write(reading.metrics_data)
    disks = {p.attributes["disk"]: p.value for rm in reading.metrics_data.resource_metrics
             for sm in rm.scope_metrics for m in sm.metrics if m.name == "omni_store_disk_free_bytes"
             for p in m.data.data_points}
    assert disks
    snapshot = store.evaluator().evaluate()
    for disk in disks:
        judged = entity(snapshot, "pipeline", f"disk/{disk}")
        assert judged.status in (Status.OK, Status.DEGRADED, Status.CRITICAL)
    assert entity(snapshot, "pipeline", "table/otel.otel_metrics_gauge").status is Status.OK
