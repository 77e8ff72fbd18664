"""The conversion gives exactly the points the earlier, per-sample conversion gave.

The oracle (:mod:`reference_conversion`) is the conversion path as it stood before it was made
faster for a target's first scrape, kept verbatim. Every fixture and generated exposition is
converted by both over a run of scrapes (new values, counter resets, vanished and returning
series, a failed scrape), and everything a sink stores must be equal, in the same order, along
with what the scrape loop reports (drops, warnings, collisions, series added).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import reference_conversion as ref
from collectors.exposition import ConversionReport, SeriesTracker, TargetConverter, parse_exposition, to_metrics
from collectors.exposition import staleness_metrics
from omni_core.datamodel import NO_RECORDED_VALUE
from omni_core.errors import ExpositionError
from test_parser_differential import prometheus_families, render_prometheus
from test_steady import STEP, T0, evolve, shape

DATA = Path(__file__).resolve().parents[2] / "data" / "exposition"
FIXTURES = sorted(DATA.glob("*.prom"))
_SAMPLE_LINE = re.compile(r"^[^#\n][^\n]*\n", re.M)


def content_type_of(text: str) -> str:
    return "application/openmetrics-text; version=1.0.0" if "# EOF" in text else ""


def thinned(text: str, seed: int) -> str:
    """The same body with about a fifth of its sample lines gone (those series go stale)."""
    rng = random.Random(seed)
    return _SAMPLE_LINE.sub(lambda m: "" if rng.random() < 0.2 else m.group(0), text)


def scrapes_of(text: str) -> list[str]:
    return [text, evolve(text, 1), thinned(evolve(text, 2), 5), evolve(text, 3, reset_every=3), text]


def stored(metrics) -> tuple[list[tuple], list[tuple]]:
    """What a sink stores: the scrape's points in order, and its staleness points as a sorted list
    (the reference emits those in the iteration order of a set of keys, which is arbitrary)."""
    rows = shape(metrics)
    stale = sorted((row for row in rows if row[6][5] & NO_RECORDED_VALUE), key=repr)
    return [row for row in rows if not row[6][5] & NO_RECORDED_VALUE], stale


def run_both(texts: list[str], content_type: str = "", fail_after: int | None = None):
    """Each scrape through the current and the reference conversion; what each produced, side by side."""
    ours_tracker, ref_tracker = SeriesTracker(), ref.SeriesTracker()
    ours_out, ref_out = [], []
    for i, text in enumerate(texts):
        now = T0 + i * STEP
        exposition = parse_exposition(text, content_type)
        ours_report = ConversionReport(exposition.dropped, list(exposition.warnings))
        ours = to_metrics(exposition, scrape_time_ns=now, tracker=ours_tracker, report=ours_report)
        reference_exposition = parse_exposition(text, content_type)
        ref_report = ref.ConversionReport(reference_exposition.dropped, list(reference_exposition.warnings))
        theirs = ref.to_metrics(reference_exposition, scrape_time_ns=now, tracker=ref_tracker, report=ref_report)
        ours_out.append((stored(ours), ours_report.dropped, ours_report.warnings, ours_report.collisions,
                         ours_report.series_added, len(ours_tracker)))
        ref_out.append((stored(theirs), ref_report.dropped, ref_report.warnings, ref_report.collisions,
                        ref_report.series_added, len(ref_tracker)))
        if fail_after == i:
            now += STEP // 2
            ours_out.append(stored(staleness_metrics(ours_tracker.mark_all_stale(now), now)))
            ref_out.append(stored(ref.staleness_metrics(ref_tracker.mark_all_stale(now), now)))
    return ours_out, ref_out


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_scrapes_convert_to_the_same_points_as_the_reference(path):
    text = path.read_text()
    ours, reference = run_both(scrapes_of(text), content_type_of(text), fail_after=3)
    assert ours == reference
    assert ours[0][0][0], "the fixture must convert to something"
    assert ours[4][1], "the failed scrape must mark the series of the one before stale"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_first_scrape_of_a_target_equals_the_reference(path):
    text = path.read_text()
    content_type = content_type_of(text)
    converted = TargetConverter().convert(text, content_type, T0)
    reference = ref.to_metrics(parse_exposition(text, content_type), scrape_time_ns=T0, tracker=ref.SeriesTracker())
    assert shape(converted.metrics) == shape(reference)


EDGE_CASES = """\
# TYPE reqs counter
reqs_total{job="j",instance="i",exported_job="x"} 5
reqs_total{a="1",__hidden="x"} 1
reqs_total{a="1",__hidden="y"} 2
reqs_total{a="",b="2"} 3
reqs_total{b="2"} 4
reqs_created{b="2"} 1700000000
# TYPE lat histogram
lat_bucket{job="j",le="1"} 1
lat_bucket{job="j",le="+Inf"} 2
lat_sum{job="j"} 3
lat_count{job="j"} 2
lat_bucket{x="1",__a="1",le="1"} 1
lat_bucket{x="1",__a="2",le="1"} 7
lat_bucket{x="1",__a="1",le="+Inf"} 1
lat_count{x="1",__a="1"} 1
lat_bucket{y="1",le="5"} 1
lat_bucket{y="1",le="1"} 1
lat_bucket{y="1",le="+Inf"} 3
lat_count{y="1"} 3
lat_bucket{z="nocount",le="1"} 1
lat_created{y="1"} 1600000000.5
lat_other{y="1"} 4
# TYPE q summary
q{quantile="0.9",instance="i"} 3
q{quantile="0.5",instance="i"} 1
q_sum{instance="i"} 10
q_count{instance="i"} 4
q_count{only="count"} 2
# TYPE g gauge
g{instance="a"} 1
g 2 1700000000000
g{v=""} 9
untyped_thing{k="v"} NaN
"""


def test_edge_cases_convert_to_the_same_points_as_the_reference():
    # renamed job/instance, collisions through dropped labels, _created, out-of-order and missing
    # counts, timestamps: each scrape, including the ones with resets and vanished series
    ours, reference = run_both(scrapes_of(EDGE_CASES), fail_after=1)
    assert ours == reference
    assert ours[0][3], "the collisions of the first scrape must be reported"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prometheus_families())
def test_generated_expositions_convert_to_the_same_points_as_the_reference(families):
    text = render_prometheus(families)
    try:
        parse_exposition(text)
    except ExpositionError:
        return
    ours, reference = run_both(scrapes_of(text), fail_after=2)
    assert ours == reference
