"""Rules of parse_exposition, one behaviour per test (Prometheus text 0.0.4 and OpenMetrics 1.0)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from collectors.exposition import Sample, parse_exposition
from omni_core.errors import ExpositionError

DATA = Path(__file__).resolve().parents[2] / "data" / "exposition"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def families(text: str, content_type: str = "") -> dict:
    return {f.name: f for f in parse_exposition(text, content_type).families}


def error_for(text: str | bytes, content_type: str = "") -> ExpositionError:
    with pytest.raises(ExpositionError) as caught:
        parse_exposition(text, content_type)
    return caught.value


# -- values, labels, escapes ------------------------------------------------------------------------


def test_escaped_label_values_round_trip():
    text = 'm{path="C:\\\\dir\\\\",quote="say \\"hi\\"",multi="a\\nb",other="\\t stays"} 1\n'
    (sample,) = families(text)["m"].samples
    assert sample.labels == {"path": "C:\\dir\\", "quote": 'say "hi"', "multi": "a\nb", "other": "\\t stays"}


def test_label_values_may_contain_braces_commas_hashes_and_unicode():
    text = 'm{a="x} 1",b="{,=#}",c="é€😀"} 2\n'
    (sample,) = families(text)["m"].samples
    assert sample.labels == {"a": "x} 1", "b": "{,=#}", "c": "é€😀"}
    assert sample.value == 2


def test_special_float_values_and_exponents():
    text = "a NaN\nb +Inf\nc -Inf\nd 1.5e-07\ne -2E+3\nf 17\n"
    got = {name: family.samples[0].value for name, family in families(text).items()}
    assert math.isnan(got["a"])
    assert got["b"] == math.inf and got["c"] == -math.inf
    assert got["d"] == 1.5e-07 and got["e"] == -2000.0 and got["f"] == 17.0


def test_prometheus_timestamp_is_integer_milliseconds():
    (sample,) = families("m 3 1700000000123\n")["m"].samples
    assert sample.timestamp_ms == 1700000000123


def test_openmetrics_timestamp_in_seconds_becomes_milliseconds():
    text = "# TYPE m gauge\nm 3 1700000000.123\n# EOF\n"
    (sample,) = families(text, OPENMETRICS)["m"].samples
    assert sample.timestamp_ms == 1700000000123


def test_trailing_comma_and_spaces_after_commas_in_label_sets():
    text = 'm{a="1",} 1\nm{b="2", c="3"} 2\nm{} 3\n'
    samples = families(text)["m"].samples
    assert [s.labels for s in samples] == [{"a": "1"}, {"b": "2", "c": "3"}, {}]


def test_mayastor_capture_with_a_space_after_a_comma_parses():
    exposition = parse_exposition((DATA / "mayastor_openebs_docs_4_2_disk_pool_with_committed.prom").read_bytes())
    committed = {f.name: f for f in exposition.families}["disk_pool_committed_size_bytes"]
    assert committed.samples[0].labels == {"node": "worker-0", "name": "mayastor-disk-pool"}
    assert committed.samples[0].value == 9663676416


def test_repeated_label_sets_share_one_dict():
    text = '# TYPE a counter\na{x="1"} 1\n# TYPE b gauge\nb{x="1"} 2\nc{ x="1" ,} 3\n'
    exposition = parse_exposition(text)
    a, b, c = (f.samples[0] for f in exposition.families)
    assert a.labels is b.labels is c.labels  # the same set spelled differently is still shared


def test_label_set_extending_a_known_set_reads_like_a_fresh_one():
    text = (
        '# TYPE h histogram\nh_sum{c="a,b"} 1\nh_count{c="a,b"} 2\n'
        'h_bucket{c="a,b",le="1"} 1\nh_bucket{c="a,b", le="+Inf" } 2\nh_bucket{c="a,b",le="x\\"y"} 2\n'
    )
    exposition = parse_exposition(text)
    buckets = [s.labels for s in exposition.families[0].samples if s.name == "h_bucket"]
    assert buckets == [{"c": "a,b", "le": "1"}, {"c": "a,b", "le": "+Inf"}]
    assert exposition.dropped == 1  # le='x"y' is not a number


def test_label_set_with_one_pair_before_a_known_set_reads_like_a_fresh_one():
    # Envoy writes per-code-class counters as the class, then the cluster's labels seen before.
    text = (
        '# TYPE up gauge\nup{c="x,y",d="2"} 1\n# TYPE rq counter\n'
        'rq{code="5",c="x,y",d="2"} 1\nrq{code="x,y",c="x,y",d="2"} 2\nrq{ code = "4" ,c="x,y",d="2"} 3\n'
        'rq{k="\\"",c="x,y",d="2"} 4\n'
    )
    samples = parse_exposition(text).families[1].samples
    assert [list(s.labels.items()) for s in samples] == [
        [("code", "5"), ("c", "x,y"), ("d", "2")],
        [("code", "x,y"), ("c", "x,y"), ("d", "2")],
        [("code", "4"), ("c", "x,y"), ("d", "2")],
        [("k", '"'), ("c", "x,y"), ("d", "2")],
    ]


@pytest.mark.parametrize("second", ['m{a="1",,b="2"} 2', 'm{a="1",a="2"} 2', 'm{a="1",b=2} 2', 'm{b=2,a="1"} 2',
                                    'm{a="2",a="1"} 2', 'm{b="2,a="1"} 2'])
def test_known_set_followed_by_a_broken_pair_is_still_an_error(second):
    error = error_for(f'm{{a="1",}} 1\nm{{a="1"}} 1\n{second}\n')
    assert error.line == 3


def test_crlf_line_endings_and_tab_separators_are_tolerated_in_prometheus_text():
    text = '# HELP m Help.\r\n# TYPE m gauge\r\nm{a="1"} 1\r\nm\t2\t1700000000000\r\n'
    (family,) = parse_exposition(text).families
    assert (family.type, family.help) == ("gauge", "Help.")
    got = [(s.labels, s.value, s.timestamp_ms) for s in family.samples]
    assert got == [({"a": "1"}, 1, None), ({}, 2, 1700000000000)]


def test_bytes_and_text_bodies_parse_alike():
    text = '# TYPE m counter\nm{v="é"} 1\n'
    from_bytes, from_text = parse_exposition(text.encode()), parse_exposition(text)
    assert [(s.name, s.labels, s.value) for s in from_bytes.families[0].samples] == [("m", {"v": "é"}, 1.0)]
    assert from_bytes == from_text


def test_help_escapes_differ_between_formats():
    prom = families('# HELP m back\\\\slash\\nnew \\"kept\\"\nm 1\n')["m"]
    assert prom.help == 'back\\slash\nnew \\"kept\\"'
    om = families('# HELP m back\\\\slash\\nnew \\"q\\"\nm 1\n# EOF\n', OPENMETRICS)["m"]
    assert om.help == 'back\\slash\nnew "q"'


# -- grouping ---------------------------------------------------------------------------------------


def test_sample_names_are_kept_exactly_as_exposed():
    text = (
        "# TYPE envoy_cluster_upstream_rq counter\nenvoy_cluster_upstream_rq 5\n"
        "# TYPE http_requests_total counter\nhttp_requests_total 7\n"
        "# TYPE jobs counter\njobs_total 9\njobs_created 1700000000\n"
    )
    got = families(text)
    assert [s.name for s in got["envoy_cluster_upstream_rq"].samples] == ["envoy_cluster_upstream_rq"]
    assert [s.name for s in got["http_requests_total"].samples] == ["http_requests_total"]
    assert [s.name for s in got["jobs"].samples] == ["jobs_total", "jobs_created"]


def test_histogram_and_summary_samples_join_their_family():
    text = (
        "# TYPE lat histogram\n"
        'lat_bucket{le="0.5"} 1\nlat_bucket{le="+Inf"} 2\nlat_sum 0.7\nlat_count 2\nlat_created 1.7e9\n'
        "# TYPE rpc summary\n"
        'rpc{quantile="0.5"} 0.1\nrpc{quantile="0.99"} 0.4\nrpc_sum 3\nrpc_count 20\n'
    )
    got = families(text)
    assert list(got) == ["lat", "rpc"]
    assert got["lat"].type == "histogram"
    assert [s.name for s in got["lat"].samples] == ["lat_bucket", "lat_bucket", "lat_sum", "lat_count", "lat_created"]
    assert [s.name for s in got["rpc"].samples] == ["rpc", "rpc", "rpc_sum", "rpc_count"]


def test_samples_without_metadata_become_untyped_families_named_after_them():
    text = "# just a comment\nup_seconds 5\nup_seconds{x=\"1\"} 6\n# HELP documented Only help.\ndocumented 1\n"
    got = families(text)
    assert got["up_seconds"].type == "untyped" and len(got["up_seconds"].samples) == 2
    assert (got["documented"].type, got["documented"].help) == ("untyped", "Only help.")


def test_suffix_not_valid_for_the_type_makes_its_own_family():
    got = families("# TYPE temp gauge\ntemp 20\ntemp_total 3\n")
    assert got["temp_total"].type == "untyped"
    assert [s.name for s in got["temp"].samples] == ["temp"]


def test_repeated_type_lines_from_older_envoys_merge_into_one_family():
    text = (
        '# TYPE envoy_x counter\nenvoy_x{envoy_cluster_name="a"} 1\n'
        '# TYPE envoy_x counter\nenvoy_x{envoy_cluster_name="b"} 2\n'
    )
    exposition = parse_exposition(text)
    (family,) = exposition.families
    assert [s.labels["envoy_cluster_name"] for s in family.samples] == ["a", "b"]


def test_empty_braces_mean_no_labels():
    (family,) = parse_exposition("# TYPE envoy_server_live gauge\nenvoy_server_live{} 1\n").families
    assert family.samples[0].labels == {}


def test_type_after_samples_retypes_the_implicit_family():
    got = families("late 1\n# TYPE late counter\nlate 2\n")
    assert got["late"].type == "counter" and len(got["late"].samples) == 1  # the second sample is a duplicate


def test_content_type_selects_the_format():
    text = "# TYPE m counter\nm_total 1\n# EOF\n"
    assert parse_exposition(text, OPENMETRICS).format == "openmetrics"
    assert parse_exposition("m 1\n", "text/plain; version=0.0.4; charset=utf-8").format == "prometheus"


def test_openmetrics_created_unit_exemplar_and_eof():
    text = (
        "# TYPE rq counter\n# UNIT rq seconds\n# HELP rq Requests.\n"
        'rq_total{code="200"} 10 # {trace_id="4bf92f3577b34da6"} 1.5 1700000000.5\n'
        'rq_created{code="200"} 1700000000\n'
        "# TYPE build info\nbuild_info{version=\"1.2\"} 1\n"
        "# TYPE state stateset\nstate{state=\"up\"} 1\n"
        "# EOF\n"
    )
    got = families(text, OPENMETRICS)
    rq = got["rq"]
    assert (rq.type, rq.unit, rq.help) == ("counter", "seconds", "Requests.")
    total, created = rq.samples
    assert total.exemplar is not None
    assert total.exemplar.labels == {"trace_id": "4bf92f3577b34da6"}
    assert (total.exemplar.value, total.exemplar.timestamp) == (1.5, 1700000000.5)
    assert created.name == "rq_created" and created.value == 1700000000
    assert got["build"].samples[0].name == "build_info"
    assert got["state"].type == "stateset"


def test_openmetrics_sample_without_metadata_is_unknown():
    assert families("x 1\n# EOF\n", OPENMETRICS)["x"].type == "unknown"


# -- drops with warnings ----------------------------------------------------------------------------


def test_duplicate_series_is_dropped_with_a_counted_warning():
    exposition = parse_exposition('m{a="1",b="2"} 1\nm{b="2",a="1"} 2\nm{a="2"} 3\n')
    (family,) = exposition.families
    assert [s.value for s in family.samples] == [1, 3]
    assert exposition.dropped == 1
    assert "line 2" in exposition.warnings[0] and "duplicate" in exposition.warnings[0]


@pytest.mark.parametrize("bucket", ['h_bucket{x="1"} 1', 'h_bucket{le="fast"} 1', 'h_bucket{le="NaN"} 1'])
def test_bucket_without_usable_le_is_dropped_and_the_rest_kept(bucket):
    exposition = parse_exposition(f'# TYPE h histogram\n{bucket}\nh_bucket{{le="+Inf"}} 2\nh_sum 1\nh_count 2\n')
    (family,) = exposition.families
    assert [s.name for s in family.samples] == ["h_bucket", "h_sum", "h_count"]
    assert exposition.dropped == 1 and "le" in exposition.warnings[0]


def test_summary_sample_with_bad_quantile_is_dropped():
    exposition = parse_exposition('# TYPE s summary\ns{quantile="1.5"} 1\ns{quantile="0.5"} 2\ns_count 3\n')
    assert [s.value for s in exposition.families[0].samples] == [2, 3]
    assert exposition.dropped == 1


def test_sample_named_like_a_histogram_family_is_dropped():
    exposition = parse_exposition('# TYPE h histogram\nh 1\nh_bucket{le="+Inf"} 1\nh_count 1\n')
    assert [s.name for s in exposition.families[0].samples] == ["h_bucket", "h_count"]
    assert exposition.dropped == 1 and "does not fit histogram" in exposition.warnings[0]


# -- errors with line numbers -----------------------------------------------------------------------


def test_unterminated_quote_reports_line_number():
    error = error_for('# TYPE m gauge\nm{a="1"} 1\nm{a="2} 2\nm{a="3"} 3\n')
    assert error.line == 3
    assert "unterminated" in str(error) and error.line == 3 and error.describe().startswith("line 3: ")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("m twelve", "invalid sample value"),
        ("m 1_000", "invalid sample value"),
        ("m", "no value"),
        ("9m 1", "metric name"),
        ("m-x 1", "invalid character"),
        ('m{9a="x"} 1', "invalid label name"),
        ('m{a=x} 1', "double-quoted"),
        ('m{a="x" b="y"} 1', "expected ','"),
        ('m{a="x",a="y"} 1', "appears twice"),
        ('m{,a="x"} 1', "stray ','"),
        ("m 1 1.5", "timestamp"),
        ("m 1 99999999999999999", "out of range"),
        ('m{a="x"} 1 # {trace_id="1"} 1', "only allowed in OpenMetrics"),
        ("m 1 2 3", "unexpected text"),
        ("# TYPE m bogus", "unknown metric type 'bogus'"),
        ("# TYPE m", "does not say which type"),
        ("# TYPE 9m gauge", "invalid metric name"),
        ("<!DOCTYPE html>", "HTML"),
    ],
)
def test_invalid_prometheus_line_reports_line_number_and_problem(line, words):
    error = error_for(f"ok 1\n{line}\nok2 2\n")
    assert error.line == 2
    assert words in str(error)


def test_html_error_page_is_rejected_on_its_first_line():
    error = error_for("<html>\n<head><title>503 Service Unavailable</title></head>\n</html>\n")
    assert error.line == 1 and "HTML" in str(error)


def test_conflicting_type_lines_are_an_error():
    error = error_for("# TYPE m gauge\nm 1\n# TYPE m counter\n")
    assert error.line == 3 and "conflicting TYPE" in str(error)


def test_invalid_utf8_reports_its_line():
    error = error_for(b'a 1\nb{x="\xff\xfe"} 2\n')
    assert error.line == 2 and "UTF-8" in str(error)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("# TYPE m gauge\nm 1\n", 2, "missing '# EOF'"),
        ("m 1\n# EOF\nn 2\n", 3, "after '# EOF'"),
        ("m 1\n\nn 2\n# EOF\n", 2, "blank line"),
        ("# TYPE m untyped\n# EOF\n", 1, "unknown metric type"),
        ("# a comment\n# EOF\n", 1, "OpenMetrics allows only"),
        ("m 1 NaN\n# EOF\n", 1, "timestamp"),
        ("m  1\n# EOF\n", 1, "one space"),
        ("a 1\nb 1\na{x=\"1\"} 1\n# EOF\n", 3, "interleaved"),
        ("m 1\n# HELP m late\n# EOF\n", 2, "after its samples"),
        ("# TYPE c counter\nc 1\n# EOF\n", 2, "does not fit counter"),
        ('# TYPE c counter\nc_total 1 # trace_id="1" 1\n# EOF\n', 2, "exemplar"),
    ],
)
def test_invalid_openmetrics_reports_line_number_and_problem(text, line, words):
    error = error_for(text, OPENMETRICS)
    assert error.line == line, str(error)
    assert words in str(error)


def test_body_that_is_not_bytes_or_text_still_raises_exposition_error():
    with pytest.raises(ExpositionError):
        parse_exposition(12345)  # type: ignore[arg-type]


def test_samples_keep_line_order_when_only_some_lines_carry_timestamps():
    text = '# TYPE m gauge\nm{a="1"} 1\nm{a="2"} 2 1700000000000\nm{a="3"} 3\nm{a="4"} 4 1700000000001\n'
    family = parse_exposition(text).families[0]
    assert family.sample_count == 4  # counted before the samples are read
    samples = family.samples
    assert [(s.labels["a"], s.value, s.timestamp_ms, s.line) for s in samples] == [
        ("1", 1.0, None, 2), ("2", 2.0, 1700000000000, 3), ("3", 3.0, None, 4), ("4", 4.0, 1700000000001, 5),
    ]
    assert family.samples is samples and family.sample_count == 4


def test_family_samples_can_be_extended_and_replaced_after_parsing():
    exposition = parse_exposition('# TYPE m counter\nm_total{a="1"} 1\nm_total{a="2"} 2\n')
    family = exposition.families[0]
    family.samples.append(Sample("m_total", {"a": "3"}, 3.0))
    assert [s.labels["a"] for s in family.samples] == ["1", "2", "3"]
    assert exposition.sample_count == 3
    family.samples = [s for s in family.samples if s.labels["a"] != "2"]
    assert [s.value for s in family.samples] == [1.0, 3.0] and exposition.sample_count == 2


def test_sample_names_come_from_the_columns_without_building_samples():
    text = (
        "# TYPE rq histogram\n"
        'rq_bucket{le="1"} 1\nrq_bucket{le="+Inf"} 2\nrq_sum 3\nrq_count 2\n'
        "# TYPE up gauge\nup 1\nup_extra 2 1700000000000\n"
    )
    families = {f.name: f for f in parse_exposition(text).families}
    histogram = families["rq"]
    assert histogram.plain_columns() is not None
    assert histogram.sample_names() == {"rq_bucket", "rq_sum", "rq_count"}
    assert histogram.plain_columns() is not None  # still columns: nothing was built
    for family in families.values():
        assert family.sample_names() == {sample.name for sample in family.samples}
