"""Reader for Prometheus text format 0.0.4 (what Envoy, Kuma, Mayastor and KubeVirt expose).

The fast loop handles the line shape that makes up nearly every real body, ``name{labels} value`` or
``name value``, with two ``str.partition`` calls and dict lookups: the name is looked up among the sample names
whose family is already decided (see :class:`FamilyTable`), the label text in the label cache, and the value
must be a plain float. Comment and metadata lines go straight to :func:`_comment`. Every other line
(timestamps, tabs, a name that is not a plain metric name, anything malformed) goes through
:func:`_careful_line`, which matches the precise line expression and either accepts the line by the same
rules or explains why it is invalid.

Splitting at the *last* ``}`` is sound: a valid value and timestamp contain no ``}``, and the text between the
first ``{`` and the last ``}`` is only used once the label parser has accepted it as a whole label set.
"""

from __future__ import annotations

from omni_core.errors import ExpositionError

from ._families import FamilyTable
from ._grammar import METRIC_NAME, PROMETHEUS_LINE, explain_sample_line, snippet, unescape_help
from ._labels import LabelSets
from ._samples import MAX_MS, add_sample, blocks, explain_numbers

__all__ = ["read_prometheus_text"]


def read_prometheus_text(text: str, table: FamilyTable, label_sets: LabelSets) -> None:
    """Parse ``text`` (ending with a newline) into ``table``."""
    targets = table.targets
    is_metric_name = METRIC_NAME.fullmatch
    by_text = label_sets.by_text
    no_labels = by_text[""]
    parse_labels = label_sets.parse
    line_no = 0
    prev = None
    # Bound with the first sample of each name; read only while `prev` is that name.
    target = name_out = seen = check = None
    add = None
    for start, end in blocks(text):
        for line in text[start : end - 1].split("\n"):
            line_no += 1
            try:
                head, brace, rest = line.partition("{")
                if brace:
                    raw, close, tail = rest.rpartition("}")
                    labels = by_text.get(raw) if close else None
                else:
                    head, _, tail = line.partition(" ")
                    labels = no_labels
                if head != prev:
                    target = targets.get(head)
                    if target is None:
                        prev = None
                        if line[:1] == "#":
                            _comment(table, line[1:], line_no)
                            continue
                        if not is_metric_name(head):
                            _careful_line(table, label_sets, line, line_no)
                            continue
                        target = table.resolve(head, line_no)
                    name_out = target.name
                    add = target.add
                    if add is None:  # samples of this name are dropped
                        _careful_line(table, label_sets, line, line_no)
                        prev = None
                        continue
                    seen = target.seen
                    check = target.check
                    prev = head
                if labels is None:
                    if not close:
                        _careful_line(table, label_sets, line, line_no)
                        continue
                    try:
                        labels = parse_labels(raw, line_no)
                    except ExpositionError:
                        _careful_line(table, label_sets, line, line_no)  # explains the whole line, if it can
                        raise
                # float() also takes "1_000" and non-ASCII digits, which the format does not.
                if "_" in tail or not tail.isascii():
                    _careful_line(table, label_sets, line, line_no)
                    continue
                try:
                    value = float(tail)
                except ValueError:  # a timestamp, or a malformed line
                    _careful_line(table, label_sets, line, line_no)
                    continue
                key = id(labels)
                if key in seen:
                    table.duplicate(target, labels, line_no)
                elif check is None or key in check or table.accepts(target, labels, line_no):
                    seen.add(key)
                    add(name_out)  # a plain sample: name, labels, value, line (see SampleColumns)
                    add(labels)
                    add(value)
                    add(line_no)
            except ExpositionError:
                raise
            except Exception as exc:  # anything unforeseen still names its line
                raise ExpositionError(f"could not parse line ({type(exc).__name__}: {exc})", line=line_no) from exc


def _careful_line(table: FamilyTable, label_sets: LabelSets, line: str, line_no: int) -> None:
    match = PROMETHEUS_LINE.match(line + "\n")
    assert match is not None  # the expression's last branch matches any line
    name, raw_labels, value, timestamp, comment, other = match.groups("")
    if name:
        try:
            number = float(value)
            ms = int(timestamp) if timestamp else None
            if ms is not None and not -MAX_MS <= ms <= MAX_MS:
                raise ValueError(timestamp)
        except ValueError:
            fields = (("sample value", value), ("timestamp", timestamp))
            raise ExpositionError(explain_numbers(name, fields, openmetrics=False), line=line_no) from None
        add_sample(table, label_sets, name, raw_labels, number, ms, None, line_no)
    elif comment:
        _comment(table, comment, line_no)
    elif other and not other.isspace():
        raise ExpositionError(explain_sample_line(other, openmetrics=False), line=line_no)


def _comment(table: FamilyTable, comment: str, line_no: int) -> None:
    parts = comment.split(None, 2)
    if not parts or parts[0] not in ("HELP", "TYPE"):
        return  # an ordinary comment
    keyword = parts[0]
    if len(parts) < 2:
        raise ExpositionError(f"# {keyword} line without a metric name", line=line_no)
    name = parts[1]
    if not METRIC_NAME.fullmatch(name):
        raise ExpositionError(f"invalid metric name {snippet(name)} in # {keyword} line", line=line_no)
    rest = parts[2].rstrip() if len(parts) == 3 else ""
    if keyword == "TYPE":
        if not rest:
            raise ExpositionError(f"# TYPE line for {name!r} does not say which type", line=line_no)
        table.declare("TYPE", name, rest, line_no)
    else:
        table.declare("HELP", name, unescape_help(rest, openmetrics=False), line_no)
