"""NumberPoints stands for a list of SDK number points: every way of reading it gives the same points."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics.export import Gauge, NumberDataPoint, Sum

from omni_core.datamodel import FlaggedNumberDataPoint, NumberPoints, SeriesAttributes, point_flags

MAPS = [{"cluster": "a"}, {"cluster": "b", "code": "5"}, {}]
STARTS = [100, 0, 250]
VALUES = (1.5, -0.0, float("inf"))
TIME = 1_700_000_000_000_000_000


def built_one_by_one() -> list[FlaggedNumberDataPoint]:
    return [
        FlaggedNumberDataPoint(attributes=m, start_time_unix_nano=s, time_unix_nano=TIME, value=v, exemplars=(), flags=0)
        for m, s, v in zip(MAPS, STARTS, VALUES)
    ]


def columns() -> NumberPoints:
    return NumberPoints(SeriesAttributes(MAPS), STARTS, TIME, VALUES)


def test_iterating_gives_the_points_a_producer_builds_one_by_one():
    points = list(columns())
    assert points == built_one_by_one()
    assert all(type(p) is FlaggedNumberDataPoint and isinstance(p, NumberDataPoint) for p in points)
    assert [p.__dict__ for p in points] == [p.__dict__ for p in built_one_by_one()]
    assert [point_flags(p) for p in points] == [0, 0, 0]


def test_indexing_and_slicing_read_the_same_points():
    expected = built_one_by_one()
    points = columns()
    assert len(points) == 3
    assert [points[i] for i in range(3)] == expected
    assert points[-1] == expected[-1]
    assert points[1:] == expected[1:]
    assert points[::-1] == expected[::-1]
    with pytest.raises(IndexError):
        points[3]


def test_it_compares_equal_to_an_equal_list_in_sdk_metric_data_and_unequal_otherwise():
    expected = built_one_by_one()
    assert columns() == expected and expected == columns()
    assert Gauge(columns()) == Gauge(expected)
    assert Sum(expected, 2, True) == Sum(columns(), 2, True)
    assert columns() != expected[:2]
    assert columns() != NumberPoints(SeriesAttributes(MAPS), STARTS, TIME + 1, VALUES)
    assert columns() != "abc"


def test_columns_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="2 start times"):
        NumberPoints(SeriesAttributes(MAPS), STARTS[:2], TIME, VALUES)


def test_series_attributes_are_a_tuple_of_the_maps_with_room_for_derived_facts():
    shared = SeriesAttributes(MAPS)
    assert shared == tuple(MAPS) and shared[1] is MAPS[1]
    assert shared.derived == {}
    assert SeriesAttributes(MAPS).derived is not shared.derived
