"""The platform replay scenarios: each is a valid target of its source and tells its story."""

from __future__ import annotations

import asyncio
import json

import pytest

from collectors import ScrapeTarget, Scraper
from collectors.exposition import parse_exposition
from collectors.sources.cdi_datavolumes import CdiDataVolumeSource
from collectors.sources.envoy import EnvoySource
from collectors.sources.kubevirt import KubeVirtSource
from collectors.sources.kuma_api import KumaApiSource
from collectors.sources.mayastor_api import MayastorApiSource
from omni_telemetry.demo._replay import ReplayServer
from omni_telemetry.demo.scenarios_platform import (
    PLATFORM_SCENARIOS,
    DataVolumeImportScenario,
    EnvoyErrorBurstScenario,
    KumaDataplaneOfflineScenario,
    VirtControllerVmFailedScenario,
)

SOURCES = {
    "envoy": EnvoySource(),
    "kuma-api": KumaApiSource(),
    "kubevirt": KubeVirtSource(),
    "cdi-datavolumes": CdiDataVolumeSource(),
    "mayastor-api": MayastorApiSource(),
}


def scrape_all(elapsed_offsets=(0.0,)):
    scraper = Scraper(cluster="demo", sources=SOURCES)
    with ReplayServer(PLATFORM_SCENARIOS) as server:
        targets = [
            ScrapeTarget(s.url, source=s.scenario.source, instance=s.scenario.name, options=s.scenario.options)
            for s in server.served
        ]

        async def once():
            try:
                return [await scraper.scrape(t) for t in targets]
            finally:
                await scraper.aclose()

        return asyncio.run(once())


def test_every_platform_scenario_is_scraped_by_its_source_without_errors_or_warnings():
    results = scrape_all()
    assert {r.target.source for r in results} == set(SOURCES)
    for result in results:
        assert result.up, (result.target.instance, result.error)
        assert result.warnings == (), (result.target.instance, result.warnings)
        assert result.samples > 0


def counter(text: bytes, name: str, **labels: str) -> float:
    for family in parse_exposition(text).families:
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"no {name} {labels}")


def test_envoy_5xx_counters_jump_only_during_bursts_and_never_go_back():
    scenario = EnvoyErrorBurstScenario()
    cluster = {"envoy_cluster_name": scenario.failing, "envoy_response_code_class": "5"}

    def errors(elapsed):
        return counter(scenario.render(elapsed)[0], "envoy_cluster_upstream_rq_xx", **cluster)

    # The proxy starts an hour into its life: 3600 s % 180 s = 0, so bursts start at 120 s.
    quiet = errors(110) - errors(10)
    burst = errors(150) - errors(120)
    assert burst > 10 * max(quiet, 1)
    series = [errors(t) for t in range(0, 600, 7)]
    assert series == sorted(series)


def dataplane_statuses(scenario, elapsed):
    body, content_type = scenario.render_path("/meshes/default/dataplanes/_overview", elapsed)
    assert content_type == "application/json"
    items = json.loads(body)["items"]
    offline = {i["name"] for i in items for s in i["dataplaneInsight"]["subscriptions"] if s.get("disconnectTime")}
    return offline


def test_kuma_backend_proxy_goes_offline_and_comes_back():
    scenario = KumaDataplaneOfflineScenario()
    assert dataplane_statuses(scenario, 10) == set()
    assert dataplane_statuses(scenario, 100) == {"backend-1"}
    assert dataplane_statuses(scenario, 200) == set()
    insight = json.loads(scenario.render_path("/mesh-insights", 100)[0])["items"][0]["dataplanes"]
    assert insight == {"total": 4, "online": 3, "offline": 1}
    with pytest.raises(LookupError):
        scenario.render_path("/zones/_overview", 0)


def test_virt_controller_shows_the_vm_failing_and_recovering():
    scenario = VirtControllerVmFailedScenario()

    def db01(elapsed):
        families = {f.name: f for f in parse_exposition(scenario.render(elapsed)[0]).families}
        vm = next(s for s in families["kubevirt_vm_info"].samples if s.labels["name"] == "db-01")
        vmi = next(s for s in families["kubevirt_vmi_info"].samples if s.labels["name"] == "db-01")
        return vmi.labels["phase"], vm.labels["status_group"]

    assert db01(10) == ("running", "running")
    assert db01(200) == ("failed", "error")
    assert db01(310) == ("scheduling", "starting")
    assert db01(400) == ("running", "running")


def test_datavolume_import_progresses_then_succeeds():
    scenario = DataVolumeImportScenario()

    def fedora(elapsed):
        items = json.loads(scenario.render(elapsed)[0])["items"]
        status = next(i for i in items if i["metadata"]["name"] == "fedora-40-root")["status"]
        return status["phase"], status["progress"]

    assert fedora(5) == ("ImportScheduled", "N/A")
    assert fedora(110) == ("ImportInProgress", "50.00%")
    assert fedora(250) == ("Succeeded", "100.0%")
