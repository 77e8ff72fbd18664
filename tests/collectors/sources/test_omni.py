"""The `omni` source: the collector's own /metrics, scraped like any target and stored."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, start_http_server

from collectors import CollectorMetrics, ScrapeTarget, Scraper
from collectors.sources import SOURCES, get_source
from collectors.sources.omni import OmniSource, self_target
from exporters._selfmetrics import ExporterMetrics


def test_omni_is_a_registered_source() -> None:
    assert SOURCES["omni"] is OmniSource
    assert isinstance(get_source("omni"), OmniSource)


def test_self_target_scrapes_our_own_metrics_into_sums_and_histograms() -> None:
    registry = CollectorRegistry()
    collector = CollectorMetrics(registry)
    exporter = ExporterMetrics.for_registry(registry)
    exporter.samples_written.labels("clickhouse").inc(1234)
    exporter.insert_seconds.labels("clickhouse", "ok").observe(0.02)
    server, _thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        target = self_target(server.server_port)
        assert target.job == "omni" and target.url.startswith("http://127.0.0.1:")
        collector.observe_scrape(target, True, 10, 0.1, 0)
        collector.observe_scrape(ScrapeTarget("http://127.0.0.1:1/metrics", source="mayastor"), False, 0, 0.2, 0)
        scraper = Scraper(cluster="demo")

        async def once():
            try:
                return await scraper.scrape(target)
            finally:
                await scraper.aclose()

        result = asyncio.run(once())
    finally:
        server.shutdown()
        server.server_close()
    assert result.up and result.warnings == (), (result.error, result.warnings)
    metrics = {
        metric.name: metric
        for sm in result.resource_metrics.scope_metrics
        for metric in sm.metrics
    }
    written = metrics["omni_exporter_samples_written_total"].data
    assert written.is_monotonic and written.data_points[0].value == 1234
    assert type(metrics["omni_exporter_insert_duration_seconds"].data).__name__ == "Histogram"
    scrapes = {(p.attributes.get("exported_job"), p.attributes.get("result")): p.value
               for p in metrics["omni_scrapes_total"].data.data_points}
    assert scrapes == {("omni", "success"): 1, ("mayastor", "failure"): 1}  # one series per scraped job, not merged
