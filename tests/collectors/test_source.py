"""Which path a source takes is declared, never inferred from which methods it overrides."""

from __future__ import annotations

import asyncio

import pytest

from collectors import SOURCES, ScrapeTarget, Scraper, Source
from http_targets import Answer, http_target


def test_every_registered_source_declares_whether_it_reads_exposition_text():
    for name, source in SOURCES.items():
        declared = next(klass.__dict__["reads_exposition"] for klass in source.__mro__ if "reads_exposition" in klass.__dict__)
        assert isinstance(declared, bool), name
    api_sources = {name for name, source in SOURCES.items() if not source.reads_exposition}
    assert api_sources == {"mayastor-api", "kuma-api", "cdi-datavolumes"}


def test_a_source_that_does_not_say_which_path_it_takes_is_refused_at_definition():
    with pytest.raises(TypeError, match="UndecidedSource must set reads_exposition"):

        class UndecidedSource(Source):
            async def collect(self, client, target, limits):  # an override alone must not decide the path
                return await super().collect(client, target, limits)


def test_overriding_collect_keeps_an_exposition_source_on_the_exposition_path():
    class LoudPrometheus(Source):
        reads_exposition = True

        async def collect(self, client, target, limits):
            raise AssertionError("the scraper fetches and converts exposition sources itself")

    with http_target(Answer(b"# TYPE a counter\na_total 1\n")) as server:
        scraper = Scraper(sources={"loud": LoudPrometheus()})
        target = ScrapeTarget(f"{server.url}/metrics", source="loud")

        async def run():
            try:
                return await scraper.scrape(target)
            finally:
                await scraper.aclose()

        result = asyncio.run(run())
    assert result.up, result.error
    assert result.samples == 1
