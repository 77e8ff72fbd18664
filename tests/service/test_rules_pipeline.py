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
