"""Attribute values rendered like the Collector's pcommon ``Value.AsString``, keys sorted.

Expected strings follow Go: ``strconv.FormatBool``, ``FormatInt`` base 10, doubles as
``encoding/json`` writes them (shortest digits; exponent form below 1e-6 or from 1e21 with a
one-digit negative exponent kept short), bytes as standard base64, slices and maps as
compact JSON with HTML characters escaped and map keys sorted.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporters.clickhouse._attributes import SortedMapCache, attribute_text, sorted_text_map


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("already text", "already text"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-42, "-42"),
        (2**63 - 1, "9223372036854775807"),
        (1.0, "1"),
        (0.5, "0.5"),
        (-0.0, "-0"),
        (100.0, "100"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (1.25e-10, "1.25e-10"),
        (0.1 + 0.2, "0.30000000000000004"),
        (float("nan"), "json: unsupported value: NaN"),
        (float("inf"), "json: unsupported value: +Inf"),
        (b"\x00\xffab", "AP9hYg=="),
        (("a", "b"), '["a","b"]'),
        ([1, 2.5, True], "[1,2.5,true]"),
        (["<a&b>"], '["\\u003ca\\u0026b\\u003e"]'),
        ({"z": 1, "a": "x"}, '{"a":"x","z":1}'),
        (None, ""),
    ],
)
def test_values_render_like_pcommon_as_string(value, text):
    assert attribute_text(value) == text


def test_maps_are_sorted_and_stringified_without_touching_the_input():
    labels = {"zone": "b", "code": 200, "az": "a"}
    assert list(sorted_text_map(labels).items()) == [("az", "a"), ("code", "200"), ("zone", "b")]
    assert list(labels) == ["zone", "code", "az"]
    assert sorted_text_map(None) == {} and sorted_text_map({}) == {}


def test_cache_keeps_values_that_compare_equal_but_render_differently_apart():
    cache = SortedMapCache()
    # 1 == 1.0 == True in Python; each must still render its own way.
    assert cache({"v": 1}) == {"v": "1"}
    assert cache({"v": True}) == {"v": "true"}
    assert cache({"v": 1.0}) == {"v": "1"}
    assert cache({"v": "1"}) == {"v": "1"}
    assert cache({"v": True}) == {"v": "true"}


def test_cache_returns_the_same_map_for_a_repeated_label_set_and_stays_bounded():
    cache = SortedMapCache(max_entries=2)
    first = cache({"b": "2", "a": "1"})
    assert cache({"b": "2", "a": "1"}) is first
    for i in range(5):
        cache({"i": str(i)})
    assert len(cache._maps) <= 2
    assert cache({"b": "2", "a": "1"}) == {"a": "1", "b": "2"}


def test_cache_handles_unhashable_sequence_values():
    assert SortedMapCache()({"zones": ["a", "b"]}) == {"zones": '["a","b"]'}


label_values = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.floats(allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(st.text(min_size=1, max_size=4), label_values, max_size=5), max_size=8))
def test_cache_gives_the_same_maps_as_sorting_every_time(label_sets):
    cache = SortedMapCache(max_entries=4)
    for labels in label_sets + label_sets:
        got = cache(labels)
        assert got == sorted_text_map(labels)
        assert list(got) == sorted(got)
