"""Prometheus text 0.0.4 and OpenMetrics 1.0 parsing into :class:`Exposition`.

Why it is shaped like this: a scrape of an Envoy with a few hundred clusters is tens of thousands of lines,
every few seconds, on a small collector. So the per-line work in Python is kept to a couple of
``str.partition`` calls and dict lookups (:mod:`._prometheus_text`): label sets are parsed once per distinct
spelling and shared (:mod:`._labels`), and the family a sample name joins is decided once per name
(:mod:`._families`). Anything unusual leaves the fast path for precise expressions (:mod:`._grammar`) that
either accept the line or explain the problem.

Contract with the conversion step: every sample in the result converts. A line that breaks the syntax raises
:class:`ExpositionError` naming the 1-based line, as Prometheus reports it; a sample that parses but cannot be
converted (a duplicate series, a ``_bucket`` without a numeric ``le``, a summary sample without a usable
``quantile``, a sample that collides with a family of another type) is dropped, counted in
``Exposition.dropped`` and explained in ``Exposition.warnings``, and the rest of the scrape is kept.
"""

from __future__ import annotations

from typing import Collection

from omni_core.errors import ExpositionError, ExpositionLimitExceeded

from .._target import ParseLimits
from ._families import FamilyTable
from ._gcpause import gc_paused
from ._labels import LabelSets
from ._model import Exposition
from ._openmetrics_text import read_openmetrics_text
from ._prometheus_text import read_prometheus_text

__all__ = ["parse_exposition"]


def parse_exposition(
    body: bytes | str, content_type: str = "", *, limits: ParseLimits = ParseLimits()
) -> Exposition:
    """Parse a scrape body; ``application/openmetrics-text`` selects OpenMetrics, anything else Prometheus text.

    Raises :class:`ExpositionError` (with ``line``) for invalid input and :class:`ExpositionLimitExceeded`
    for input beyond ``limits``; never any other exception.
    """
    return parse_with_label_texts(_decode_or_raise(body, limits), content_type, limits=limits)[0]


def _decode_or_raise(body: bytes | str, limits: ParseLimits) -> str:
    try:
        return _decode(body, limits)
    except ExpositionError:
        raise
    except Exception as exc:  # the promise is ExpositionError only, whatever the input
        raise ExpositionError(f"could not parse the exposition ({type(exc).__name__}: {exc})") from exc


def parse_with_label_texts(
    text: str, content_type: str = "", *, limits: ParseLimits = ParseLimits()
) -> tuple[Exposition, Collection[str]]:
    """Parse decoded text (see :func:`_decode`); also answer the distinct label texts in order of
    first appearance, which a target's converter uses to tell a changed layout cheaply."""
    openmetrics = "application/openmetrics-text" in content_type.lower()
    try:
        labels = LabelSets(limits.max_labels)
        table = FamilyTable(openmetrics=openmetrics, usable=labels.usable)
        with gc_paused():
            if openmetrics:
                read_openmetrics_text(text, table, labels)
            else:
                read_prometheus_text(text, table, labels)
    except ExpositionError:
        raise
    except Exception as exc:  # the promise is ExpositionError only, whatever the input
        raise ExpositionError(f"could not parse the exposition ({type(exc).__name__}: {exc})") from exc
    exposition = Exposition(
        table.families, "openmetrics" if openmetrics else "prometheus", table.dropped, table.warnings
    )
    return exposition, labels.by_text.keys()


# -- body -------------------------------------------------------------------------------------------


def _decode(body: bytes | str, limits: ParseLimits) -> str:
    """Check the size bounds on the raw bytes, then decode strictly as UTF-8 (text is taken as given)."""
    text: str | None = None
    raw: bytes | str
    if isinstance(body, str):
        text = raw = body
        if not body.isascii():  # the bounds are in bytes
            try:
                raw = body.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ExpositionError(
                    "text contains characters that are not valid Unicode (lone surrogates)",
                    line=body.count("\n", 0, exc.start) + 1,
                ) from None
    elif isinstance(body, (bytes, bytearray, memoryview)):
        raw = bytes(body)
    else:
        raise ExpositionError(f"body must be bytes or str, not {type(body).__name__}")
    if len(raw) > limits.max_body_bytes:
        raise ExpositionLimitExceeded(
            f"body is {len(raw)} bytes, above the limit of {limits.max_body_bytes} (ParseLimits.max_body_bytes)"
        )
    _check_line_lengths(raw, limits.max_line_bytes)
    if text is None:
        assert isinstance(raw, bytes)
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
