"""parse_exposition against prometheus_client's parsers, on generated and captured expositions.

Generated expositions stay inside what both parsers are meant to accept: every family in one block, each
sample name as prometheus_client's text parser groups it. The comparison normalises only prometheus_client's
documented differences:

- Prometheus text: a counter family loses ``_total`` from its name, and counter samples not already named
  ``..._total`` get ``_total`` appended; it also returns every sample without metadata as its own one-sample
  untyped family, so consecutive such families of one name are merged before comparing; and its ``Metric``
  renames type ``untyped`` to ``unknown``.
- Timestamps come back as float seconds (or ``Timestamp`` objects in OpenMetrics); ours are integer ms.
- Values may come back as ``int``; NaN compares unequal to itself, so NaN is compared as "both NaN".

Generated invalid expositions (one line of a valid one broken) must raise our ExpositionError naming that line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families as prom_families

from collectors.exposition import Exposition, parse_exposition
from omni_core.errors import ExpositionError

DATA = Path(__file__).resolve().parents[2] / "data" / "exposition"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RESERVED_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created", "_info", "_gcount", "_gsum")


# -- generated expositions -------------------------------------------------------------------------

@dataclass
class Series:
    labels: dict[str, str]
    values: list[float]  # one per sample the type needs
    timestamp: int | None = None  # ms


@dataclass
class Family:
    name: str
    type: str  # a TYPE word, or "none" for samples without metadata
    help: str | None
    series: list[Series] = field(default_factory=list)
    counter_total: bool = False  # Prometheus text: declare the counter as name_total
    unit: str = ""
    exemplar: tuple[dict[str, str], float, float | None] | None = None
    created: float | None = None


LABEL_VALUE_CHARS = st.characters(blacklist_categories=("Cs",))
AWKWARD_VALUES = st.one_of(
    st.text(LABEL_VALUE_CHARS, max_size=12),
    st.sampled_from(['\\', '"', "\n", "}", "{", ",", "=", "# ", " ", "a\\nb", 'x"} 1', "\\\\n", "é€😀", ""]),
)
label_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: n not in ("le", "quantile")
)
base_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,10}", fullmatch=True).filter(
    lambda n: not n.endswith(RESERVED_SUFFIXES) and not n.startswith("__")
)
special_floats = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-9, 1.5e300, 123456789.0])
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**53), 2**53).map(float), special_floats
)
helps = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=20).map(str.strip))


def label_sets(min_size: int = 1, max_size: int = 4) -> st.SearchStrategy[list[dict[str, str]]]:
    one = st.dictionaries(label_names, AWKWARD_VALUES, max_size=3)
    return st.lists(one, min_size=min_size, max_size=max_size, unique_by=lambda d: tuple(sorted(d.items())))


@st.composite
def prometheus_families(draw: st.DrawFn) -> list[Family]:
    names = draw(st.lists(base_names, min_size=1, max_size=6, unique=True))
    families = []
    for index, base in enumerate(names):
        name = f"{base}_{index}"
        kind = draw(st.sampled_from(["counter", "gauge", "histogram", "summary", "untyped", "none"]))
        family = Family(name, kind, None if kind == "none" else draw(helps))
        with_timestamps = draw(st.booleans())
        if kind == "counter":
            family.counter_total = draw(st.booleans())
        for labels in draw(label_sets()):
            if kind == "histogram":
                counts = sorted(draw(st.lists(st.integers(0, 1000), min_size=1, max_size=5)))
                family_values = [float(c) for c in counts] + [draw(values), float(counts[-1])]
            elif kind == "summary":
                quantile_values = draw(st.lists(values, min_size=1, max_size=3))
                family_values = quantile_values + [draw(values), float(draw(st.integers(0, 10**6)))]
            else:
                family_values = [draw(values)]
            ts = draw(st.integers(-(10**12), 9 * 10**12)) if with_timestamps else None
            family.series.append(Series(labels, family_values, ts))
        families.append(family)
    return families


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict[str, str], extra: tuple[str, str] | None = None) -> str:
    items = list(labels.items()) + ([extra] if extra else [])
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in items) + "}" if items else ""


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


BUCKET_BOUNDS = ("0.005", "0.25", "1", "2.5", "10")
QUANTILES = ("0.5", "0.9", "0.99")


def render_prometheus(families: list[Family]) -> str:
    lines: list[str] = []
    for family in families:
        declared = family.name + ("_total" if family.counter_total else "")
        if family.help is not None:
            escaped_help = family.help.replace("\\", "\\\\").replace("\n", "\\n")  # no \" escape in 0.0.4 HELP
            lines.append(f"# HELP {declared} {escaped_help}")
        if family.type != "none":
            lines.append(f"# TYPE {declared} {family.type}")
        for series in family.series:
            ts = f" {series.timestamp}" if series.timestamp is not None else ""
            if family.type == "histogram":
                *buckets, total, count = series.values
                bounds = BUCKET_BOUNDS[: len(buckets) - 1] + ("+Inf",)
                for bound, bucket in zip(bounds, buckets):
                    lines.append(f"{declared}_bucket{_labels(series.labels, ('le', bound))} {_number(bucket)}{ts}")
                lines.append(f"{declared}_sum{_labels(series.labels)} {_number(total)}{ts}")
                lines.append(f"{declared}_count{_labels(series.labels)} {_number(count)}{ts}")
            elif family.type == "summary":
                *quantiles, total, count = series.values
                for quantile, value in zip(QUANTILES, quantiles):
                    lines.append(f"{declared}{_labels(series.labels, ('quantile', quantile))} {_number(value)}{ts}")
                lines.append(f"{declared}_sum{_labels(series.labels)} {_number(total)}{ts}")
                lines.append(f"{declared}_count{_labels(series.labels)} {_number(count)}{ts}")
            else:
                lines.append(f"{declared}{_labels(series.labels)} {_number(series.values[0])}{ts}")
    return "\n".join(lines) + "\n"


# -- comparison --------------------------------------------------------------------------------------

def _same_value(ours: float, theirs: float) -> bool:
    return (math.isnan(ours) and math.isnan(float(theirs))) or ours == float(theirs)


def _ms(timestamp: object) -> int | None:
    if timestamp is None:
        return None
    if hasattr(timestamp, "sec"):
        return timestamp.sec * 1000 + round(timestamp.nsec / 1_000_000)  # type: ignore[attr-defined]
    return round(float(timestamp) * 1000)  # type: ignore[arg-type]


def normalised_reference(text: str, *, openmetrics: bool) -> list[tuple]:
    """prometheus_client's reading, with its documented differences undone."""
    out: list[tuple] = []
    declared_counters = iter(_declared_counters(text))
    for metric in (om_families if openmetrics else prom_families)(text):
        name, type_ = metric.name, metric.type
        if not openmetrics and type_ == "unknown":
            type_ = "untyped"  # its Metric class renames the Prometheus text word to the OpenMetrics one
        samples = [(s.name, dict(s.labels), s.value, _ms(s.timestamp), s.exemplar) for s in metric.samples]
        if not openmetrics and type_ == "counter":
            # Undo the munging: a declared "x_total" lost its suffix; the samples of a declared "x" gained it.
            declared = next(declared_counters)
            assert declared in (name, name + "_total")
            if declared == name + "_total":
                name = declared
            else:
                samples = [(s[0][: -len("_total")], *s[1:]) for s in samples]
        if not openmetrics and type_ == "untyped" and out and out[-1][:2] == (name, type_) and _undeclared(text, name):
            out[-1][3].extend(samples)  # its one-sample families of a name without metadata, merged
            continue
        out.append((name, type_, metric.documentation, samples, getattr(metric, "unit", "")))
    return out


def _declared_counters(text: str) -> list[str]:
    """Names of the counter TYPE lines, in order, repeats of the previous one left out."""
    names: list[str] = []
    for line in text.split("\n"):
        parts = line.split()
        if parts[:2] == ["#", "TYPE"] and parts[3:] == ["counter"] and (not names or names[-1] != parts[2]):
            names.append(parts[2])
    return names


def _undeclared(text: str, name: str) -> bool:
    return f"# TYPE {name} " not in text and f"# HELP {name} " not in text and f"# HELP {name}\n" not in text


def assert_same(ours: Exposition, reference: list[tuple], *, openmetrics: bool) -> None:
    assert len(ours.families) == len(reference), ([f.name for f in ours.families], [r[0] for r in reference])
    for family, (name, type_, help_, samples, unit) in zip(ours.families, reference):
        assert (family.name, family.type) == (name, type_)
        assert family.help == help_
        if openmetrics:
            assert family.unit == unit
        assert len(family.samples) == len(samples), family.name
        for sample, (s_name, s_labels, s_value, s_ms, s_exemplar) in zip(family.samples, samples):
            assert sample.name == s_name
            assert sample.labels == s_labels
            assert _same_value(sample.value, s_value), (sample, s_value)
            assert sample.timestamp_ms == s_ms
            if openmetrics:
                assert (sample.exemplar is None) == (s_exemplar is None)
                if s_exemplar is not None:
                    assert sample.exemplar.labels == s_exemplar.labels
                    assert _same_value(sample.exemplar.value, s_exemplar.value)
                    assert _ms(sample.exemplar.timestamp) == _ms(s_exemplar.timestamp)
    assert ours.dropped == 0 and ours.warnings == []


@SETTINGS
@given(prometheus_families())
def test_generated_prometheus_text_matches_prometheus_client(families):
    text = render_prometheus(families)
    ours = parse_exposition(text.encode())
    assert_same(ours, normalised_reference(text, openmetrics=False), openmetrics=False)


# -- OpenMetrics -------------------------------------------------------------------------------------

om_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**9), 10**9).map(float))
non_negative = st.one_of(st.floats(min_value=0, allow_infinity=True), st.integers(0, 10**9).map(float))
om_seconds = st.integers(0, 4 * 10**12).map(lambda ms: f"{ms // 1000}.{ms % 1000:03d}")
exemplar_labels = st.dictionaries(
    st.sampled_from(["trace_id", "span_id", "user"]), st.text("0123456789abcdef", max_size=16), max_size=3
)
exemplar_seconds = st.one_of(st.none(), st.integers(0, 10**9).map(lambda ms: ms / 1000))


@st.composite
def openmetrics_families(draw: st.DrawFn) -> list[Family]:
    names = draw(st.lists(base_names, min_size=1, max_size=6, unique=True))
    families = []
    for index, base in enumerate(names):
        kind = draw(st.sampled_from(
            ["counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown", "none"]
        ))
        unit = ""
        if kind in ("counter", "gauge", "histogram", "summary"):
            unit = draw(st.sampled_from(["", "seconds", "bytes"]))
        name = f"{base}_{index}" + (f"_{unit}" if unit else "")
        if kind == "stateset":
            name = "s" + name.replace(":", "_")  # a stateset's name is also a label name (no ":" or "__")
        family = Family(name, kind, None if kind == "none" else draw(helps), unit=unit)
        ts = draw(st.one_of(st.none(), om_seconds))
        for labels in draw(label_sets(max_size=1 if kind == "none" else 3)):
            if kind == "stateset":
                labels = {k: v for k, v in labels.items() if k != name}
            if kind in ("histogram", "gaugehistogram"):
                counts = sorted(draw(st.lists(st.integers(0, 1000), min_size=1, max_size=5)))
                vals = [float(c) for c in counts] + [draw(non_negative), float(counts[-1])]
            elif kind == "summary":
                quantile_values = draw(st.lists(non_negative, min_size=1, max_size=3))
                vals = quantile_values + [draw(non_negative), float(draw(st.integers(0, 10**6)))]
            elif kind == "counter":
                vals = [draw(non_negative)]
            elif kind == "stateset":
                vals = [float(draw(st.integers(0, 1)))]
            elif kind == "info":
                vals = [1.0]
            else:
                vals = [draw(om_values)]
            family.series.append(Series(labels, vals, ts))  # type: ignore[arg-type]
        if kind in ("counter", "histogram") and draw(st.booleans()):
            family.exemplar = (draw(exemplar_labels), draw(om_values), draw(exemplar_seconds))
        if kind in ("counter", "histogram", "summary") and draw(st.booleans()):
            family.created = float(draw(st.integers(0, 2 * 10**9)))
        families.append(family)
    return families


def render_openmetrics(families: list[Family]) -> str:
    lines: list[str] = []
    for family in families:
        name = family.name
        if family.type != "none":
            lines.append(f"# TYPE {name} {family.type}")
        if family.unit:
            lines.append(f"# UNIT {name} {family.unit}")
        if family.help is not None:
            lines.append(f"# HELP {name} {_escape(family.help)}")
        exemplar = ""
        if family.exemplar is not None:
            ex_labels, ex_value, ex_ts = family.exemplar
            exemplar = f" # {_labels(ex_labels) or '{}'} {_number(ex_value)}"
            if ex_ts is not None:
                exemplar += f" {ex_ts!r}"
        for series in family.series:
            ts = f" {series.timestamp}" if series.timestamp is not None else ""
            created = None
            if family.created is not None:
                created = f"{name}_created{_labels(series.labels)} {_number(family.created)}{ts}"
            if family.type in ("histogram", "gaugehistogram"):
                *buckets, total, count = series.values
                bounds = BUCKET_BOUNDS[: len(buckets) - 1] + ("+Inf",)
                for i, (bound, bucket) in enumerate(zip(bounds, buckets)):
                    ex = exemplar if i == 0 else ""
                    lines.append(f"{name}_bucket{_labels(series.labels, ('le', bound))} {_number(bucket)}{ts}{ex}")
                g = "g" if family.type == "gaugehistogram" else ""
                lines.append(f"{name}_{g}count{_labels(series.labels)} {_number(count)}{ts}")
                lines.append(f"{name}_{g}sum{_labels(series.labels)} {_number(total)}{ts}")
                if created:
                    lines.append(created)
            elif family.type == "summary":
                *quantiles, total, count = series.values
                for quantile, value in zip(QUANTILES, quantiles):
                    lines.append(f"{name}{_labels(series.labels, ('quantile', quantile))} {_number(value)}{ts}")
                lines.append(f"{name}_sum{_labels(series.labels)} {_number(total)}{ts}")
                lines.append(f"{name}_count{_labels(series.labels)} {_number(count)}{ts}")
                if created:
                    lines.append(created)
            elif family.type == "counter":
                lines.append(f"{name}_total{_labels(series.labels)} {_number(series.values[0])}{ts}{exemplar}")
                if created:
                    lines.append(created)
            elif family.type == "info":
                lines.append(f"{name}_info{_labels(series.labels)} 1{ts}")
            elif family.type == "stateset":
                lines.append(f"{name}{_labels(series.labels, (name, 'a'))} {_number(series.values[0])}{ts}")
            else:
                lines.append(f"{name}{_labels(series.labels)} {_number(series.values[0])}{ts}")
    return "\n".join(lines + ["# EOF"]) + "\n"


@SETTINGS
@given(openmetrics_families())
def test_generated_openmetrics_matches_prometheus_client(families):
    text = render_openmetrics(families)
    ours = parse_exposition(text.encode(), OPENMETRICS)
    assert_same(ours, normalised_reference(text, openmetrics=True), openmetrics=True)


# -- captured fixtures ---------------------------------------------------------------------------------

FIXTURES = sorted(DATA.glob("*.prom"))


def test_every_fixture_keeps_its_source_comment():
    assert FIXTURES
    for path in FIXTURES:
        assert path.read_text().startswith(("# source:", "# SOURCE:")), path.name


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_captured_exposition_matches_prometheus_client(path):
    text = path.read_text()
    ours = parse_exposition(path.read_bytes(), "text/plain; version=0.0.4")
    assert ours.sample_count > 0
    assert_same(ours, normalised_reference(text, openmetrics=False), openmetrics=False)


# -- generated invalid expositions ---------------------------------------------------------------------

def _split_sample(line: str) -> tuple[str, str]:
    """A rendered sample line as (name and labels, " value[ timestamp]")."""
    cut = line.rindex("}") + 1 if "{" in line else line.index(" ")
    return line[:cut], line[cut:]


def _unterminated(head: str) -> str | None:
    if "{" not in head:
        return None
    closing = head.rindex('"')
    return head[:closing] + head[closing + 1 :] + " 1"


BREAKAGES = {
    "unterminated quote": _unterminated,
    "non-numeric value": lambda head: head + " twelve",
    "bad metric name": lambda head: "9" + head + " 1",
    "bad label name": lambda head: head.replace("{", '{9bad="x",', 1) + " 1" if "{" in head else None,
    "html page": lambda head: "<html><body>502 Bad Gateway</body></html>",
    "stray brace": lambda head: head.replace("{", "{{", 1) + " 1" if "{" in head else None,
    "float timestamp": lambda head: head + " 1 1700000000.5",
    "exemplar": lambda head: head + ' 1 # {trace_id="ab"} 1',
    "missing value": lambda head: head,
}


@SETTINGS
@given(prometheus_families(), st.sampled_from(sorted(BREAKAGES)), st.data())
def test_broken_prometheus_line_raises_exposition_error_naming_it(families, breakage, data):
    lines = render_prometheus(families).split("\n")[:-1]
    sample_lines = [i for i, line in enumerate(lines) if not line.startswith("#")]
    index = data.draw(st.sampled_from(sample_lines))
    broken = BREAKAGES[breakage](_split_sample(lines[index])[0])
    if broken is None:
        return
    lines[index] = broken
    with pytest.raises(ExpositionError) as caught:
        parse_exposition("\n".join(lines) + "\n")
    assert caught.value.line == index + 1, (breakage, broken, str(caught.value))
    assert caught.value.describe().startswith(f"line {index + 1}: ")


@SETTINGS
@given(prometheus_families(), st.sampled_from(["bogus", "Counter", "histogram summary"]))
def test_unknown_type_word_raises_naming_the_type_line(families, word):
    lines = render_prometheus(families).split("\n")[:-1]
    lines.insert(0, f"# TYPE zzz_extra {word}")
    with pytest.raises(ExpositionError) as caught:
        parse_exposition("\n".join(lines) + "\n")
    assert caught.value.line == 1


@SETTINGS
@given(openmetrics_families(), st.sampled_from(["drop eof", "blank line", "after eof", "bad timestamp", "untyped"]))
def test_broken_openmetrics_raises_exposition_error_naming_the_line(families, breakage):
    lines = render_openmetrics(families).split("\n")[:-1]
    if breakage == "drop eof":
        lines.pop()
        expected = len(lines)
    elif breakage == "blank line":
        lines.insert(1, "")
        expected = 2
    elif breakage == "after eof":
        lines.append("late_sample 1")
        expected = len(lines)
    elif breakage == "bad timestamp":
        sample = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        lines[sample] = lines[sample].split(" # ")[0] + (" NaN" if lines[sample].count(" ") < 2 else "x")
        expected = sample + 1
    else:
        lines.insert(0, "# TYPE zzz_extra untyped")
        expected = 1
    with pytest.raises(ExpositionError) as caught:
        parse_exposition("\n".join(lines) + "\n", OPENMETRICS)
    assert caught.value.line == expected, (breakage, str(caught.value))
