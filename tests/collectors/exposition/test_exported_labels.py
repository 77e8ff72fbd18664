"""Exposed ``job``/``instance`` labels and other label collisions, as Prometheus's ``honor_labels: false``."""

from __future__ import annotations

import logging

from opentelemetry.sdk.metrics.export import Histogram

from collectors.exposition import SeriesTracker, TargetConverter, parse_exposition, to_metrics

T0 = 1_700_000_000_000_000_000
STEP = 15_000_000_000

FEDERATED = b"""\
# TYPE x_total counter
x_total{instance="pod-a:9000",job="app"} 10
x_total{instance="pod-b:9000",job="app"} 500
# TYPE depth gauge
depth{instance="pod-a:9000"} 1
depth{instance="pod-b:9000"} 2
"""


def points_by_attributes(metrics, name):
    (metric,) = [m for m in metrics if m.name == name]
    return {tuple(sorted(dict(p.attributes).items())): p for p in metric.data.data_points}


def test_exposed_job_and_instance_are_kept_as_exported_labels_so_series_stay_apart():
    converter = TargetConverter()
    first = converter.convert(FEDERATED, "", T0)
    sums = points_by_attributes(first.metrics, "x_total")
    assert set(sums) == {
        (("exported_instance", "pod-a:9000"), ("exported_job", "app")),
        (("exported_instance", "pod-b:9000"), ("exported_job", "app")),
    }
    assert set(points_by_attributes(first.metrics, "depth")) == {
        (("exported_instance", "pod-a:9000"),),
        (("exported_instance", "pod-b:9000"),),
    }
    assert first.kept == first.samples == 4
    # each series keeps its own start time: the small value is not a reset of the large one
    second = converter.convert(FEDERATED.replace(b"} 10\n", b"} 11\n"), "", T0 + STEP)
    for point in points_by_attributes(second.metrics, "x_total").values():
        assert point.start_time_unix_nano == T0


def test_an_exposed_exported_job_label_pushes_the_renamed_one_further():
    text = 'x{job="inner",exported_job="outer"} 1\n'
    (metric,) = to_metrics(parse_exposition(text), scrape_time_ns=T0, tracker=SeriesTracker())
    assert dict(metric.data.data_points[0].attributes) == {"exported_exported_job": "inner", "exported_job": "outer"}


COLLIDING = b"""\
# TYPE y_total counter
y_total{__shard__="1",code="200"} 7
y_total{__shard__="2",code="200"} 9
y_total{code="500"} 1
# TYPE lat histogram
lat_bucket{__shard__="1",le="1"} 1
lat_bucket{__shard__="1",le="+Inf"} 2
lat_count{__shard__="1"} 2
lat_sum{__shard__="1"} 0.5
lat_bucket{__shard__="2",le="1"} 40
lat_bucket{__shard__="2",le="+Inf"} 50
lat_count{__shard__="2"} 50
lat_sum{__shard__="2"} 9
"""


def test_series_that_differ_only_in_dropped_labels_keep_the_first_and_warn_once_per_target():
    converter = TargetConverter()
    first = converter.convert(COLLIDING, "", T0)
    sums = points_by_attributes(first.metrics, "y_total")
    assert {k: p.value for k, p in sums.items()} == {(("code", "200"),): 7, (("code", "500"),): 1}
    (histogram,) = [m for m in first.metrics if m.name == "lat"]
    assert isinstance(histogram.data, Histogram)
    (point,) = histogram.data.data_points
    assert (point.count, point.sum, list(point.bucket_counts)) == (2, 0.5, [1, 1])  # shard 2 not mixed in
    assert first.samples == 11 and first.kept == 11 - 1 - 4
    collisions = [w for w in first.warnings if "stored as the same series" in w]
    assert len(collisions) == 2 and any("y_total" in w for w in collisions) and any("lat" in w for w in collisions)
    again = converter.convert(COLLIDING, "", T0 + STEP)
    assert not [w for w in again.warnings if "stored as the same series" in w]
    assert again.kept == first.kept
    # the kept series was not taken for a reset by its twin's values
    assert points_by_attributes(again.metrics, "y_total")[(("code", "200"),)].start_time_unix_nano == T0
    other_target = TargetConverter().convert(COLLIDING, "", T0)
    assert len([w for w in other_target.warnings if "stored as the same series" in w]) == 2


def test_collision_is_logged_by_the_scraper_with_the_target(caplog):
    import asyncio

    from collectors import ScrapeTarget, Scraper
    from http_targets import Answer, http_target

    with http_target(Answer(COLLIDING)) as server:
        scraper = Scraper()
        target = ScrapeTarget(f"{server.url}/metrics")

        async def twice():
            try:
                return [await scraper.scrape(target) for _ in range(2)]
            finally:
                await scraper.aclose()

        with caplog.at_level(logging.WARNING, logger="collectors"):
            asyncio.run(twice())
    merged = [r.getMessage() for r in caplog.records if "stored as the same series" in r.getMessage()]
    assert len(merged) == 2 and all(target.url in m for m in merged)
