"""Label sets of one exposition, parsed once per distinct spelling and shared between samples.

Real expositions repeat the same few label strings thousands of times (every Envoy family carries the same
``envoy_cluster_name="..."`` sets), so the parser looks the raw text between the braces up in a dict and
parses only on a miss. Spellings that mean the same set (other order, spaces, a trailing comma) resolve to
one dict object too, which lets the parser detect duplicate series by object identity.
"""

from __future__ import annotations

from omni_telemetry.errors import ExpositionError, ExpositionLimitExceeded

from ._grammar import LABEL_PAIR, LABEL_SET, explain_label_set, unescape_label_value

__all__ = ["LabelSets"]


class LabelSets:
    """Cache from raw label text to a shared, never-mutated ``dict``; one instance per parse."""

    __slots__ = ("by_text", "_canonical", "_max_labels")

    def __init__(self, max_labels: int) -> None:
        empty: dict[str, str] = {}
        #: raw text between the braces -> shared dict. Read directly by the parser's loop.
        self.by_text: dict[str, dict[str, str]] = {"": empty}
        self._canonical: dict[tuple[tuple[str, str], ...], dict[str, str]] = {(): empty}
        self._max_labels = max_labels

    def parse(self, raw: str, line: int) -> dict[str, str]:
        """Parse a spelling not seen before, remember it, and return the shared dict for its set."""
        labels = self.parse_unshared(raw, line)
        shared = self._canonical.setdefault(tuple(sorted(labels.items())), labels)
        self.by_text[raw] = shared
        return shared

    def parse_unshared(self, raw: str, line: int) -> dict[str, str]:
        """Parse a label set without caching it (exemplar labels are unique per sample)."""
        if LABEL_SET.fullmatch(raw) is None:
            raise ExpositionError(explain_label_set(raw), line=line)
        pairs = LABEL_PAIR.findall(raw)
        if "\\" in raw:
            pairs = [(name, unescape_label_value(value)) for name, value in pairs]
        labels = dict(pairs)
        if len(labels) != len(pairs):
            seen: set[str] = set()
            twice = next(name for name, _ in pairs if name in seen or seen.add(name))  # type: ignore[func-returns-value]
            raise ExpositionError(f"label {twice!r} appears twice in one label set", line=line)
        if len(labels) > self._max_labels:
            raise ExpositionLimitExceeded(
                f"a label set has {len(labels)} labels, above the limit of {self._max_labels} (ParseLimits.max_labels)",
                line=line,
            )
        return labels
