"""KubeVirt and CDI rules: component readiness and leadership, VM status groups (with the
starting bound), VMI phase, failed migrations, CDI readiness and stalled imports."""

from __future__ import annotations

import pytest

from service import Status

from health_store import HealthStore, entity


@pytest.fixture
def store(tmp_path):
    return HealthStore(tmp_path / "store")


def test_component_ready_and_leading_replicas(store):
    store.gauge_now("kubevirt_virt_handler_ready_status", 1, job="kubevirt", instance="virt-handler-a")
    store.gauge_now("kubevirt_virt_handler_ready_status", 0, job="kubevirt", instance="virt-handler-b")
    store.gauge_now("kubevirt_virt_api_ready_status", 0, job="kubevirt", instance="virt-api-a")
    store.gauge_now("kubevirt_virt_controller_ready_status", 1, job="kubevirt", instance="virt-controller-a")
    store.gauge_now("kubevirt_virt_controller_leading_status", 0, job="kubevirt", instance="virt-controller-a")
    snapshot = store.evaluator().evaluate()
    handler = entity(snapshot, "kubevirt", "component/virt_handler")
    assert handler.status is Status.DEGRADED
    assert "1 of 2 replicas ready" in handler.reasons[0].message
    assert entity(snapshot, "kubevirt", "component/virt_api").status is Status.CRITICAL
    controller = entity(snapshot, "kubevirt", "component/virt_controller")
    assert controller.status is Status.CRITICAL
    assert [r.rule for r in controller.reasons] == ["kubevirt.component_leader"]


def _vm(store, name: str, status: str, group: str, seconds: list[float]) -> None:
    for s in seconds:
        store.gauge("kubevirt_vm_info", [(store.ago(s), 1)],
                    {"name": name, "namespace": "vms", "status": status, "status_group": group}, job="kubevirt")


def test_vm_error_is_critical_and_starting_only_degrades_after_the_bound(store):
    _vm(store, "db-01", "crashloopbackoff", "error", [5])
    _vm(store, "slow", "starting", "starting", [700, 400, 100, 5])
    _vm(store, "fresh", "running", "running", [700, 400])
    _vm(store, "fresh", "starting", "starting", [100, 5])
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "kubevirt", "vm/vms/db-01").status is Status.CRITICAL
    slow = entity(snapshot, "kubevirt", "vm/vms/slow")
    assert slow.status is Status.DEGRADED
    assert slow.reasons[0].since == store.ago(700)
    assert entity(snapshot, "kubevirt", "vm/vms/fresh").status is Status.OK


def test_failed_vmi_failed_migration_cdi_not_ready(store):
    store.gauge_now("kubevirt_vmi_info", 1, {"name": "db-01", "namespace": "vms", "phase": "failed", "node": "w1"})
    store.gauge_now("kubevirt_vmi_info", 1, {"name": "web-01", "namespace": "vms", "phase": "running", "node": "w1"})
    store.gauge_now("kubevirt_vmi_migration_failed", 1, {"vmi": "web-01", "vmim": "mig-1", "namespace": "vms"})
    store.gauge_now("kubevirt_cdi_cr_ready", 0, job="cdi", instance="cdi-operator")
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "kubevirt", "vmi/vms/db-01").status is Status.CRITICAL
    assert entity(snapshot, "kubevirt", "vmi/vms/web-01").status is Status.OK
    assert entity(snapshot, "kubevirt", "migration/vms/mig-1").status is Status.DEGRADED
    assert entity(snapshot, "kubevirt", "cdi/cdi-operator").status is Status.DEGRADED


def test_datavolume_import_without_progress_beyond_the_bound_is_degraded(store):
    labels = {"namespace": "vms", "name": "stuck"}
    store.gauge("cdi_datavolume_progress_ratio", [(store.ago(s), v) for s, v in ((1200, 0.2), (900, 0.4), (300, 0.4), (5, 0.4))],
                labels, job="cdi-datavolumes")
    moving = {"namespace": "vms", "name": "moving"}
    store.gauge("cdi_datavolume_progress_ratio", [(store.ago(s), v) for s, v in ((900, 0.1), (300, 0.3), (5, 0.6))],
                moving, job="cdi-datavolumes")
    done = {"namespace": "vms", "name": "done"}
    store.gauge("cdi_datavolume_progress_ratio", [(store.ago(s), 1.0) for s in (1200, 5)], done, job="cdi-datavolumes")
    snapshot = store.evaluator().evaluate()
    stuck = entity(snapshot, "kubevirt", "datavolume/vms/stuck")
    assert stuck.status is Status.DEGRADED
    assert stuck.reasons[0].observed >= 900
    assert entity(snapshot, "kubevirt", "datavolume/vms/moving").status is Status.OK
    assert "datavolume/vms/done" not in [e.id for e in snapshot.components["kubevirt"].entities]
