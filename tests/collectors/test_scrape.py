"""One scrape against real local HTTP targets: good, broken, slow, refused."""

from __future__ import annotations

import asyncio
import gzip

from opentelemetry.sdk.metrics.export import Gauge, Sum

from collectors import ScrapeTarget, Scraper
from omni_core.datamodel import NO_RECORDED_VALUE, point_flags
from http_targets import Answer, closed_port, http_target

GOOD = b"""# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200",job="x"} 1027
http_requests_total{code="500"} 3
# TYPE temperature gauge
temperature 21.5
"""


def scrape(target: ScrapeTarget, scraper: Scraper | None = None):
    scraper = scraper or Scraper(cluster="lab")

    async def run():
        try:
            return await scraper.scrape(target)
        finally:
            await scraper.aclose()

    return asyncio.run(run())


def metric_map(result):
    return {m.name: m for s in result.resource_metrics.scope_metrics for m in s.metrics}


def up_value(result) -> float:
    return metric_map(result)["up"].data.data_points[0].value


def test_good_target_gives_up_1_metrics_and_receiver_resource_attributes():
    with http_target(Answer(GOOD)) as server:
        result = scrape(ScrapeTarget(f"{server.url}/metrics", job="web"))
    assert result.up and result.error is None
    metrics = metric_map(result)
    assert up_value(result) == 1.0
    assert isinstance(metrics["http_requests_total"].data, Sum)
    assert isinstance(metrics["temperature"].data, Gauge)
    assert metrics["scrape_samples_scraped"].data.data_points[0].value == 3
    assert metrics["scrape_duration_seconds"].unit == "s"
    attrs = dict(result.resource_metrics.resource.attributes)
    port = server.server_address[1]
    assert attrs["service.name"] == "web"
    assert attrs["service.instance.id"] == f"127.0.0.1:{port}"
    assert attrs["server.port"] == str(port)
    assert attrs["url.scheme"] == "http"
    assert attrs["k8s.cluster.name"] == "lab"
    assert "server.address" not in attrs  # loopback is omitted, as the receiver does
    # the exposed job label is kept apart from the target's own job (honor_labels: false)
    codes = [dict(p.attributes) for p in metrics["http_requests_total"].data.data_points]
    assert codes == [{"code": "200", "exported_job": "x"}, {"code": "500"}]


def test_request_asks_for_openmetrics_and_gzip_and_sends_bearer_token(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    with http_target(Answer(GOOD)) as server:
        scrape(ScrapeTarget(f"{server.url}/metrics", bearer_token_file=str(token)))
        _, headers = server.requests[0]
    assert "application/openmetrics-text" in headers["Accept"]
    assert "gzip" in headers["Accept-Encoding"]
    assert headers["Authorization"] == "Bearer s3cret"


def test_gzip_body_is_decoded():
    with http_target(Answer(gzip.compress(GOOD), headers={"Content-Encoding": "gzip"})) as server:
        result = scrape(ScrapeTarget(f"{server.url}/metrics"))
    assert result.up and "temperature" in metric_map(result)


def test_http_500_gives_up_0_with_status_in_reason():
    with http_target(Answer(b"internal error", status=500)) as server:
        result = scrape(ScrapeTarget(f"{server.url}/metrics"))
    assert not result.up and up_value(result) == 0.0
    assert "HTTP 500" in result.error and "internal error" in result.error


def test_refused_connection_gives_up_0_and_cannot_connect_reason():
    result = scrape(ScrapeTarget(f"http://127.0.0.1:{closed_port()}/metrics"))
    assert not result.up
    assert "cannot connect" in result.error


def test_slow_target_past_timeout_gives_up_0_and_timeout_reason():
    with http_target(Answer(GOOD, delay_s=2.0)) as server:
        result = scrape(ScrapeTarget(f"{server.url}/metrics", timeout_s=0.3))
    assert not result.up
    assert "scrape deadline of 0.3 s exceeded" in result.error


def test_truncated_exposition_gives_up_0_with_line_number():
    with http_target(Answer(b'# TYPE a counter\na_total{code="200} 1\n')) as server:
        result = scrape(ScrapeTarget(f"{server.url}/metrics"))
    assert not result.up
    assert "line 2" in result.error


def test_unknown_type_word_gives_up_0_naming_it():
    with http_target(Answer(b"# TYPE a countr\na 1\n")) as server:
        result = scrape(ScrapeTarget(f"{server.url}/metrics"))
    assert not result.up
    assert "line 1" in result.error and "countr" in result.error


def test_html_error_page_gives_up_0():
    with http_target(Answer(b"<html><body>502 Bad Gateway</body></html>", content_type="text/html")) as server:
        result = scrape(ScrapeTarget(f"{server.url}/metrics"))
    assert not result.up and "line 1" in result.error


def test_failed_scrape_marks_previous_series_stale_and_loop_state_survives():
    answers = [Answer(GOOD), Answer(b"oops", status=503), Answer(GOOD)]
    calls = iter(answers)
    with http_target(lambda _path: next(calls)) as server:
        scraper = Scraper()
        target = ScrapeTarget(f"{server.url}/metrics")

        async def three():
            try:
                return [await scraper.scrape(target) for _ in range(3)]
            finally:
                await scraper.aclose()

        first, down, again = asyncio.run(three())
    assert first.up and not down.up and again.up
    stale = [
        p for name, m in metric_map(down).items() if name != "up" for p in m.data.data_points
        if point_flags(p) & NO_RECORDED_VALUE
    ]
    assert len(stale) == 3  # two counter series and one gauge
    counter_start = metric_map(first)["http_requests_total"].data.data_points[0].start_time_unix_nano
    again_start = metric_map(again)["http_requests_total"].data.data_points[0].start_time_unix_nano
    assert again_start == counter_start  # the value did not go down: same cumulative series


def test_missing_expected_families_warns_for_wrong_source():
    with http_target(Answer(GOOD)) as server:
        result = scrape(ScrapeTarget(f"{server.url}/metrics", source="mayastor"))
    assert result.up
    assert any("diskpool_status" in w and "missing" in w for w in result.warnings)


def test_unchanged_layout_is_converted_from_values_alone_with_envoy_normalisation(data_dir):
    from collectors.sources.envoy import EnvoySource

    base = sorted((data_dir / "envoy").glob("*.prom"))[0].read_bytes()
    later = base.replace(b" 0\n", b" 7\n")
    assert later != base

    class FullPathEnvoy(EnvoySource):
        layout_cache = False

    def two_scrapes(source):
        bodies = iter([base, later])
        with http_target(lambda _path: Answer(next(bodies))) as server:
            scraper = Scraper(sources={"envoy": source}, clock=iter([10**18, 10**18 + 15 * 10**9]).__next__)
            target = ScrapeTarget(f"{server.url}/stats/prometheus", source="envoy", job="envoy")

            async def run():
                try:
                    return [await scraper.scrape(target) for _ in range(2)]
                finally:
                    await scraper.aclose()

            return asyncio.run(run()), scraper

    (first, second), scraper = two_scrapes(EnvoySource())
    (ref_first, ref_second), _ = two_scrapes(FullPathEnvoy())
    converter = next(iter(scraper._converters.values()))
    assert converter._plan is not None  # the second scrape took the shortcut and kept the layout

    def points(result):
        return sorted(
            (m.name, tuple(sorted(dict(p.attributes).items())), getattr(p, "value", None), getattr(p, "count", None),
             p.start_time_unix_nano, p.time_unix_nano)
            for s in result.resource_metrics.scope_metrics for m in s.metrics if m.name != "scrape_duration_seconds"
            for p in m.data.data_points
        )

    assert points(second) == points(ref_second)
    assert second.samples == ref_second.samples and second.warnings == ref_second.warnings
    assert any(dict(p.attributes).get("service") for m in metric_map(second).values() for p in m.data.data_points)


def test_gzip_bomb_is_refused_without_inflating_past_the_body_limit():
    import tracemalloc

    from collectors import ParseLimits

    bomb = gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9)  # ~64 KiB on the wire
    with http_target(Answer(bomb, headers={"Content-Encoding": "gzip"})) as server:
        tracemalloc.start()
        try:
            result = scrape(ScrapeTarget(f"{server.url}/metrics"), Scraper(limits=ParseLimits(max_body_bytes=1024 * 1024)))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert not result.up
    assert "larger than 1048576 bytes" in result.error and "decoded" in result.error
    assert peak < 16 * 1024 * 1024  # inflating one received chunk whole would hold tens of MiB


def synthetic(result) -> dict[str, float]:
    names = ("up", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added")
    metrics = metric_map(result)
    return {name: metrics[name].data.data_points[0].value for name in names}


def test_five_synthetic_series_follow_a_target_whose_series_set_changes():
    histogram = (
        b"# TYPE lat histogram\n"
        b'lat_bucket{le="1"} 1\nlat_bucket{le="+Inf"} 2\nlat_sum 0.5\nlat_count 2\n'
    )
    bodies = iter(
        [
            Answer(b"a 1\nb 1\n"),  # first scrape: every series is new
            Answer(b"a 2\nb 2\nc 1\n"),  # c added
            Answer(b"a 3\nc 2\n"),  # b gone, nothing new
            Answer(b"a 3\nc 2\n"),  # same layout again: remembered
            Answer(b"a 4\nc 3\n"),  # converted from its values alone (the steady path): nothing new
            Answer(b"down", status=503),  # failed scrape
            Answer(b"a 4\nb 3\nc 3\n"),  # b is new again against the last successful scrape (a, c)
            Answer(b"a 5\nb 4\nc 4\n" + histogram),  # a histogram adds its 4 exposed series
            # two exposed series that become one stored series: one sample is not kept
            Answer(b'a 5\nb 4\nc 4\nd{__x="1"} 1\nd{__x="2"} 2\n' + histogram),
        ]
    )
    with http_target(lambda _path: next(bodies)) as server:
        scraper = Scraper()
        target = ScrapeTarget(f"{server.url}/metrics")

        async def run():
            try:
                return [await scraper.scrape(target) for _ in range(9)]
            finally:
                await scraper.aclose()

        results = asyncio.run(run())
    got = [synthetic(r) for r in results]
    assert [g["up"] for g in got] == [1, 1, 1, 1, 1, 0, 1, 1, 1]
    assert [g["scrape_samples_scraped"] for g in got] == [2, 3, 2, 2, 2, 0, 3, 7, 9]
    assert [g["scrape_samples_post_metric_relabeling"] for g in got] == [2, 3, 2, 2, 2, 0, 3, 7, 8]
    assert [g["scrape_series_added"] for g in got] == [2, 1, 0, 0, 0, 0, 1, 4, 1]
    for result in results:
        duration = metric_map(result)["scrape_duration_seconds"]
        assert duration.unit == "s" and duration.data.data_points[0].value >= 0
