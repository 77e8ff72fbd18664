"""A failed scrape stores its reason beside ``up=0`` (``omni_scrape_error_info{reason}``), so
the health API can say why a target is down; a good scrape stores no such series."""

from __future__ import annotations

import asyncio

from collectors import ScrapeTarget, Scraper
from http_targets import Answer, closed_port, http_target


def _scrape(target: ScrapeTarget):
    scraper = Scraper(cluster="lab")

    async def run():
        try:
            return await scraper.scrape(target)
        finally:
            await scraper.aclose()

    return asyncio.run(run())


def _reasons(result) -> list[str]:
    return [
        point.attributes["reason"]
        for scope in result.resource_metrics.scope_metrics
        for metric in scope.metrics
        if metric.name == "omni_scrape_error_info"
        for point in metric.data.data_points
    ]


def test_refused_scrape_stores_its_reason():
    result = _scrape(ScrapeTarget(f"http://127.0.0.1:{closed_port()}/metrics"))
    assert not result.up
    assert _reasons(result) == [result.error]


def test_good_scrape_stores_no_reason():
    with http_target(Answer(b"# TYPE t gauge\nt 1\n")) as server:
        result = _scrape(ScrapeTarget(f"{server.url}/metrics"))
    assert result.up and _reasons(result) == []
