"""The demo's Argo CD controller and Kubernetes events API: each is what its real
counterpart serves, and tells its story."""

from __future__ import annotations

import asyncio
import json
import threading

from collectors import ScrapeTarget, Scraper
from collectors.discovery import KubernetesAccess, kubernetes_api_client
from collectors.events import KubernetesEventsSource
from collectors.exposition import parse_exposition
from collectors.sources.argocd import ArgoCdSource
from omni_telemetry.demo._replay import ReplayServer
from omni_telemetry.demo.scenarios_argocd import ArgoCdDriftScenario
from omni_telemetry.demo.scenarios_events import EVENT_NAMESPACES, KubernetesEventsApiScenario

FIXTURE = "argocd/application_controller_metrics_synthesized.prom"


def shape(text: bytes) -> dict[str, tuple[str, set[tuple[str, ...]]]]:
    """family -> (type, the label-name sets of its samples)."""
    return {
        f.name: (f.type, {tuple(sorted(s.labels)) for s in f.samples})
        for f in parse_exposition(text).families
    }


def test_argocd_replay_has_the_fixtures_families_types_and_labels(data_dir):
    fixture = (data_dir / FIXTURE).read_bytes()
    assert shape(ArgoCdDriftScenario().render(0)[0]) == shape(fixture)


def app_info(scenario: ArgoCdDriftScenario, elapsed: float, name: str) -> tuple[str, str]:
    families = {f.name: f for f in parse_exposition(scenario.render(elapsed)[0]).families}
    sample = next(s for s in families["argocd_app_info"].samples if s.labels["name"] == name)
    return sample.labels["health_status"], sample.labels["sync_status"]


def syncs(scenario: ArgoCdDriftScenario, elapsed: float, phase: str) -> float:
    families = {f.name: f for f in parse_exposition(scenario.render(elapsed)[0]).families}
    return next(s.value for s in families["argocd_app_sync_total"].samples
                if s.labels["name"] == "kubevirt" and s.labels["phase"] == phase)


def test_argocd_application_goes_out_of_sync_fails_its_sync_degrades_and_recovers():
    scenario = ArgoCdDriftScenario()
    assert app_info(scenario, 1, "kubevirt") == ("Healthy", "Synced")
    assert app_info(scenario, 5, "kubevirt") == ("Healthy", "OutOfSync")
    assert app_info(scenario, 60, "kubevirt") == ("Degraded", "OutOfSync")
    assert app_info(scenario, 200, "kubevirt") == ("Healthy", "Synced")
    assert app_info(scenario, 60, "mayastor") == ("Healthy", "Synced")
    assert syncs(scenario, 7, "Failed") == syncs(scenario, 5, "Failed") + 1
    assert syncs(scenario, 200, "Succeeded") == syncs(scenario, 100, "Succeeded") + 1
    series = [syncs(scenario, t, "Failed") for t in range(0, 900, 11)]
    assert series == sorted(series) and series[-1] > series[0] + 1  # once per period, never back


def test_argocd_replay_is_scraped_by_the_argocd_source_without_warnings():
    scraper = Scraper(cluster="demo", sources={"argocd": ArgoCdSource()})
    with ReplayServer([ArgoCdDriftScenario()]) as server:
        target = ScrapeTarget(server.served[0].url, source="argocd", instance="argocd-app-drift")

        async def once():
            try:
                return await scraper.scrape(target)
            finally:
                await scraper.aclose()

        result = asyncio.run(once())
    assert result.up, result.error
    assert result.warnings == ()
    names = {m.name for scope in result.resource_metrics.scope_metrics for m in scope.metrics}
    assert {"argocd_app_info", "argocd_app_sync_total", "argocd_app_reconcile", "argocd_cluster_info"} <= names


def test_events_api_lists_the_current_objects_and_watches_repeats_as_modified():
    scenario = KubernetesEventsApiScenario(period_s=10, watch_wait_s=0)
    listed = json.loads(scenario.render_path("/api/v1/namespaces/vms/events?limit=500", 2.0)[0])
    assert [i["reason"] for i in listed["items"]] == ["Scheduled", "FailedCreate"]
    version = int(listed["metadata"]["resourceVersion"])
    # 10 s later both vms events repeated once, and the pool and the sync happened once in their namespaces.
    lines = scenario.render_path(f"/api/v1/namespaces/vms/events?watch=true&resourceVersion={version}", 12.0)[0]
    changes = [json.loads(line) for line in lines.splitlines()]
    assert [(c["type"], c["object"]["reason"], c["object"]["count"]) for c in changes] == [
        ("MODIFIED", "Scheduled", 2), ("MODIFIED", "FailedCreate", 2)]
    assert all(int(c["object"]["metadata"]["resourceVersion"]) > version for c in changes)
    nothing_new = scenario.render_path(
        f"/api/v1/namespaces/vms/events?watch=true&resourceVersion={changes[-1]['object']['metadata']['resourceVersion']}",
        12.0,
    )[0]
    assert nothing_new == b""


def test_the_real_events_source_reads_the_replay_api_into_log_records():
    scenario = KubernetesEventsApiScenario(watch_wait_s=0.5)
    with ReplayServer([scenario]) as server:
        api = kubernetes_api_client(
            KubernetesAccess(mode="url", api_url=server.served[0].url.removesuffix(scenario.path))
        )
        source = KubernetesEventsSource(api, EVENT_NAMESPACES, retry_delay_s=0.1)
        records = []
        got_all = threading.Event()
        stop = threading.Event()

        def sink(batch):
            records.extend(batch)
            if len(records) >= len(scenario.events):
                got_all.set()

        threads = source.run(sink, stop)
        assert got_all.wait(30)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    reasons = sorted((r.resource.attributes["service.name"], r.log_record.attributes["k8s.event.reason"],
                      r.log_record.severity_text) for r in records)
    assert reasons == [
        ("argocd-application-controller", "OperationCompleted", "WARN"),
        ("default-scheduler", "Scheduled", "INFO"),
        ("openebs-operator-diskpool", "Degraded", "WARN"),
        ("virtualmachine-controller", "FailedCreate", "WARN"),
    ]
