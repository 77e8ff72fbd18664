"""Helpers for the platform source tests: one real scrape of a local target through a source."""

from __future__ import annotations

import asyncio
from typing import Callable

import pytest

from collectors import ScrapeTarget, Scraper
from collectors._scrape import ScrapeResult
from collectors._source import Source


def _scrape(source: Source, target: ScrapeTarget, scraper: Scraper | None = None) -> ScrapeResult:
    scraper = scraper or Scraper(cluster="lab", sources={target.source: source})

    async def once() -> ScrapeResult:
        try:
            return await scraper.scrape(target)
        finally:
            await scraper.aclose()

    return asyncio.run(once())


def _points(result: ScrapeResult, name: str) -> list[tuple[dict, float]]:
    """(attributes, value) of every point of metric ``name`` in a scrape result."""
    found = []
    for scope in result.resource_metrics.scope_metrics:
        for metric in scope.metrics:
            if metric.name == name:
                for point in metric.data.data_points:
                    found.append((dict(point.attributes), getattr(point, "value", None)))
    return found


@pytest.fixture
def scrape_once() -> Callable[..., ScrapeResult]:
    return _scrape


@pytest.fixture
def points_of() -> Callable[[ScrapeResult, str], list[tuple[dict, float]]]:
    return _points
