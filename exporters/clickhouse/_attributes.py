"""Attribute maps as the exporter stores them: string values, keys in sorted order.

Values are rendered like ``pcommon.Value.AsString`` so rows written here and rows written by
an OpenTelemetry Collector compare equal. Keys are sorted (the exporter keeps insertion
order): ``Attributes`` is part of the sort key, so one label set in two orders would be two
series, and sorted maps compress far better.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal

__all__ = ["SortedMapCache", "attribute_text", "sorted_text_map"]

_NEGATIVE_EXPONENT_ZERO = re.compile(r"e-0(\d)$")
_JSON_HTML_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def _float_text(value: float) -> str:
    """Go's JSON-style float rendering: shortest digits, fixed notation unless tiny or huge."""
    if math.isnan(value) or math.isinf(value):
        go = "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
        return f"json: unsupported value: {go}"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        # repr is already exponent form with the shortest digits in this range; Go only
        # differs by dropping the zero of a two-digit negative exponent.
        return _NEGATIVE_EXPONENT_ZERO.sub(r"e-\1", repr(value))
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _json_text(value: object) -> str:
    """Go ``json.Marshal`` of an attribute value: compact, HTML-escaped, map keys sorted."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).translate(_JSON_HTML_ESCAPES)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, (bytes, bytearray)):
        return '"' + base64.b64encode(bytes(value)).decode("ascii") + '"'
    if isinstance(value, Mapping):
        members = (f"{_json_text(str(k))}:{_json_text(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
        return "{" + ",".join(members) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return _json_text(str(value))


def attribute_text(value: object) -> str:
    """One attribute value as text, the way ``pcommon.Value.AsString`` renders it."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (list, tuple, Mapping)):
        return _json_text(value)
    return str(value)


_EMPTY: dict[str, str] = {}


def sorted_text_map(attributes: Mapping[str, object] | None) -> dict[str, str]:
    """``attributes`` with keys sorted and every value as text.

    The result may be shared between rows (never mutate it); the common all-string case
    costs one sort and one scan.
    """
    if not attributes:
        return _EMPTY
    ordered = dict(sorted(attributes.items()))
    for value in ordered.values():
        if type(value) is not str:
            return {key: attribute_text(value) for key, value in ordered.items()}
    return ordered


class SortedMapCache:
    """Remembers the sorted text map of each label set seen recently.

    Every scrape repeats the same series, so sorting each point's attributes again is the
    writer's largest cost; a lookup by content costs a third of that and lets rows share one
    map object. Only all-string label sets are kept: a key of strings never compares equal
    to one holding ``1``, ``1.0`` or ``True``, so values that stringify differently cannot
    collide. The cache is cleared when full, which bounds memory at ``max_entries`` maps.
    Not thread-safe; each writer owns one and uses it under its lock.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self._max_entries = max_entries
        self._maps: dict[tuple, dict[str, str]] = {}

    def __call__(self, attributes: Mapping[str, object] | None) -> dict[str, str]:
        if not attributes:
            return _EMPTY
        key = tuple(attributes.items())
        try:
            found = self._maps.get(key)
        except TypeError:  # a sequence value: not hashable, not cacheable
            return sorted_text_map(attributes)
        if found is not None:
            return found
        found = sorted_text_map(attributes)
        if all(type(value) is str for value in attributes.values()):
            if len(self._maps) >= self._max_entries:
                self._maps.clear()
            self._maps[key] = found
        return found
