"""The Contour replay target: a valid target of the ``contour`` source whose HTTPProxy goes
invalid on schedule, and which the health API reports once scraped and stored."""

from __future__ import annotations

import asyncio

from collectors import ScrapeTarget, Scraper, metrics_data
from collectors.exposition import parse_exposition
from collectors.sources.contour import ContourSource
from exporters.clickhouse import ClickHouseWriter, SchemaOptions, apply_schema, connect
from omni_telemetry.demo._replay import ReplayServer
from omni_telemetry.demo.scenarios_contour import ContourHttpProxyScenario
from service import Evaluator, Status, StoreReader, load_rules


def _invalid(scenario: ContourHttpProxyScenario, elapsed_s: float) -> dict[tuple[str, str], float]:
    body, content_type = scenario.render(elapsed_s)
    exposition = parse_exposition(body, content_type)
    family = next(f for f in exposition.families if f.name == "contour_httpproxy_invalid")
    return {(s.labels["namespace"], s.labels["vhost"]): s.value for s in family.samples}


def test_checkout_proxy_is_invalid_only_inside_its_window_and_rebuilds_count_up():
    scenario = ContourHttpProxyScenario(period_s=240, invalid_start_s=40, invalid_s=90)
    before, during, after = _invalid(scenario, 10), _invalid(scenario, 60), _invalid(scenario, 200)
    assert set(before.values()) == {0} and set(after.values()) == {0}
    assert during[("shop", "checkout.example.com")] == 1
    assert during[("default", "kuard.example.com")] == 0
    counts = [scenario.rebuilds(t)[0] for t in (0, 39, 40, 130, 240, 600)]
    assert counts == sorted(counts) and counts[2] == counts[1] + 1


def test_health_reports_the_invalid_httpproxy_after_a_real_scrape(tmp_path):
    scenario = ContourHttpProxyScenario(invalid_start_s=0, invalid_s=3600)
    scraper = Scraper(cluster="demo", sources={"contour": ContourSource()})
    with ReplayServer([scenario]) as server:
        [served] = server.served
        target = ScrapeTarget(served.url, source="contour", job="contour", instance=scenario.name)

        async def once():
            try:
                return await scraper.scrape(target)
            finally:
                await scraper.aclose()

        result = asyncio.run(once())
    assert result.up and result.warnings == (), (result.error, result.warnings)
    dsn = f"chdb://{tmp_path / 'store'}"
    options = SchemaOptions()
    client = connect(dsn)
    apply_schema(client, options)
    ClickHouseWriter(client, options).write(metrics_data([result]))
    snapshot = Evaluator(StoreReader(lambda: connect(dsn), options), load_rules(), stale_after_s=60).evaluate()
    envoy = snapshot.components["envoy"]
    bad = {e.id: e.status for e in envoy.entities if e.status is not Status.OK}
    assert bad == {"httpproxy/shop/checkout.example.com": Status.DEGRADED}
