"""Mayastor rules on real stored rows: pool state, I/O alert, usage and over-commit at their
thresholds, volume states with rebuild progress, node offline and cordons."""

from __future__ import annotations

import pytest

from service import Status

from health_store import HealthStore, entity, reasons

POOL_STATES = ("unknown", "online", "degraded", "faulted", "suspected")


@pytest.fixture
def store(tmp_path):
    return HealthStore(tmp_path / "store")


def test_pool_state_maps_faulted_degraded_suspected_and_unknown(store):
    for pool, state in (("p-faulted", "faulted"), ("p-degraded", "degraded"), ("p-suspected", "suspected"),
                        ("p-unknown", "unknown"), ("p-online", "online")):
        store.gauge_now("diskpool_status", 1, {"name": pool, "node": "n1", "state": state}, job="mayastor")
    snapshot = store.evaluator().evaluate()
    expected = {"p-faulted": Status.CRITICAL, "p-degraded": Status.DEGRADED, "p-suspected": Status.DEGRADED,
                "p-unknown": Status.UNKNOWN, "p-online": Status.OK}
    for pool, status in expected.items():
        assert entity(snapshot, "mayastor", f"pool/{pool}").status is status, pool
    [reason] = reasons(snapshot, "mayastor", "pool/p-faulted", "mayastor.pool_state")
    assert reason.observed == "faulted" and reason.threshold == "state faulted"
    assert reason.since is not None and reason.window_s == 900
    assert snapshot.components["mayastor"].status is Status.CRITICAL


def test_io_alert_is_degraded_from_warning_exactly(store):
    store.gauge_now("diskpool_io_alert_status", 1, {"name": "p-attention", "node": "n1", "alert": "attention"})
    store.gauge_now("diskpool_io_alert_status", 2, {"name": "p-warning", "node": "n1", "alert": "warning"})
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "mayastor", "pool/p-attention").status is Status.OK
    warning = entity(snapshot, "mayastor", "pool/p-warning")
    assert warning.status is Status.DEGRADED
    assert warning.reasons[0].observed == 2 and warning.reasons[0].threshold == ">= 2"
    assert "alert warning" in warning.reasons[0].message


@pytest.mark.parametrize(
    ("used", "expected"),
    [(800, Status.OK), (801, Status.DEGRADED), (900, Status.DEGRADED), (901, Status.CRITICAL)],
)
def test_pool_usage_thresholds_are_strictly_above_80_and_90_percent(store, used, expected):
    labels = {"name": "pool-a", "node": "n1"}
    store.gauge_now("diskpool_total_size_bytes", 1000, labels)
    store.gauge_now("diskpool_used_size_bytes", used, labels)
    snapshot = store.evaluator().evaluate()
    pool = entity(snapshot, "mayastor", "pool/pool-a")
    assert pool.status is expected
    if expected is not Status.OK:
        [reason] = reasons(snapshot, "mayastor", "pool/pool-a", "mayastor.pool_usage")
        assert reason.observed == pytest.approx(used / 1000)
        assert reason.threshold == ("> 0.9" if expected is Status.CRITICAL else "> 0.8")


@pytest.mark.parametrize(("committed", "expected"), [(1000, Status.OK), (1001, Status.DEGRADED)])
def test_overcommitted_pool_is_degraded(store, committed, expected):
    labels = {"name": "pool-a", "node": "n1"}
    store.gauge_now("diskpool_total_size_bytes", 1000, labels)
    store.gauge_now("diskpool_committed_size_bytes", committed, labels)
    assert entity(store.evaluator().evaluate(), "mayastor", "pool/pool-a").status is expected


def test_degraded_volume_reason_carries_rebuild_progress_and_faulted_is_critical(store):
    volume_states = ("online", "degraded", "faulted", "shutdown", "unknown")
    rebuilding = {"volume": "v1", "pv_name": "pvc-v1"}
    store.states("mayastor_volume_status", "status", "degraded", volume_states, rebuilding, job="mayastor-api")
    store.gauge_now("mayastor_volume_rebuild_progress_ratio", 0.4, {**rebuilding, "replica": "r2"}, job="mayastor-api")
    store.states("mayastor_volume_status", "status", "faulted", volume_states, {"volume": "v2", "pv_name": "pvc-v2"},
                 job="mayastor-api")
    snapshot = store.evaluator().evaluate()
    degraded = entity(snapshot, "mayastor", "volume/pvc-v1")
    assert degraded.status is Status.DEGRADED
    assert "rebuild 40% done" in degraded.reasons[0].message
    assert entity(snapshot, "mayastor", "volume/pvc-v2").status is Status.CRITICAL


def test_offline_node_is_critical_for_itself_and_its_pools_and_a_cordon_is_maintenance(store):
    node_states = ("online", "offline", "unknown")
    store.states("mayastor_node_status", "status", "offline", node_states, {"node": "worker-1"}, job="mayastor-api")
    store.states("mayastor_node_status", "status", "online", node_states, {"node": "worker-2"}, job="mayastor-api")
    store.states("mayastor_pool_status", "status", "online", ("online", "faulted"), {"pool": "pool-w1", "node": "worker-1"})
    store.states("mayastor_pool_status", "status", "online", ("online", "faulted"), {"pool": "pool-w2", "node": "worker-2"})
    store.states("mayastor_node_cordon_state", "state", "cordoned", ("uncordoned", "cordoned", "draining", "drained"),
                 {"node": "worker-2"})
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "mayastor", "node/worker-1").status is Status.CRITICAL
    pool = entity(snapshot, "mayastor", "pool/pool-w1")
    assert pool.status is Status.CRITICAL
    assert "node worker-1 is offline" in pool.reasons[0].message
    cordoned = entity(snapshot, "mayastor", "node/worker-2")
    assert cordoned.status is Status.OK and cordoned.maintenance == "cordoned"
    assert entity(snapshot, "mayastor", "pool/pool-w2").status is Status.OK
