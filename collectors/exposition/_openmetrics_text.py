"""Reader for OpenMetrics 1.0 text (served to scrapers that ask for ``application/openmetrics-text``).

OpenMetrics is stricter than Prometheus text and carries more per line (float-second timestamps, exemplars),
and none of the platform's main exporters serve it by default, so this reader favours plain rules over the
last bit of speed: one compiled expression splits each block of lines into tuples (one per line, in C), and
the loop applies the format's rules: ``# EOF`` last, no blank lines, only HELP/TYPE/UNIT/EOF comments,
metadata before samples, and each family's lines in one block.
"""

from __future__ import annotations

from omni_core.errors import ExpositionError

from ._families import FamilyTable
from ._grammar import METRIC_NAME, OPENMETRICS_LINE, explain_sample_line, snippet, unescape_help
from ._labels import LabelSets
from ._model import Exemplar, Sample
from ._samples import blocks, explain_numbers, line_text, seconds_to_ms

__all__ = ["read_openmetrics_text"]

#: OpenMetrics bounds an exemplar's label names and values to 128 characters in total.
MAX_EXEMPLAR_LABEL_CHARS = 128


def _comment(table: FamilyTable, comment: str, line: int) -> None:
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


def _exemplar(
    table: FamilyTable, label_sets: LabelSets, raw_labels: str, value: str, ts: str, line: int
) -> Exemplar | None:
    labels = label_sets.parse_unshared(raw_labels, line)
    if sum(len(k) + len(v) for k, v in labels.items()) > MAX_EXEMPLAR_LABEL_CHARS:
        table.drop(0, f"exemplar labels longer than {MAX_EXEMPLAR_LABEL_CHARS} characters; exemplar dropped", line)
        return None
    timestamp = None
    if ts:
        timestamp = float(ts)
        if timestamp - timestamp != 0.0:
            raise ValueError(ts)
    return Exemplar(labels, float(value), timestamp)


def read_openmetrics_text(text: str, table: FamilyTable, label_sets: LabelSets) -> None:
    """Parse ``text`` (ending with a newline) into ``table``."""
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
    for start, end in blocks(text):
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
                    append(sample_type(name_out, labels, float(val), seconds_to_ms(ts) if ts else None, exemplar, line))
                elif comment == " EOF":
                    eof = line
                elif comment:
                    _comment(table, comment, line)
                    prev = None
                    current = table.current
                else:
                    bad = line_text(text, line)
                    if bad.startswith("#"):
                        raise ExpositionError(
                            "a bare '#' line: OpenMetrics allows only '# HELP', '# TYPE', '# UNIT' and '# EOF'",
                            line=line,
                        )
                    raise ExpositionError(explain_sample_line(bad, openmetrics=True), line=line)
        except ExpositionError:
            raise
        except ValueError:
            fields = (
                ("sample value", val),
                ("timestamp", ts),
                ("exemplar value", ex_val),
                ("exemplar timestamp", ex_ts),
            )
            raise ExpositionError(explain_numbers(name, fields, openmetrics=True), line=line) from None
        except Exception as exc:
            raise ExpositionError(f"could not parse line ({type(exc).__name__}: {exc})", line=line) from exc
    if not eof:
        raise ExpositionError(
            "missing '# EOF' at the end: an OpenMetrics body must end with it (was the response cut short?)",
            line=line,
        )
