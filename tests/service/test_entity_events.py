"""GET /health/{component}/{entity} lists the entity's recent Kubernetes warning events from
otel_logs: matched on the involved object, warnings only, newest first, bounded, and an empty
list when there are none or when otel_logs does not exist."""

from __future__ import annotations

import httpx
import pytest

from exporters.clickhouse import qualified_logs
from service import EventQuery, create_app

from api_server import served
from health_store import HealthStore


@pytest.fixture
def store(tmp_path):
    s = HealthStore(tmp_path / "store")
    s.gauge_now("kubevirt_vm_info", 1, {"name": "db-01", "namespace": "vms", "status_group": "error",
                                        "status": "crashloopbackoff"}, job="kubevirt")
    s.gauge_now("kubevirt_vm_info", 1, {"name": "web-01", "namespace": "vms", "status_group": "running",
                                        "status": "running"}, job="kubevirt")
    s.gauge_now("argocd_app_info", 1, {"name": "kubevirt", "namespace": "argocd", "project": "platform",
                                       "health_status": "Degraded", "sync_status": "OutOfSync"}, job="argocd")
    s.gauge_now("diskpool_status", 1, {"name": "pool-on-node-2", "node": "node-2", "state": "degraded"},
                job="mayastor")
    return s


def detail(url: str, path: str) -> dict:
    answer = httpx.get(f"{url}/health/{path}", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_entity_shows_its_warning_events_newest_first_and_nothing_of_others(store):
    store.event(300, "VirtualMachineInstance", "db-01", "vms", "FailedCreate", "exceeded quota: vms-quota")
    store.event(60, "VirtualMachine", "db-01", "vms", "FailedStart", "cannot start: quota")
    store.event(30, "VirtualMachineInstance", "db-01", "vms", "Scheduled", "assigned", warning=False)
    store.event(20, "VirtualMachineInstance", "db-01", "other", "FailedCreate", "another namespace")
    store.event(10, "VirtualMachineInstance", "web-01", "vms", "FailedCreate", "another VM")
    store.event(4000, "VirtualMachineInstance", "db-01", "vms", "FailedCreate", "older than the window")
    store.event(200, "Application", "kubevirt", "argocd", "OperationCompleted", "Sync operation failed",
                reporter="argocd-application-controller")
    store.event(100, "DiskPool", "pool-on-node-2", "mayastor", "Degraded", "pool is degraded",
                reporter="openebs-operator-diskpool", count=4)
    with served(create_app(store.monitor(), background=False)) as url:
        vm = detail(url, "kubevirt/vm/vms/db-01")
        assert [(e["reason"], e["message"]) for e in vm["events"]] == [
            ("FailedStart", "cannot start: quota"), ("FailedCreate", "exceeded quota: vms-quota")]
        assert vm["events"][1]["object"] == "VirtualMachineInstance/vms/db-01"
        assert vm["events"][1]["severity"] == "WARN"
        assert detail(url, "kubevirt/vm/vms/web-01")["events"][0]["message"] == "another VM"
        app = detail(url, "argocd/application/argocd/kubevirt")
        assert [(e["reason"], e["reporter"]) for e in app["events"]] == [
            ("OperationCompleted", "argocd-application-controller")]
        pool = detail(url, "mayastor/pool/pool-on-node-2")
        assert [(e["reason"], e["count"]) for e in pool["events"]] == [("Degraded", 4)]
        assert detail(url, "pipeline/store/clickhouse")["events"] == []


def test_the_list_is_bounded_to_the_newest(store):
    for i in range(15):
        store.event(100 - i, "VirtualMachineInstance", "db-01", "vms", "FailedCreate", f"attempt {i}")
    with served(create_app(store.monitor(), background=False, events=EventQuery(window_s=3600, limit=10))) as url:
        events = detail(url, "kubevirt/vm/vms/db-01")["events"]
    assert [e["message"] for e in events] == [f"attempt {i}" for i in range(14, 4, -1)]


def test_a_name_with_a_quote_is_matched_literally_not_executed(store):
    store.gauge_now("kubevirt_vm_info", 1, {"name": "x' OR '1'='1", "namespace": "vms", "status_group": "running",
                                            "status": "running"}, job="kubevirt")
    store.event(10, "VirtualMachineInstance", "db-01", "vms", "FailedCreate", "not about x")
    with served(create_app(store.monitor(), background=False)) as url:
        assert detail(url, "kubevirt/vm/vms/x' OR '1'='1")["events"] == []


def test_no_events_or_no_otel_logs_table_is_an_empty_list(store):
    with served(create_app(store.monitor(), background=False)) as url:
        assert detail(url, "kubevirt/vm/vms/db-01")["events"] == []
        store.client.command(f"DROP TABLE {qualified_logs(store.options)}")
        answer = detail(url, "kubevirt/vm/vms/db-01")
        assert answer["events"] == [] and answer["status"] == "critical"
