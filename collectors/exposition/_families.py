"""Which family each sample joins, decided from the metadata lines seen so far.

A sample joins the family whose ``# TYPE`` (or ``# HELP``/``# UNIT``) names either the sample itself or the
sample minus a suffix that family's type defines (``_total`` for a counter, ``_bucket`` for a histogram...).
Anything else becomes a family of its own, typed ``untyped`` (``unknown`` in OpenMetrics) and named after the
sample. Names are never rewritten: the exposed sample name is what gets stored.

The decision is made once per distinct sample name and kept in :attr:`FamilyTable.targets`, so the parser's
loop pays one dict lookup when the name changes and nothing otherwise. A metadata line drops the decisions it
could change.
"""

from __future__ import annotations

from typing import Callable

from omni_core.errors import ExpositionError

from ._labels import bound_is_usable
from ._model import MetricFamily, Sample, SampleColumns

__all__ = ["FamilyTable", "Target"]

PROMETHEUS_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
OPENMETRICS_TYPES = ("counter", "gauge", "gaugehistogram", "histogram", "info", "stateset", "summary", "unknown")

# type -> {sample-name suffix: label every such sample must carry with a usable value (or None)}
_PROMETHEUS_MEMBERS: dict[str, dict[str, str | None]] = {
    "counter": {"": None, "_total": None, "_created": None},
    "gauge": {"": None},
    "untyped": {"": None},
    "histogram": {"_bucket": "le", "_sum": None, "_count": None, "_created": None},
    "summary": {"": "quantile", "_sum": None, "_count": None, "_created": None},
}
_OPENMETRICS_MEMBERS: dict[str, dict[str, str | None]] = {
    "counter": {"_total": None, "_created": None},
    "gauge": {"": None},
    "unknown": {"": None},
    "stateset": {"": None},
    "info": {"_info": None},
    "histogram": {"_bucket": "le", "_sum": None, "_count": None, "_created": None},
    "gaugehistogram": {"_bucket": "le", "_gcount": None, "_gsum": None},
    "summary": {"": "quantile", "_sum": None, "_count": None, "_created": None},
}
_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created", "_info", "_gcount", "_gsum")
_MAX_WARNINGS = 100


class _FamilyState:
    """Parser-side facts about one family that do not belong in :class:`MetricFamily`."""

    __slots__ = ("family", "typed", "implicit", "type_line", "series", "closed")

    def __init__(self, family: MetricFamily, *, typed: bool, implicit: bool, line: int) -> None:
        self.family = family
        self.typed = typed
        self.implicit = implicit
        self.type_line = line
        #: sample name -> ids of the shared label dicts already seen under it (duplicate detection)
        self.series: dict[str, set[int]] = {}
        self.closed = False


class Target:
    """Where samples of one name go: read field by field by the parser's loop.

    ``append`` takes a :class:`Sample`; ``add`` (None for a target whose samples are dropped)
    is the ``append`` of the family's :class:`SampleColumns`, which the fast loop calls with a
    plain sample's name, labels, value and line in turn.
    """

    __slots__ = ("state", "name", "append", "add", "seen", "check", "label")

    def __init__(
        self,
        state: _FamilyState,
        name: str,
        append: Callable[[Sample], None],
        columns: SampleColumns | None,
        seen: set[int],
        check: set[int] | None,
        label: str | None,
    ) -> None:
        self.state = state
        self.name = name
        self.append = append
        self.add = columns.append if columns is not None else None
        self.seen = seen
        #: ids of label dicts whose ``label`` was already validated (None: nothing to validate)
        self.check = check
        self.label = label


class FamilyTable:
    """The families of one exposition, in order of first appearance, plus the drops and their reasons."""

    def __init__(self, *, openmetrics: bool, usable: dict[str, set[int]]) -> None:
        """``usable`` is :attr:`LabelSets.usable`: the label dicts whose ``le``/``quantile`` already passed."""
        self.openmetrics = openmetrics
        self.families: list[MetricFamily] = []
        self.targets: dict[str, Target] = {}
        self.dropped = 0
        self.warnings: list[str] = []
        self._members = _OPENMETRICS_MEMBERS if openmetrics else _PROMETHEUS_MEMBERS
        self._default_type = "unknown" if openmetrics else "untyped"
        self._by_name: dict[str, _FamilyState] = {}
        #: family name -> sample names whose decision a declaration of that name could change
        self._decided_under: dict[str, list[str]] = {}
        self._usable = usable
        self._current: _FamilyState | None = None

    # -- metadata -------------------------------------------------------------------------------

    def declare(self, keyword: str, name: str, value: str, line: int) -> None:
        """Apply a ``# TYPE``, ``# HELP`` or ``# UNIT`` line."""
        state = self._by_name.get(name)
        if self.openmetrics:
            if state is not None and (state.family.sample_count or state.closed):
                raise ExpositionError(
                    f"# {keyword} for {name!r} comes after its samples (OpenMetrics puts metadata first)", line=line
                )
        if keyword == "TYPE":
            state = self._declare_type(state, name, value, line)
        else:
            if state is None:
                state = self._new_family(name, self._default_type, typed=False, implicit=False, line=line)
            if keyword == "HELP":
                state.family.help = value
            else:
                state.family.unit = value
        if self.openmetrics:
            self.enter(state, line)

    def _declare_type(self, state: _FamilyState | None, name: str, value: str, line: int) -> _FamilyState:
        if value not in self._members:
            allowed = OPENMETRICS_TYPES if self.openmetrics else PROMETHEUS_TYPES
            fmt = "OpenMetrics" if self.openmetrics else "Prometheus text 0.0.4"
            raise ExpositionError(
                f"unknown metric type {value!r} for {name!r} ({fmt} allows {', '.join(allowed)})", line=line
            )
        if state is None:
            return self._new_family(name, value, typed=True, implicit=False, line=line)
        family = state.family
        if state.typed:
            if family.type != value:
                raise ExpositionError(
                    f"conflicting TYPE for {name!r}: {value!r} here but {family.type!r} on line {state.type_line}",
                    line=line,
                )
            return state  # a repeated, identical TYPE line (older Envoys write them): nothing changes
        count = family.sample_count
        if count and self._members[value].get("", "none") is not None:
            # Samples exposed before their TYPE line do not fit a type whose bare name means something else.
            self.drop(count, f"{count} samples of {name!r} came before its TYPE", line)
            family.clear_samples()
            state.series.clear()
        family.type = value
        state.typed = True
        state.implicit = False
        state.type_line = line
        self._forget(name)
        return state

    def _new_family(self, name: str, type_: str, *, typed: bool, implicit: bool, line: int) -> _FamilyState:
        family = MetricFamily(name, type_)
        state = _FamilyState(family, typed=typed, implicit=implicit, line=line)
        self.families.append(family)
        self._by_name[name] = state
        self._forget(name)
        return state

    def _forget(self, name: str) -> None:
        """Drop the decisions a new or retyped family ``name`` could change."""
        decided = self._decided_under.pop(name, None)
        if decided:
            for sample_name in decided:
                self.targets.pop(sample_name, None)

    @property
    def current(self) -> _FamilyState | None:
        """OpenMetrics only: the family whose block is open."""
        return self._current

    def enter(self, state: _FamilyState, line: int) -> None:
        """OpenMetrics only: a family's lines must be contiguous."""
        current = self._current
        if state is current:
            return
        if state.closed:
            raise ExpositionError(
                f"samples of family {state.family.name!r} are interleaved with another family "
                "(OpenMetrics requires each family in one block)",
                line=line,
            )
        if current is not None:
            current.closed = True
        self._current = state

    # -- samples ----------------------------------------------------------------------------------

    def resolve(self, name: str, line: int) -> Target:
        """Decide (once per name) which family samples called ``name`` join."""
        by_name = self._by_name
        members = self._members
        decided_under = self._decided_under
        decided_under.setdefault(name, []).append(name)
        for suffix in _SUFFIXES:
            if name.endswith(suffix):
                decided_under.setdefault(name[: -len(suffix)], []).append(name)
                break
        state = by_name.get(name)
        if state is not None and "" in members[state.family.type]:
            return self._bind(name, state, "")
        for suffix in _SUFFIXES:
            if name.endswith(suffix):
                base = by_name.get(name[: -len(suffix)])
                if base is not None and suffix in members[base.family.type]:
                    return self._bind(name, base, suffix)
        if state is not None:
            expected = ", ".join(repr(name + s) for s in members[state.family.type])
            problem = f"sample {name!r} does not fit {state.family.type} family {name!r} (expected {expected})"
            if self.openmetrics:
                raise ExpositionError(problem, line=line)
            return self._bind_rejected(name, state, problem, line)
        state = self._new_family(name, self._default_type, typed=False, implicit=True, line=line)
        return self._bind(name, state, "")

    def _bind(self, name: str, state: _FamilyState, suffix: str) -> Target:
        label = self._members[state.family.type][suffix]
        seen = state.series.get(name)
        if seen is None:
            seen = state.series[name] = set()
        family = state.family
        check = self._usable[label] if label else None
        target = Target(state, name, family.sample_appender(), family.columns(), seen, check, label)
        self.targets[name] = target
        return target

    def _bind_rejected(self, name: str, state: _FamilyState, problem: str, line: int) -> Target:
        self._warn(f"line {line}: {problem}; such samples are dropped")

        def reject(_sample: Sample) -> None:
            self.dropped += 1

        target = Target(state, name, reject, None, set(), None, None)
        self.targets[name] = target
        return target

    def accepts(self, target: Target, labels: dict[str, str], line: int) -> bool:
        """Whether a ``_bucket`` sample's ``le`` (a summary sample's ``quantile``) can be converted."""
        label = target.label
        raw = labels.get(label)  # type: ignore[arg-type]
        if raw is None:
            self.drop(1, f"{target.name} sample without a {label!r} label dropped", line)
            return False
        if not bound_is_usable(label, raw):  # type: ignore[arg-type]
            self.drop(1, f"{target.name} sample with unusable {label}={raw!r} dropped", line)
            return False
        target.check.add(id(labels))  # type: ignore[union-attr]
        return True

    def duplicate(self, target: Target, labels: dict[str, str], line: int) -> None:
        shown = ",".join(f'{k}="{v}"' for k, v in labels.items())
        if len(shown) > 200:
            shown = shown[:200] + "..."
        self.drop(1, f"duplicate series {target.name}{{{shown}}} dropped (the first one is kept)", line)

    def drop(self, count: int, reason: str, line: int = 0) -> None:
        self.dropped += count
        self._warn(f"line {line}: {reason}" if line else reason)

    def _warn(self, message: str) -> None:
        if len(self.warnings) < _MAX_WARNINGS:
            self.warnings.append(message)
        elif len(self.warnings) == _MAX_WARNINGS:
            self.warnings.append("further warnings suppressed; see the dropped count")
