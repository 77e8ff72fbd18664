"""Lexical rules of Prometheus text 0.0.4 and OpenMetrics 1.0, and plain-words explanations of lines that break them.

The line expressions match exactly one line each, whatever it holds: a sample, a ``#`` line, or anything else
in a catch-all group. The OpenMetrics reader runs its expression with ``findall`` over a block of lines (one
tuple per line, in C, and the tuple's position is the line number); the Prometheus reader keeps its own for
the few lines its ``str.partition`` fast path does not take. Quantifiers are possessive (``*+``, ``++``), so
a malformed line fails in time linear in its length instead of backtracking. Lines caught by the catch-all are
explained by :func:`explain_sample_line`, which walks the line slowly to say exactly what is wrong; it runs
only on the error path.
"""

from __future__ import annotations

import re

__all__ = [
    "LABEL_PAIR",
    "LABEL_SET",
    "METRIC_NAME",
    "SINGLE_LABEL_PAIR",
    "OPENMETRICS_LINE",
    "PROMETHEUS_LINE",
    "explain_label_set",
    "explain_sample_line",
    "is_number",
    "snippet",
    "unescape_help",
    "unescape_label_value",
]

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*+"
_LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*+"
# Inside braces: runs of unquoted characters, or complete quoted strings with backslash escapes.
# Structure (names, '=', commas) is checked once per distinct label string by the label parser.
_LABEL_BODY = r'(?:[^"}\n]++|"(?:[^"\\\n]++|\\[^\n])*+")*+'
# Characters a float can be spelled with (digits, sign, point, exponent, Inf/NaN words). No '_':
# Python's float() would accept "1_000", the Go parser Prometheus uses does not.
_NUMBER = r"[-+.0-9a-zA-Z]++"

#: One Prometheus text line. Groups: name, labels, value, timestamp (integer ms), comment, other.
PROMETHEUS_LINE = re.compile(
    rf"[ \t]*+(?:"
    rf"({_NAME})(?:[ \t]*+\{{({_LABEL_BODY})\}}[ \t]*+|[ \t]++)({_NUMBER})(?:[ \t]++([-+]?[0-9]++))?[ \t\r]*+\n"
    rf"|#([^\n]*+)\n"
    rf"|([^\n]*+)\n)"
)

#: One OpenMetrics line (single spaces, no blank lines). Groups: name, labels, value, timestamp (seconds),
#: exemplar labels, exemplar value, exemplar timestamp, comment, other.
OPENMETRICS_LINE = re.compile(
    rf"(?:"
    rf"({_NAME})(?:\{{({_LABEL_BODY})\}})? ({_NUMBER})(?: ({_NUMBER}))?"
    rf"(?: # \{{({_LABEL_BODY})\}} ({_NUMBER})(?: ({_NUMBER}))?)?\n"
    rf"|#([^\n]*+)\n"
    rf"|([^\n]*+)\n)"
)

_PAIR = rf'[ \t]*+{_LABEL_NAME}[ \t]*+=[ \t]*+"(?:[^"\\\n]++|\\[^\n])*+"[ \t]*+'
#: A whole label set (the text between the braces): pairs separated by commas, a trailing comma allowed.
LABEL_SET = re.compile(rf"{_PAIR}(?:,{_PAIR})*+(?:,[ \t]*+)?|[ \t]*+")
#: One ``name="value"`` pair; only applied to text :data:`LABEL_SET` accepted, so matches are contiguous.
LABEL_PAIR = re.compile(rf'({_LABEL_NAME})[ \t]*+=[ \t]*+"((?:[^"\\\n]++|\\[^\n])*+)"')
#: Exactly one pair, blanks around it allowed (for ``fullmatch``).
SINGLE_LABEL_PAIR = re.compile(rf'[ \t]*+({_LABEL_NAME})[ \t]*+=[ \t]*+"((?:[^"\\\n]++|\\[^\n])*+)"[ \t]*+')

METRIC_NAME = re.compile(_NAME)
_NAME_PREFIX = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME_PREFIX = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_NUMBER_WORD = re.compile(r"[-+.0-9a-zA-Z]+")
_INTEGER = re.compile(r"[-+]?[0-9]+")

_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_LABEL_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
_PROMETHEUS_HELP_ESCAPES = {"\\": "\\", "n": "\n"}


def _label_escape(match: re.Match[str]) -> str:
    return _LABEL_ESCAPES.get(match.group(1), match.group(0))


def _prometheus_help_escape(match: re.Match[str]) -> str:
    return _PROMETHEUS_HELP_ESCAPES.get(match.group(1), match.group(0))


def unescape_label_value(raw: str) -> str:
    """``\\\\``, ``\\"`` and ``\\n`` are the escapes; any other backslash pair is kept as written, as in Prometheus."""
    return _ESCAPE.sub(_label_escape, raw) if "\\" in raw else raw


def unescape_help(raw: str, *, openmetrics: bool) -> str:
    """Prometheus text escapes only ``\\\\`` and ``\\n`` in HELP; OpenMetrics also ``\\"``."""
    if "\\" not in raw:
        return raw
    return _ESCAPE.sub(_label_escape if openmetrics else _prometheus_help_escape, raw)


def is_number(token: str) -> bool:
    """Whether the fast path would accept ``token`` as a sample value."""
    if not _NUMBER_WORD.fullmatch(token):
        return False
    try:
        float(token)
    except ValueError:
        return False
    return True


def snippet(text: str, width: int = 60) -> str:
    """A quoted, shortened piece of input for an error message (never the whole of a huge line)."""
    return repr(text if len(text) <= width else text[:width] + "...")


def _skip_blanks(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _scan_label_set(text: str, pos: int, *, strict: bool) -> tuple[int, str | None]:
    """Walk a label set from just after ``{``; return the position after ``}`` or a description of the fault."""
    n = len(text)
    while True:
        if not strict:
            pos = _skip_blanks(text, pos)
        if pos >= n:
            return pos, "label set is not closed: missing '}'"
        if text[pos] == "}":
            return pos + 1, None
        match = _LABEL_NAME_PREFIX.match(text, pos)
        if match is None:
            if text[pos] == ",":
                return pos, f"empty label name (stray ',') in label set at {snippet(text[pos:])}"
            return pos, f"invalid label name at {snippet(text[pos:])} (label names match [a-zA-Z_][a-zA-Z0-9_]*)"
        label = match.group()
        pos = match.end() if strict else _skip_blanks(text, match.end())
        if pos >= n or text[pos] != "=":
            return pos, f"expected '=' after label name {label!r}, got {snippet(text[pos:])}"
        pos = pos + 1 if strict else _skip_blanks(text, pos + 1)
        if pos >= n or text[pos] != '"':
            return pos, f"value of label {label!r} must be a double-quoted string, got {snippet(text[pos:])}"
        pos += 1
        while pos < n and text[pos] != '"':
            pos += 2 if text[pos] == "\\" else 1
        if pos >= n:
            return pos, f"unterminated quoted value of label {label!r}: no closing '\"'"
        pos = pos + 1 if strict else _skip_blanks(text, pos + 1)
        if pos < n and text[pos] == ",":
            pos += 1
            continue
        if pos < n and text[pos] == "}":
            return pos + 1, None
        return pos, f"expected ',' or '}}' after the value of label {label!r}, got {snippet(text[pos:])}"


def explain_label_set(raw: str) -> str:
    """Why the text between a sample's braces is not a label set."""
    _, problem = _scan_label_set(raw + "}", 0, strict=False)
    if problem is None and raw.lstrip().startswith(","):
        problem = "label set starts with ','"
    return problem or f"malformed label set {snippet(raw)}"


def _explain_prometheus_rest(name: str, rest: str) -> str:
    tokens = rest.split()
    if not tokens:
        return f"sample {name!r} has no value"
    if not is_number(tokens[0]):
        return f"invalid sample value {snippet(tokens[0])} for {name!r} (expected a float, NaN, +Inf or -Inf)"
    if len(tokens) > 1:
        if tokens[1] == "#" or tokens[1].startswith("#"):
            return "exemplars (' # {...} value') are only allowed in OpenMetrics, not in Prometheus text 0.0.4"
        if not _INTEGER.fullmatch(tokens[1]):
            return f"invalid timestamp {snippet(tokens[1])} for {name!r} (Prometheus text wants integer milliseconds)"
    if len(tokens) > 2:
        if tokens[2].startswith("#"):
            return "exemplars (' # {...} value') are only allowed in OpenMetrics, not in Prometheus text 0.0.4"
        return f"unexpected text after the timestamp of {name!r}: {snippet(' '.join(tokens[2:]))}"
    return f"malformed sample line for {name!r}"


def _explain_openmetrics_number(token: str, what: str, name: str) -> str | None:
    if token == "":
        return f"empty {what} for {name!r} (OpenMetrics separates fields with exactly one space)"
    if not is_number(token):
        return f"invalid {what} {snippet(token)} for {name!r}"
    return None


def _explain_openmetrics_rest(name: str, rest: str) -> str:
    if not rest.startswith(" "):
        return f"expected one space after {name!r}, got {snippet(rest)}"
    main, hash_sep, exemplar = rest[1:].partition(" # ")
    fields = main.split(" ")
    if len(fields) > 2:
        if fields[-1] == "" or fields[1] == "":
            return f"extra whitespace in sample {name!r} (OpenMetrics separates fields with exactly one space)"
        return f"unexpected text after the timestamp of {name!r}: {snippet(' '.join(fields[2:]))}"
    for token, what in zip(fields, ("sample value", "timestamp")):
        problem = _explain_openmetrics_number(token, what, name)
        if problem:
            return problem
    if hash_sep:
        if not exemplar.startswith("{"):
            return f"exemplar of {name!r} must start with a label set '{{...}}', got {snippet(exemplar)}"
        pos, problem = _scan_label_set(exemplar, 1, strict=True)
        if problem:
            return f"exemplar of {name!r}: {problem}"
        tail = exemplar[pos:]
        if not tail.startswith(" "):
            return f"exemplar of {name!r} needs a value after its label set"
        ex_fields = tail[1:].split(" ")
        if len(ex_fields) > 2:
            return f"unexpected text after the exemplar of {name!r}: {snippet(tail)}"
        for token, what in zip(ex_fields, ("exemplar value", "exemplar timestamp")):
            problem = _explain_openmetrics_number(token, what, name)
            if problem:
                return problem
    elif main.endswith(" #") or main.endswith("#"):
        return f"incomplete exemplar after {name!r}"
    return f"malformed sample line for {name!r}"


def explain_sample_line(line: str, *, openmetrics: bool) -> str:
    """Say what is wrong with a line the line expression rejected. Always returns a message."""
    text = line.rstrip("\r") if not openmetrics else line
    if not text.strip():
        if openmetrics:
            return "blank line (OpenMetrics does not allow empty lines)"
        return "line holds only whitespace and stray control characters"
    if openmetrics and text != text.strip():
        if text.strip().startswith("#") or _NAME_PREFIX.match(text.strip()):
            return "leading or trailing whitespace (OpenMetrics does not allow it)"
    stripped = text.strip()
    if stripped.startswith("<"):
        return (
            "this looks like an HTML page, not metrics text: the URL probably points at a web UI, "
            "a login page or a proxy error page"
        )
    if stripped.startswith("{"):
        return "sample has no metric name before its label set"
    match = _NAME_PREFIX.match(stripped)
    if match is None:
        return f"expected a metric name or a '#' line, got {snippet(stripped)}"
    name = match.group()
    pos = match.end()
    after = stripped[pos:]
    if after and after[0] not in " \t{":
        return (
            f"invalid character {after[0]!r} in metric name {snippet(name + after.split()[0])} "
            "(names match [a-zA-Z_:][a-zA-Z0-9_:]*)"
        )
    label_at = pos if openmetrics else _skip_blanks(stripped, pos)
    if label_at < len(stripped) and stripped[label_at] == "{":
        end, problem = _scan_label_set(stripped, label_at + 1, strict=openmetrics)
        if problem:
            return f"{problem} (sample {name!r})"
        pos = end
    if openmetrics:
        return _explain_openmetrics_rest(name, stripped[pos:])
    rest = stripped[pos:]
    if pos > match.end() and rest and rest[0] not in " \t":
        rest = " " + rest  # Prometheus text tolerates a missing space after '}'
    return _explain_prometheus_rest(name, rest)
