"""Hostile and broken bodies: parse_exposition stays bounded and raises only ExpositionError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors import ParseLimits
from collectors.exposition import parse_exposition
from omni_core.errors import ExpositionError, ExpositionLimitExceeded

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def test_body_above_max_body_bytes_is_refused():
    with pytest.raises(ExpositionLimitExceeded) as caught:
        parse_exposition(b"m 1\n" * 100, limits=ParseLimits(max_body_bytes=399))
    assert "max_body_bytes" in str(caught.value)
    assert parse_exposition(b"m 1\n" * 100, limits=ParseLimits(max_body_bytes=400)).sample_count == 1


@pytest.mark.parametrize("limit", [16, 100, 1000])
@pytest.mark.parametrize("at_line", [1, 37, 500])
def test_line_above_max_line_bytes_is_refused_naming_it(limit, at_line):
    lines = [f"m{i} {i}" for i in range(500)]
    lines[at_line - 1] = "long " + "9" * limit
    with pytest.raises(ExpositionLimitExceeded) as caught:
        parse_exposition("\n".join(lines) + "\n", limits=ParseLimits(max_line_bytes=limit))
    assert caught.value.line == at_line
    assert "max_line_bytes" in str(caught.value)


def test_line_of_exactly_max_line_bytes_is_accepted():
    body = ("a" * 8 + " 1\n") * 50  # lines of 10 bytes
    assert parse_exposition(body, limits=ParseLimits(max_line_bytes=10)).sample_count == 1


def test_line_limit_counts_bytes_not_characters():
    body = 'm{v="' + "é" * 10 + '"} 1\n'  # a line of 19 characters, 29 bytes
    parse_exposition(body, limits=ParseLimits(max_line_bytes=29))
    with pytest.raises(ExpositionLimitExceeded):
        parse_exposition(body, limits=ParseLimits(max_line_bytes=28))


def test_label_set_above_max_labels_is_refused():
    labels = ",".join(f'l{i}="{i}"' for i in range(6))
    with pytest.raises(ExpositionLimitExceeded) as caught:
        parse_exposition(f"ok 1\nm{{{labels}}} 1\n", limits=ParseLimits(max_labels=5))
    assert caught.value.line == 2 and "max_labels" in str(caught.value)
    assert parse_exposition(f"m{{{labels}}} 1\n", limits=ParseLimits(max_labels=6)).sample_count == 1


@pytest.mark.parametrize(
    "body",
    [
        'm{a="' + "\\" * 200_001 + "} 1\n",
        'm{a="' + '\\"' * 100_000 + "} 1\n",
        "m{" + 'a="b",' * 20_000 + "\n",
        "m{" * 50_000 + "\n",
        "m" + " " * 100_000 + "1 2 3\n",
        "#" * 100_000 + "\nm 1\n",
        "m{a=" + '"' * 100_001 + "} 1\n",
    ],
    ids=["backslashes", "escaped-quotes", "unclosed-set", "braces", "spaces", "hashes", "quotes"],
)
@pytest.mark.parametrize("content_type", ["", OPENMETRICS])
def test_pathological_lines_end_in_a_clean_error_or_result(body, content_type):
    try:
        parse_exposition(body, content_type)
    except ExpositionError as error:
        assert error.line >= 1


EXPOSITION_ALPHABET = st.sampled_from(list('m_:{}="\\, \t\n#0123456789.+-eEInfNaHELPTYPUcoutrg') + ["é", "\r", "\x00"])


@settings(max_examples=200, deadline=None)
@given(st.text(EXPOSITION_ALPHABET, max_size=200), st.sampled_from(["", OPENMETRICS]))
def test_arbitrary_text_gives_a_result_or_exposition_error(text, content_type):
    try:
        parse_exposition(text, content_type)
    except ExpositionError as error:
        assert error.line >= 0 and str(error)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["", OPENMETRICS]))
def test_arbitrary_bytes_give_a_result_or_exposition_error(body, content_type):
    try:
        parse_exposition(body, content_type)
    except ExpositionError:
        pass
