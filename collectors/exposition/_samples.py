"""Pieces both text readers share: blocks of lines, timestamps, and adding one sample the careful way.

The readers' fast loops inline :func:`add_sample`'s logic for the common case; this function is the
reference they fall back to for any line the fast path is not sure about, so both paths apply the same
rules (duplicate series, ``le``/``quantile`` checks) by construction.
"""

from __future__ import annotations

from typing import Iterator

from ._families import FamilyTable
from ._grammar import is_number, snippet
from ._labels import LabelSets
from ._model import Exemplar, Sample

__all__ = ["MAX_MS", "add_sample", "blocks", "explain_numbers", "line_text", "seconds_to_ms"]

#: Largest |timestamp| in ms whose nanosecond form still fits OTLP's signed 64-bit fields (year 2262).
MAX_MS = 9_223_372_036_854
#: Text is handled a block of lines at a time so only one block's line strings are alive at once.
_BLOCK_CHARS = 1 << 20


def blocks(text: str) -> Iterator[tuple[int, int]]:
    """Spans of whole lines of about ``_BLOCK_CHARS`` characters, each ending with its newline.

    ``text`` must end with a newline.
    """
    size = len(text)
    start = 0
    while start < size:
        end = text.find("\n", start + _BLOCK_CHARS)
        end = size if end < 0 else end + 1
        yield start, end
        start = end


def line_text(text: str, line: int) -> str:
    """The text of a 1-based line (error path only)."""
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)]


def seconds_to_ms(token: str) -> int:
    """An OpenMetrics timestamp (float seconds) as integer ms; ValueError when not a finite, storable time."""
    seconds = float(token)
    if seconds - seconds != 0.0:  # NaN or an infinity
        raise ValueError(token)
    ms = round(seconds * 1000)
    if not -MAX_MS <= ms <= MAX_MS:
        raise ValueError(token)
    return ms


def explain_numbers(name: str, fields: tuple[tuple[str, str], ...], *, openmetrics: bool) -> str:
    """Why converting the value or a timestamp of an otherwise well-formed sample failed."""
    for what, token in fields:
        if not token:
            continue
        if not is_number(token):
            return f"invalid {what} {snippet(token)} for {name!r}"
        if "timestamp" in what:
            if openmetrics:
                seconds = float(token)
                if seconds - seconds != 0.0:
                    return f"invalid {what} {snippet(token)} for {name!r} (must be a finite number of seconds)"
                if abs(seconds) * 1000 > MAX_MS:
                    return f"{what} {snippet(token)} for {name!r} is out of range"
            elif abs(int(token)) > MAX_MS:
                return f"{what} {snippet(token)} for {name!r} is out of range (past the year 2262)"
    return f"malformed sample line for {name!r}"


def add_sample(
    table: FamilyTable,
    label_sets: LabelSets,
    name: str,
    raw_labels: str,
    value: float,
    timestamp_ms: int | None,
    exemplar: Exemplar | None,
    line: int,
) -> None:
    """Put one parsed sample into its family, or drop it with a counted reason."""
    target = table.targets.get(name)
    if target is None:
        target = table.resolve(name, line)
    labels = label_sets.by_text.get(raw_labels)
    if labels is None:
        labels = label_sets.parse(raw_labels, line)
    key = id(labels)
    if key in target.seen:
        table.duplicate(target, labels, line)
        return
    if target.check is not None and key not in target.check and not table.accepts(target, labels, line):
        return
    target.seen.add(key)
    target.append(Sample(target.name, labels, value, timestamp_ms, exemplar, line))

