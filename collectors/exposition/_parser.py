"""Prometheus text 0.0.4 and OpenMetrics 1.0 parsing into :class:`Exposition`.

Why it is shaped like this: a scrape of an Envoy with a few hundred clusters is tens of thousands of lines,
every few seconds, on a small collector. So the per-line work in Python is kept to a handful of dict lookups:
one compiled expression splits a whole block of lines into tuples in C (see :mod:`._grammar`), label sets are
parsed once per distinct spelling and shared (:mod:`._labels`), and the family a sample name joins is decided
once per name (:mod:`._families`). Anything unusual leaves the fast path for code that explains the problem.

Contract with the conversion step: every sample in the result converts. A line that breaks the syntax raises
:class:`ExpositionError` naming the 1-based line, as Prometheus reports it; a sample that parses but cannot be
converted (a duplicate series, a ``_bucket`` without a numeric ``le``, a summary sample without a usable
``quantile``, a sample that collides with a family of another type) is dropped, counted in
``Exposition.dropped`` and explained in ``Exposition.warnings``, and the rest of the scrape is kept.
"""

from __future__ import annotations

from typing import Iterator

from omni_telemetry.errors import ExpositionError, ExpositionLimitExceeded

from .._target import ParseLimits
from ._families import FamilyTable
from ._grammar import (
    METRIC_NAME,
    OPENMETRICS_LINE,
    PROMETHEUS_LINE,
    explain_sample_line,
    is_number,
    snippet,
    unescape_help,
)
from ._labels import LabelSets
from ._model import Exemplar, Exposition, Sample

__all__ = ["parse_exposition"]

#: Largest |timestamp| in ms whose nanosecond form still fits OTLP's signed 64-bit fields (year 2262).
_MAX_MS = 9_223_372_036_854
#: Lines are matched a block at a time so the tuples of only one block are alive at once.
_BLOCK_CHARS = 1 << 20
#: OpenMetrics bounds an exemplar's label names and values to 128 characters in total.
_MAX_EXEMPLAR_LABEL_CHARS = 128


def parse_exposition(
    body: bytes | str, content_type: str = "", *, limits: ParseLimits = ParseLimits()
) -> Exposition:
    """Parse a scrape body; ``application/openmetrics-text`` selects OpenMetrics, anything else Prometheus text.

    Raises :class:`ExpositionError` (with ``line``) for invalid input and :class:`ExpositionLimitExceeded`
    for input beyond ``limits``; never any other exception.
    """
    openmetrics = "application/openmetrics-text" in content_type.lower()
    try:
        text = _decode(body, limits)
        table = FamilyTable(openmetrics=openmetrics)
        labels = LabelSets(limits.max_labels)
        if openmetrics:
            _parse_openmetrics(text, table, labels)
        else:
            _parse_prometheus(text, table, labels)
    except ExpositionError:
        raise
    except Exception as exc:  # the promise is ExpositionError only, whatever the input
        raise ExpositionError(f"could not parse the exposition ({type(exc).__name__}: {exc})") from exc
    return Exposition(
        table.families, "openmetrics" if openmetrics else "prometheus", table.dropped, table.warnings
    )


# -- body -------------------------------------------------------------------------------------------


def _decode(body: bytes | str, limits: ParseLimits) -> str:
    """Check the size bounds on the raw bytes, then decode strictly as UTF-8."""
    if isinstance(body, str):
        text = body
        raw: bytes | str = body
        if not body.isascii():
            try:
                raw = body.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ExpositionError(
                    "text contains characters that are not valid Unicode (lone surrogates)",
                    line=body.count("\n", 0, exc.start) + 1,
                ) from None
    else:
        raw = bytes(body)
    if len(raw) > limits.max_body_bytes:
        raise ExpositionLimitExceeded(
            f"body is {len(raw)} bytes, above the limit of {limits.max_body_bytes} (ParseLimits.max_body_bytes)"
        )
    _check_line_lengths(raw, limits.max_line_bytes)
    if isinstance(raw, bytes) and not isinstance(body, str):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ExpositionError(
                f"body is not valid UTF-8 (byte {exc.start} of the body)", line=raw.count(b"\n", 0, exc.start) + 1
            ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if text and not text.endswith("\n"):
        text += "\n"
    return text


def _check_line_lengths(raw: bytes | str, limit: int) -> None:
    """Reject any line longer than ``limit`` bytes, visiting only O(len/limit) windows in the normal case.

    The body is cut at newlines into windows of about ``limit/2``; a window no longer than ``limit`` cannot
    hold an over-long line, so only longer windows are walked line by line.
    """
    size = len(raw)
    if size <= limit:
        return
    newline = b"\n" if isinstance(raw, bytes) else "\n"
    step = max(limit // 2, 1)
    pos = 0
    while pos < size:
        end = raw.find(newline, pos + step)  # type: ignore[arg-type]
        if end < 0:
            end = size
        if end - pos > limit:
            start = pos
            while start < end:
                stop = raw.find(newline, start, end)  # type: ignore[arg-type]
                if stop < 0:
                    stop = end
                if stop - start > limit:
                    raise ExpositionLimitExceeded(
                        f"line is {stop - start} bytes long, above the limit of {limit} (ParseLimits.max_line_bytes)",
                        line=raw.count(newline, 0, start) + 1,  # type: ignore[arg-type]
                    )
                start = stop + 1
        pos = end + 1


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    """Spans of whole lines of about ``_BLOCK_CHARS`` characters; ``text`` ends with a newline."""
    size = len(text)
    start = 0
    while start < size:
        end = text.find("\n", start + _BLOCK_CHARS)
        end = size if end < 0 else end + 1
        yield start, end
        start = end


def _line_text(text: str, line: int) -> str:
    """The text of a 1-based line (error path only)."""
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)]


def _explain_numbers(name: str, fields: tuple[tuple[str, str], ...], *, openmetrics: bool) -> str:
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
                if abs(seconds) * 1000 > _MAX_MS:
                    return f"{what} {snippet(token)} for {name!r} is out of range"
            elif abs(int(token)) > _MAX_MS:
                return f"{what} {snippet(token)} for {name!r} is out of range"
    return f"malformed sample line for {name!r}"


# -- Prometheus text 0.0.4 --------------------------------------------------------------------------


def _prometheus_comment(table: FamilyTable, comment: str, line: int) -> None:
    parts = comment.split(None, 2)
    if not parts or parts[0] not in ("HELP", "TYPE"):
        return  # an ordinary comment
    keyword = parts[0]
    if len(parts) < 2:
        raise ExpositionError(f"# {keyword} line without a metric name", line=line)
    name = parts[1]
    if not METRIC_NAME.fullmatch(name):
        raise ExpositionError(f"invalid metric name {snippet(name)} in # {keyword} line", line=line)
    rest = parts[2].rstrip() if len(parts) == 3 else ""
    if keyword == "TYPE":
        if not rest:
            raise ExpositionError(f"# TYPE line for {name!r} does not say which type", line=line)
        table.declare("TYPE", name, rest, line)
    else:
        table.declare("HELP", name, unescape_help(rest, openmetrics=False), line)


def _parse_prometheus(text: str, table: FamilyTable, label_sets: LabelSets) -> None:
    targets = table.targets
    resolve = table.resolve
    by_text = label_sets.by_text
    parse_labels = label_sets.parse
    sample_type = Sample
    line = 0
    prev = None
    # Bound by the first sample; only read after `prev` is set.
    name_out = append = seen = check = target = None
    for start, end in _blocks(text):
        rows = PROMETHEUS_LINE.findall(text, start, end)
        name = val = ts = ""
        try:
            for name, raw_labels, val, ts, comment, other in rows:
                line += 1
                if name:
                    if name != prev:
                        target = targets.get(name) or resolve(name, line)
                        name_out = target.name
                        append = target.append
                        seen = target.seen
                        check = target.check
                        prev = name
                    labels = by_text.get(raw_labels)
                    if labels is None:
                        labels = parse_labels(raw_labels, line)
                    key = id(labels)
                    if key in seen:
                        table.duplicate(target, labels, line)
                        continue
                    if check is not None and key not in check and not table.accepts(target, labels, line):
                        continue
                    seen.add(key)
                    if ts:
                        ms = int(ts)
                        if not -_MAX_MS <= ms <= _MAX_MS:
                            raise ValueError(ts)
                        append(sample_type(name_out, labels, float(val), ms))
                    else:
                        append(sample_type(name_out, labels, float(val)))
                elif comment:
                    _prometheus_comment(table, comment, line)
                    prev = None
                elif other and not other.isspace():
                    raise ExpositionError(explain_sample_line(other, openmetrics=False), line=line)
        except ExpositionError:
            raise
        except ValueError:
            fields = (("sample value", val), ("timestamp", ts))
            raise ExpositionError(_explain_numbers(name, fields, openmetrics=False), line=line) from None
        except Exception as exc:
            raise ExpositionError(f"could not parse line ({type(exc).__name__}: {exc})", line=line) from exc


# -- OpenMetrics 1.0 --------------------------------------------------------------------------------


def _openmetrics_comment(table: FamilyTable, comment: str, line: int) -> None:
    keyword, _, rest = comment[1:].partition(" ")
    if not comment.startswith(" ") or keyword not in ("HELP", "TYPE", "UNIT"):
        raise ExpositionError(
            f"unexpected comment {snippet('#' + comment)}: OpenMetrics allows only '# HELP', '# TYPE', "
            "'# UNIT' and '# EOF' lines",
            line=line,
        )
    name, _, value = rest.partition(" ")
    if not METRIC_NAME.fullmatch(name):
        raise ExpositionError(f"invalid metric name {snippet(name)} in # {keyword} line", line=line)
    if keyword == "HELP":
        value = unescape_help(value, openmetrics=True)
    elif not value:
        raise ExpositionError(f"# {keyword} line for {name!r} has no value", line=line)
    table.declare(keyword, name, value, line)


def _seconds_to_ms(token: str) -> int:
    seconds = float(token)
    if seconds - seconds != 0.0:  # NaN or an infinity
        raise ValueError(token)
    ms = round(seconds * 1000)
    if not -_MAX_MS <= ms <= _MAX_MS:
        raise ValueError(token)
    return ms


def _exemplar(
    table: FamilyTable, label_sets: LabelSets, raw_labels: str, value: str, ts: str, line: int
) -> Exemplar | None:
    labels = label_sets.parse_unshared(raw_labels, line)
    if sum(len(k) + len(v) for k, v in labels.items()) > _MAX_EXEMPLAR_LABEL_CHARS:
        table.drop(0, f"exemplar labels longer than {_MAX_EXEMPLAR_LABEL_CHARS} characters; exemplar dropped", line)
        return None
    timestamp = None
    if ts:
        timestamp = float(ts)
        if timestamp - timestamp != 0.0:
            raise ValueError(ts)
    return Exemplar(labels, float(value), timestamp)


def _parse_openmetrics(text: str, table: FamilyTable, label_sets: LabelSets) -> None:
    targets = table.targets
    resolve = table.resolve
    by_text = label_sets.by_text
    parse_labels = label_sets.parse
    sample_type = Sample
    line = 0
    eof = 0
    prev = None
    current = None
    name_out = append = seen = check = target = None
    for start, end in _blocks(text):
        rows = OPENMETRICS_LINE.findall(text, start, end)
        name = val = ts = ex_val = ex_ts = ""
        try:
            for name, raw_labels, val, ts, ex_labels, ex_val, ex_ts, comment, other in rows:
                line += 1
                if eof:
                    raise ExpositionError("content after '# EOF' (it must be the last line)", line=line)
                if name:
                    if name != prev:
                        target = targets.get(name) or resolve(name, line)
                        if target.state is not current:
                            table.enter(target.state, line)
                            current = target.state
                        name_out = target.name
                        append = target.append
                        seen = target.seen
                        check = target.check
                        prev = name
                    labels = by_text.get(raw_labels)
                    if labels is None:
                        labels = parse_labels(raw_labels, line)
                    key = id(labels)
                    if key in seen:
                        table.duplicate(target, labels, line)
                        continue
                    if check is not None and key not in check and not table.accepts(target, labels, line):
                        continue
                    seen.add(key)
                    exemplar = _exemplar(table, label_sets, ex_labels, ex_val, ex_ts, line) if ex_val else None
                    append(sample_type(name_out, labels, float(val), _seconds_to_ms(ts) if ts else None, exemplar))
                elif comment == " EOF":
                    eof = line
                elif comment:
                    _openmetrics_comment(table, comment, line)
                    prev = None
                    current = table.current
                else:
                    bad = _line_text(text, line)
                    if bad.startswith("#"):
                        raise ExpositionError(
                            "a bare '#' line: OpenMetrics allows only '# HELP', '# TYPE', '# UNIT' and '# EOF'",
                            line=line,
                        )
                    raise ExpositionError(explain_sample_line(bad, openmetrics=True), line=line)
        except ExpositionError:
            raise
        except ValueError:
            fields = (("sample value", val), ("timestamp", ts), ("exemplar value", ex_val), ("exemplar timestamp", ex_ts))
            raise ExpositionError(_explain_numbers(name, fields, openmetrics=True), line=line) from None
        except Exception as exc:
            raise ExpositionError(f"could not parse line ({type(exc).__name__}: {exc})", line=line) from exc
    if not eof:
        raise ExpositionError(
            "missing '# EOF' at the end: an OpenMetrics body must end with it (was the response cut short?)",
            line=line,
        )
