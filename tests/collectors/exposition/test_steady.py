"""The steady-state shortcut gives exactly what the full parse and conversion give."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

import pytest

from collectors.exposition import SeriesTracker, TargetConverter, parse_exposition, to_metrics
from omni_core.errors import ExpositionError

T0 = 1_700_000_000_000_000_000
STEP = 15_000_000_000
DATA = Path(__file__).resolve().parents[2] / "data" / "exposition"
_VALUE = re.compile(r"^([^#\n][^\n]* )(\S+)$", re.M)


def evolve(text: str, seed: int, reset_every: int = 0) -> str:
    """Same layout, new values: counters and buckets grow, every ``reset_every``-th line resets."""
    rng = random.Random(seed)
    counter = iter(range(10**9))

    def new_value(match: re.Match[str]) -> str:
        index = next(counter)
        try:
            old = float(match.group(2))
        except ValueError:
            return match.group(0)
        if math.isnan(old) or math.isinf(old):
            return match.group(0)
        if reset_every and index % reset_every == 0:
            return f"{match.group(1)}{rng.randint(0, 3)}"
        return f"{match.group(1)}{old + rng.randint(0, 50):.17g}"

    return _VALUE.sub(new_value, text)


def reference(texts: list[str], content_type: str = "") -> list[list[tuple]]:
    tracker = SeriesTracker()
    out = []
    for i, text in enumerate(texts):
        out.append(shape(to_metrics(parse_exposition(text, content_type), scrape_time_ns=T0 + i * STEP, tracker=tracker)))
    return out


def shape(metrics) -> list[tuple]:
    """Everything a sink stores, in a form that compares NaN equal to NaN."""
    def number(x):
        return "nan" if isinstance(x, float) and math.isnan(x) else x

    rows = []
    for metric in metrics:
        data = metric.data
        extra = (getattr(data, "is_monotonic", None), str(getattr(data, "aggregation_temporality", None)))
        for p in data.data_points:
            fields = tuple(
                number(getattr(p, name, None))
                for name in ("start_time_unix_nano", "time_unix_nano", "value", "count", "sum", "flags")
            )
            buckets = (tuple(getattr(p, "bucket_counts", ()) or ()), tuple(getattr(p, "explicit_bounds", ()) or ()))
            quantiles = tuple((q.quantile, number(q.value)) for q in getattr(p, "quantile_values", ()) or ())
            rows.append((metric.name, metric.description, metric.unit, type(data).__name__, extra,
                         tuple(sorted(dict(p.attributes).items())), fields, buckets, quantiles))
    return rows


def steady(texts: list[str], content_type: str = ""):
    converter = TargetConverter()
    results = [converter.convert(text, content_type, T0 + i * STEP) for i, text in enumerate(texts)]
    return [shape(r.metrics) for r in results], [r.steady for r in results]


PROMETHEUS_FIXTURES = sorted(p for p in DATA.glob("*.prom") if "# EOF" not in p.read_text())


@pytest.mark.parametrize("path", PROMETHEUS_FIXTURES, ids=lambda p: p.name)
def test_steady_scrapes_of_fixture_equal_full_conversion(path):
    base = path.read_text()
    texts = [base] + [evolve(base, seed) for seed in range(1, 4)] + [evolve(base, 9, reset_every=3)]
    got, took_shortcut = steady(texts)
    assert got == reference(texts)
    assert took_shortcut[:2] == [False, False]  # the layout is remembered once seen twice
    assert all(took_shortcut[2:]), "an unchanged layout must not be parsed again"


HISTOGRAMS_AND_SUMMARY = """\
# HELP rq_ms Request time.
# TYPE rq_ms histogram
rq_ms_bucket{cluster="a",le="0.5"} 1
rq_ms_bucket{cluster="a",le="5"} 4
rq_ms_bucket{cluster="a",le="+Inf"} 6
rq_ms_sum{cluster="a"} 20.5
rq_ms_count{cluster="a"} 6
# TYPE gc summary
gc{quantile="0.9"} 0.3
gc{quantile="0.5"} 0.1
gc_sum 4
gc_count 17
# TYPE up_things gauge
up_things{a="1"} 1
# TYPE hits counter
hits{path="/"} 10
"""


def test_histograms_summaries_and_counter_resets_match_full_conversion():
    texts = [HISTOGRAMS_AND_SUMMARY] + [evolve(HISTOGRAMS_AND_SUMMARY, seed) for seed in (1, 2)]
    texts.append(evolve(HISTOGRAMS_AND_SUMMARY, 3, reset_every=2))
    got, took_shortcut = steady(texts)
    assert got == reference(texts)
    assert took_shortcut == [False, False, True, True]


def test_layout_change_falls_back_to_full_path_with_staleness():
    first = HISTOGRAMS_AND_SUMMARY
    second = first.replace('up_things{a="1"} 1\n', "")
    third = second.replace("hits{path=\"/\"} 10\n", "hits{path=\"/\"} 11\nhits{path=\"/new\"} 1\n")
    texts = [first, evolve(first, 1), evolve(first, 2), second, third, evolve(third, 4), evolve(third, 5)]
    got, took_shortcut = steady(texts)
    assert got == reference(texts)
    assert took_shortcut == [False, False, True, False, False, False, True]


def test_changed_help_text_is_not_taken_from_the_old_layout():
    texts = [HISTOGRAMS_AND_SUMMARY, HISTOGRAMS_AND_SUMMARY]
    texts.append(HISTOGRAMS_AND_SUMMARY.replace("Request time.", "Request duration."))
    got, took_shortcut = steady(texts)
    assert got == reference(texts)
    assert took_shortcut == [False, False, False]


def test_invalid_value_in_later_scrape_reports_its_line():
    converter = TargetConverter()
    converter.convert(HISTOGRAMS_AND_SUMMARY, "", T0 - STEP)
    converter.convert(HISTOGRAMS_AND_SUMMARY, "", T0)
    assert converter._plan is not None
    broken = HISTOGRAMS_AND_SUMMARY.replace("hits{path=\"/\"} 10", "hits{path=\"/\"} 1_0")
    with pytest.raises(ExpositionError) as info:
        converter.convert(broken, "", T0 + STEP)
    assert info.value.line == HISTOGRAMS_AND_SUMMARY.splitlines().index('hits{path="/"} 10') + 1
    not_a_number = HISTOGRAMS_AND_SUMMARY.replace("gc_sum 4", "gc_sum four")
    with pytest.raises(ExpositionError) as info:
        converter.convert(not_a_number, "", T0 + 2 * STEP)
    assert info.value.line == HISTOGRAMS_AND_SUMMARY.splitlines().index("gc_sum 4") + 1


def test_timestamps_disable_the_shortcut_but_convert_correctly():
    text = "# TYPE t gauge\nt 1 1700000000000\n"
    got, took_shortcut = steady([text, text.replace("t 1 ", "t 2 ")])
    assert got == reference([text, text.replace("t 1 ", "t 2 ")])
    assert took_shortcut == [False, False]


def test_forget_layout_after_failure_makes_next_scrape_full():
    converter = TargetConverter()
    converter.convert(HISTOGRAMS_AND_SUMMARY, "", T0)
    converter.convert(HISTOGRAMS_AND_SUMMARY, "", T0 + STEP)
    assert converter.convert(evolve(HISTOGRAMS_AND_SUMMARY, 1), "", T0 + 2 * STEP).steady is True
    converter.forget_layout()
    assert converter.convert(evolve(HISTOGRAMS_AND_SUMMARY, 3), "", T0 + 3 * STEP).steady is False


from hypothesis import HealthCheck, given, settings  # noqa: E402

from test_parser_differential import prometheus_families, render_prometheus  # noqa: E402


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prometheus_families())
def test_generated_expositions_convert_the_same_by_either_path(families):
    text = render_prometheus(families)
    try:
        parse_exposition(text)
    except ExpositionError:
        return  # invalid input is the parser's business; the fallback raises the same error
    texts = [text, evolve(text, 1), evolve(text, 2, reset_every=2), text]
    got, _ = steady(texts)
    assert got == reference(texts)


def test_steady_counters_and_gauges_come_as_columns_sharing_one_attribute_column_per_metric():
    from omni_core.datamodel import NumberPoints, SeriesAttributes

    converter = TargetConverter()
    texts = [HISTOGRAMS_AND_SUMMARY] + [evolve(HISTOGRAMS_AND_SUMMARY, seed) for seed in (1, 2, 3)]
    results = [converter.convert(text, "", T0 + i * STEP) for i, text in enumerate(texts)]
    assert [r.steady for r in results] == [False, False, True, True]
    by_name = [{m.name: m.data.data_points for m in r.metrics} for r in results]
    for name in ("up_things", "hits"):
        third, fourth = by_name[2][name], by_name[3][name]
        assert type(third) is NumberPoints and type(fourth) is NumberPoints
        assert type(third.attributes) is SeriesAttributes
        assert third.attributes is fourth.attributes  # built once per layout, not per scrape
    # histograms and summaries stay SDK point lists
    assert type(by_name[2]["rq_ms"]) is list
    assert shape(results[3].metrics) == reference(texts)[3]  # the same points as the full path's


@pytest.mark.parametrize(
    "change",
    [
        ('hits{path="/"}', 'hits{path="/x"}'),  # a label value: same line count, same tokens
        ("up_things{a=\"1\"} ", "up_things{a=\"1\"}\t"),  # a tab where the last space was
        ("# TYPE hits counter", "# TYPE  hits counter"),  # a metadata line's spacing
        ("rq_ms_sum{cluster=\"a\"} ", "rq_ms_sum{cluster=\"a\"}  "),  # two spaces before a value
    ],
)
def test_any_change_outside_the_values_leaves_the_shortcut(change):
    old, new = change
    first, second, third = HISTOGRAMS_AND_SUMMARY, evolve(HISTOGRAMS_AND_SUMMARY, 1), evolve(HISTOGRAMS_AND_SUMMARY, 2)
    assert old in third
    changed = third.replace(old, new)
    converter = TargetConverter()
    for i, text in enumerate((first, second)):
        converter.convert(text, "", T0 + i * STEP)
    try:
        expected = reference([first, second, changed])[2]
    except ExpositionError as exc:
        with pytest.raises(ExpositionError) as raised:
            converter.convert(changed, "", T0 + 2 * STEP)
        assert str(raised.value) == str(exc)
        return
    result = converter.convert(changed, "", T0 + 2 * STEP)
    assert not result.steady
    assert shape(result.metrics) == expected
