"""The kubernetes-events source against a local API server replaying recorded list and watch
answers: a dropped watch, a bookmark, an expired resourceVersion (410) and a relist."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from k8s_events_api import NAMESPACE, ApiServer, api_server, recorded
from opentelemetry._logs import SeverityNumber

from collectors.discovery import KubernetesAccess, kubernetes_api_client
from collectors.events import KubernetesEventsSource
from omni_core.errors import ConfigError, SourceAPIError


def source_for(url: str, **kwargs) -> KubernetesEventsSource:
    client = kubernetes_api_client(KubernetesAccess(mode="url", api_url=url))
    return KubernetesEventsSource(client, [NAMESPACE], cluster="lab", retry_delay_s=0, clock=lambda: 1_764_424_999.5,
                                  **kwargs)


def watch_all(state: ApiServer, **kwargs):
    with api_server(state) as url:
        source = source_for(url, **kwargs)
        records = list(source.records(NAMESPACE, state.done))
    return source, records


def test_every_occurrence_arrives_once_across_a_dropped_watch_and_an_expired_resource_version(data_dir):
    state = recorded(data_dir)
    source, records = watch_all(state)

    expected = [
        'Error creating pod: pods "virt-launcher-web-01-"',  # the first list
        "Successfully assigned vms/virt-launcher-db-01",
        "pool pool-1 on node worker-2 is degraded",  # watch 1, before the drop
        "Sync operation to 3f9a1c2 failed",
        'Error creating pod: pods "virt-launcher-web-01-"',  # watch 2: the same event again, count 2
        "Back-off restarting failed container compute",  # the relist after 410: only what is new
        "Sync operation to 4b0e2d1 succeeded",  # watch 4; the DELETED expiry is not a record
    ]
    assert len(records) == len(expected)
    for record, start in zip(records, expected):
        assert record.log_record.body.startswith(start)
    assert [r.log_record.attributes["k8s.event.count"] for r in records] == [1, 1, 1, 1, 2, 4, 1]
    # Where each watch started: the list, after the drop the last event, the bookmark, the relist.
    watches = [r.get("resourceVersion") for r in state.requests if r.get("watch") == "true"]
    assert watches == ["1010", "1012", "1020", "1040", "1042"]
    stats = source.stats[NAMESPACE]
    assert (stats.lists, stats.relisted_after_gone, stats.duplicates_skipped) == (2, 1, 4)


def test_an_event_becomes_a_log_record_with_severity_body_and_k8s_attributes(data_dir):
    _, records = watch_all(recorded(data_dir))
    vm, scheduled, pool = records[0], records[1], records[2]

    assert (vm.log_record.severity_number, vm.log_record.severity_text) == (SeverityNumber.WARN, "WARN")
    assert (scheduled.log_record.severity_number, scheduled.log_record.severity_text) == (SeverityNumber.INFO, "INFO")
    assert vm.log_record.body.startswith('Error creating pod: pods "virt-launcher-web-01-" is forbidden: exceeded quota')
    last_timestamp = datetime(2026, 11, 29, 13, 58, 2, tzinfo=timezone.utc)  # the event's lastTimestamp
    assert vm.log_record.timestamp == int(last_timestamp.timestamp()) * 1_000_000_000
    assert vm.log_record.observed_timestamp == 1_764_424_999_500_000_000
    assert vm.log_record.trace_id == 0
    assert dict(vm.resource.attributes) == {
        "service.name": "virtualmachine-controller",
        "k8s.cluster.name": "lab",
        "k8s.namespace.name": "vms",
        "k8s.object.kind": "VirtualMachineInstance",
        "k8s.object.name": "web-01",
        "k8s.object.uid": "c0a80001-aaaa-4bbb-8ccc-000000000001",
        "k8s.object.api_version": "kubevirt.io/v1",
        "k8s.object.resource_version": "998",
    }
    assert dict(vm.log_record.attributes) == {
        "k8s.event.reason": "FailedCreate",
        "k8s.event.type": "Warning",
        "k8s.event.count": 1,
        "k8s.event.name": "web-01.181c4a2f1e0b3d7a",
        "k8s.event.uid": "6f1d2c3e-0a4b-4c5d-8e9f-101112131415",
        "k8s.event.start_time": "2026-11-29T13:58:02+00:00",
    }
    assert scheduled.resource.attributes["k8s.pod.name"] == "virt-launcher-db-01-x7k2p"
    assert scheduled.resource.attributes["k8s.pod.uid"] == "c0a80001-aaaa-4bbb-8ccc-000000000002"
    assert scheduled.resource.attributes["service.name"] == "default-scheduler"
    assert pool.resource.attributes["k8s.object.kind"] == "DiskPool"
    assert pool.instrumentation_scope.name == "omni-telemetry/kubernetes-events"


def test_without_existing_events_only_what_happens_after_start_is_delivered(data_dir):
    _, records = watch_all(recorded(data_dir), include_existing=False)
    assert [r.log_record.attributes["k8s.event.reason"] for r in records] == [
        "Degraded", "OperationCompleted", "FailedCreate", "BackOff", "OperationCompleted"]


def test_a_forbidden_list_says_which_permission_is_missing():
    state = ApiServer([], [], status=403)
    with api_server(state) as url:
        source = source_for(url)
        with pytest.raises(SourceAPIError, match="grant the service account list and watch on events") as caught:
            next(source.records(NAMESPACE, state.done))
    assert "'vms'" in str(caught.value) and "HTTP 403" in str(caught.value)


def test_a_source_without_namespaces_is_refused():
    client = kubernetes_api_client(KubernetesAccess(mode="url", api_url="http://127.0.0.1:1"))
    with pytest.raises(ConfigError, match="at least one namespace"):
        KubernetesEventsSource(client, [])


def test_the_events_land_in_otel_logs_through_the_log_writer(data_dir, tmp_path):
    from exporters.clickhouse import ClickHouseLogWriter, SchemaOptions, apply_schema, connect, qualified_logs

    _, records = watch_all(recorded(data_dir))
    client = connect(f"chdb://{tmp_path / 'db'}")
    options = SchemaOptions(database="platform")
    apply_schema(client, options)
    ClickHouseLogWriter(client, options).write(records)
    warnings = client.query(
        "SELECT ServiceName, ResourceAttributes['k8s.object.name'], LogAttributes['k8s.event.reason'], "
        f"LogAttributes['k8s.event.count'] FROM {qualified_logs(options)} WHERE SeverityText = 'WARN' "
        "ORDER BY Timestamp"
    ).result_rows
    assert warnings == [
        ("virtualmachine-controller", "web-01", "FailedCreate", "1"),
        ("openebs-operator-diskpool", "pool-1", "Degraded", "1"),
        ("argocd-application-controller", "kubevirt", "OperationCompleted", "1"),
        ("virtualmachine-controller", "web-01", "FailedCreate", "2"),
        ("kubelet", "virt-launcher-web-01-9qv4d", "BackOff", "4"),
    ]


def test_run_watches_on_a_thread_and_hands_each_record_to_the_sink(data_dir):
    state = recorded(data_dir)
    batches = []
    with api_server(state) as url:
        source = source_for(url)
        threads = source.run(batches.append, state.done)
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
    assert [len(b) for b in batches] == [1] * 7
    assert [b[0].log_record.attributes["k8s.event.reason"] for b in batches] == [
        "FailedCreate", "Scheduled", "Degraded", "OperationCompleted", "FailedCreate", "BackOff", "OperationCompleted"]
