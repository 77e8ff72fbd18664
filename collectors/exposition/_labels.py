"""Label sets of one exposition, parsed once per distinct spelling and shared between samples.

Real expositions repeat the same few label strings thousands of times (every Envoy family carries the same
``envoy_cluster_name="..."`` sets), so the parser looks the raw text between the braces up in a dict and
parses only on a miss. Spellings that mean the same set (other order, spaces, a trailing comma) resolve to
one dict object too, which lets the parser detect duplicate series by object identity.

Most new spellings are an already-seen set plus one more pair (Envoy's histogram buckets: the cluster's
labels, then ``le="..."``), so a new spelling whose text before its last comma is a known, non-empty set
and whose last pair is a known pair is built from those two without reading it again. That is sound
because a cut inside a quoted value leaves an odd number of quotes before it, which is never a known set.

A new set carrying ``le`` or ``quantile`` has that value checked once here (see :func:`bound_is_usable`),
so histogram and summary samples need no per-sample check.
"""

from __future__ import annotations

from omni_core.errors import ExpositionError, ExpositionLimitExceeded

from ._grammar import LABEL_PAIR, LABEL_SET, SINGLE_LABEL_PAIR, explain_label_set, unescape_label_value

__all__ = ["LabelSets", "bound_is_usable"]

#: Labels whose value must be a number for the sample to convert: histogram buckets, summary quantiles.
BOUND_LABELS = ("le", "quantile")


def bound_is_usable(label: str, raw: str) -> bool:
    """``le`` must be a number (``+Inf`` included, NaN not); ``quantile`` a number from 0 to 1."""
    try:
        bound = float(raw)
    except ValueError:
        return False
    return bound == bound if label == "le" else 0.0 <= bound <= 1.0


class LabelSets:
    """Cache from raw label text to a shared, never-mutated ``dict``; one instance per parse."""

    __slots__ = ("by_text", "usable", "_canonical", "_key_of", "_pairs", "_max_labels", "_usable_values")

    def __init__(self, max_labels: int) -> None:
        empty: dict[str, str] = {}
        #: raw text between the braces -> shared dict. Read directly by the parser's loop.
        self.by_text: dict[str, dict[str, str]] = {"": empty}
        #: "le"/"quantile" -> ids of shared dicts whose value of that label is usable.
        self.usable: dict[str, set[int]] = {label: set() for label in BOUND_LABELS}
        self._canonical: dict[tuple[tuple[str, str], ...], dict[str, str]] = {(): empty}
        #: id of each shared dict -> its key in _canonical (the dicts live as long as this object)
        self._key_of: dict[int, tuple[tuple[str, str], ...]] = {id(empty): ()}
        self._pairs: dict[str, tuple[str, str] | None] = {}
        self._max_labels = max_labels
        #: (bound label, value) -> whether that value is usable (bucket bounds repeat across series)
        self._usable_values: dict[tuple[str, str], bool] = {}

    def parse(self, raw: str, line: int) -> dict[str, str]:
        """Parse a spelling not seen before, remember it, and return the shared dict for its set."""
        labels, key = self._extend_known(raw)
        if labels is None:
            labels = self.parse_unshared(raw, line)
        elif len(labels) > self._max_labels:
            self.parse_unshared(raw, line)  # raises the limit error
        if key is None:
            key = tuple(sorted(labels.items()))
        shared = self._canonical.setdefault(key, labels)
        if shared is labels:
            self._key_of[id(labels)] = key
            if "le" in labels or "quantile" in labels:
                usable = self._usable_values
                for label in BOUND_LABELS:
                    value = labels.get(label)
                    if value is not None:
                        ok = usable.get((label, value))
                        if ok is None:
                            ok = usable[(label, value)] = bound_is_usable(label, value)
                        if ok:
                            self.usable[label].add(id(labels))
        self.by_text[raw] = shared
        return shared

    def _extend_known(self, raw: str) -> tuple[dict[str, str] | None, tuple[tuple[str, str], ...] | None]:
        """The set for ``raw`` when it is a known set, a comma and a known pair (or a known pair, a
        comma and a known set), else None; and its canonical key when the new pair sorts last (as
        ``le`` does), else None."""
        prefix, comma, last = raw.rpartition(",")
        if not comma:
            return None, None
        base = self.by_text.get(prefix)
        if not base or prefix.rstrip(" \t").endswith(","):
            # Envoy's per-code counters put one pair before a cluster's known set; a cut inside the
            # first quoted value leaves a text that is not one whole pair, so this is sound too.
            first, _, rest = raw.partition(",")
            base = self.by_text.get(rest)
            if not base:
                return None, None
            pair = self._pair(first)
            if pair is None or pair[0] in base:
                return None, None
            labels = {pair[0]: pair[1]}
            labels.update(base)
            return labels, None
        pair = self._pair(last)
        if pair is None or pair[0] in base:
            return None, None
        labels = base.copy()
        labels[pair[0]] = pair[1]
        base_key = self._key_of.get(id(base))
        if base_key is not None and pair[0] > base_key[-1][0]:
            return labels, base_key + (pair,)
        return labels, None

    def _pair(self, text: str) -> tuple[str, str] | None:
        """``text`` as exactly one ``name="value"`` pair (blanks around it allowed), else None."""
        pair = self._pairs.get(text, False)
        if pair is False:
            match = SINGLE_LABEL_PAIR.fullmatch(text)
            pair = self._pairs[text] = (match[1], unescape_label_value(match[2])) if match else None
        return pair

    def parse_unshared(self, raw: str, line: int) -> dict[str, str]:
        """Parse a label set without caching it (exemplar labels are unique per sample)."""
        if LABEL_SET.fullmatch(raw) is None:
            raise ExpositionError(explain_label_set(raw), line=line)
        pairs = LABEL_PAIR.findall(raw)
        if "\\" in raw:
            pairs = [(name, unescape_label_value(value)) for name, value in pairs]
        labels = dict(pairs)
        if len(labels) != len(pairs):
            names = [name for name, _ in pairs]
            twice = next(name for name in names if names.count(name) > 1)
            raise ExpositionError(f"label {twice!r} appears twice in one label set", line=line)
        if len(labels) > self._max_labels:
            raise ExpositionLimitExceeded(
                f"a label set has {len(labels)} labels, above the limit of {self._max_labels} (ParseLimits.max_labels)",
                line=line,
            )
        return labels
