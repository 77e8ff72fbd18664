"""The dashboard replay scenarios: each is a clean target of its source and tells its story."""

from __future__ import annotations

import asyncio

from collectors import ScrapeTarget, Scraper
from collectors.exposition import parse_exposition
from omni_telemetry.demo import demo_scenarios
from omni_telemetry.demo._replay import ReplayServer
from omni_telemetry.demo.scenarios_sidecars import (
    ContourControllerScenario,
    KumaControlPlaneScenario,
    KumaSidecarScenario,
    VirtHandlerScenario,
    sidecar_scenarios,
)


def _value(text: bytes, name: str, **labels: str) -> float:
    for family in parse_exposition(text).families:
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"no {name} {labels}")


def test_every_sidecar_scenario_is_scraped_by_its_source_without_errors_or_warnings() -> None:
    scraper = Scraper(cluster="demo")
    with ReplayServer(sidecar_scenarios()) as server:
        targets = [ScrapeTarget(s.url, source=s.scenario.source, instance=s.scenario.name, options=getattr(s.scenario, "options", {}))
                   for s in server.served]

        async def once():
            try:
                return [await scraper.scrape(t) for t in targets]
            finally:
                await scraper.aclose()

        results = asyncio.run(once())
    assert {r.target.source for r in results} == {"envoy", "mayastor", "kuma-dp", "kuma-cp", "kubevirt", "cdi", "contour"}
    for result in results:
        assert result.up, (result.target.instance, result.error)
        assert result.warnings == (), (result.target.instance, result.warnings)
        assert result.samples > 0


def test_the_demo_serves_the_sidecar_scenarios_beside_the_platform_ones() -> None:
    names = [s.name for s in demo_scenarios(60.0)]
    assert len(names) == len(set(names))
    assert {s.name for s in sidecar_scenarios()} <= set(names)


def test_sidecar_calls_fail_and_slow_down_only_during_the_burst() -> None:
    sidecar = KumaSidecarScenario("dp", "web", 10.0, {"backend_shop_svc_8080": 20.0}, failing="backend_shop_svc_8080")
    labels = {"envoy_cluster_name": "backend_shop_svc_8080", "envoy_response_code_class": "5"}

    def errors(t: float) -> float:
        return _value(sidecar.render(t)[0], "envoy_cluster_upstream_rq_xx", **labels)

    # t = elapsed + 1800, 1800 % 240 = 120: the window [30, 70) of each period is elapsed 150-190
    assert errors(140) - errors(100) < 5
    assert errors(190) - errors(150) > 50
    series = [errors(t) for t in range(0, 500, 9)]
    assert series == sorted(series)


def test_control_plane_counts_nacks_and_acks_monotonically() -> None:
    cp = KumaControlPlaneScenario()
    listener = cp.type_urls[0]
    nacks = [_value(cp.render(t)[0], "xds_requests_received", confirmation="NACK", type_url=listener) for t in (0, 100, 200)]
    assert nacks == sorted(nacks) and nacks[-1] > nacks[0]


def test_virt_handler_reports_a_migration_only_inside_its_window_and_no_domain_for_a_failed_vm() -> None:
    handler = VirtHandlerScenario("worker-2", (("web-02", 0.3, 2.0),))
    families = lambda t: {f.name for f in parse_exposition(handler.render(t)[0]).families}  # noqa: E731
    assert "kubevirt_vmi_migration_data_remaining_bytes" in families(70)  # 3600 % 300 = 0: window 60-120
    assert "kubevirt_vmi_migration_data_remaining_bytes" not in families(10)
    worker1 = VirtHandlerScenario("worker-1", (("db-01", 0.7, 8.0),))
    assert "kubevirt_vmi_cpu_usage_seconds_total" in {f.name for f in parse_exposition(worker1.render(10)[0]).families}
    assert "kubevirt_vmi_cpu_usage_seconds_total" not in {f.name for f in parse_exposition(worker1.render(200)[0]).families}


def test_contour_marks_one_httpproxy_invalid_for_part_of_each_period() -> None:
    contour = ContourControllerScenario()
    vhost = {"namespace": "shop", "vhost": "api.shop.example.com"}
    assert _value(contour.render(100)[0], "contour_httpproxy_invalid", **vhost) == 0
    assert _value(contour.render(250)[0], "contour_httpproxy_invalid", **vhost) == 1
