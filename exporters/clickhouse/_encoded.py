"""Steady-state inserts: encode the columns that repeat every scrape once, and only values after.

A target answers with the same series every interval, so of a metric table's 19 to 27
columns only the times, values and flags change between scrapes; the rest (resource and
scope, metric names, descriptions, units, the attribute maps, histogram bounds, the empty
exemplar arrays) is identical, and encoding it, the attribute maps above all, is most of an
insert's client-side cost. This module keeps, per resource and scope ("segment"), the
ClickHouse Native encoding of one block per table with those static columns already
serialised, and on the next batch proves that the segment's layout is unchanged and
serialises only the changing columns, with numpy, into the same block.

The proof is by content, never by object identity alone: the metric list (kind, name,
description, unit, point count, temporality, monotonicity) must be equal with every string of
exact type ``str``; every point's attributes must be a ``dict`` of exact ``str`` keys and
values equal to the map stored in the cached block; bounds and quantiles must encode to the
same bytes; no point may carry exemplars; resource and scope must render to the same text.
A segment that changed (a new series, a reordered metric) gets a fresh layout from the plain
column builder; one the cache cannot serve at all (exemplars, exponential histograms,
non-string labels, a value of an unusual type) is encoded whole by the column builder and
clickhouse-connect into the same insert. Either way every block is what clickhouse-connect
would write for the plain path's columns, so the stored rows are the plain path's.

Counters and gauges that come as :class:`~omni_core.datamodel.NumberPoints` (the steady-state
converter's columns) are read as columns, without a point object per row; a shared attribute
column is proven equal to the cached maps once per batch (a batch holds several scrapes of a
target, all sharing it).

Memory: a cached layout holds one encoded block without its changing columns (4.3 MB, about
180 bytes per row, for bench/parse.py's 50k-sample Envoy-like target) and a reference to each row's attribute
map, shared with the writer's map cache; at most ``max_layouts`` segments are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import attrgetter
from typing import Any

import numpy as np
from clickhouse_connect.datatypes.registry import get_from_name
from clickhouse_connect.driver.exceptions import DataError
from clickhouse_connect.driver.insert import InsertContext
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)

from omni_core.datamodel import NO_RECORDED_VALUE, NumberPoints, SeriesAttributes, Summary

from ._attributes import sorted_text_map
from ._columns import SortedMap, to_columns
from ._options import MetricKind, SchemaOptions
from ._schema import expected_columns

__all__ = ["EncodedBatch", "EncodedTable", "NativeEncoder"]

_NS_PER_S = 1_000_000_000
_KINDS: dict[type, MetricKind] = {
    Gauge: MetricKind.GAUGE,
    Sum: MetricKind.SUM,
    Histogram: MetricKind.HISTOGRAM,
    Summary: MetricKind.SUMMARY,
}
#: Per table, the columns encoded per batch (by position in ``expected_columns`` order).
_DYNAMIC: dict[MetricKind, frozenset[int]] = {
    MetricKind.GAUGE: frozenset({12, 13, 14, 15}),
    MetricKind.SUM: frozenset({12, 13, 14, 15}),
    MetricKind.HISTOGRAM: frozenset({12, 13, 14, 15, 16, 23, 24, 25}),
    MetricKind.SUMMARY: frozenset({12, 13, 14, 15, 17, 18}),
}
_ATTRIBUTES = attrgetter("attributes")
_EXEMPLARS = attrgetter("exemplars")
_TIME = attrgetter("time_unix_nano")
_START = attrgetter("start_time_unix_nano")
_VALUE = attrgetter("value")
_COUNT = attrgetter("count")
_SUM = attrgetter("sum")
_MIN = attrgetter("min")
_MAX = attrgetter("max")
_BUCKETS = attrgetter("bucket_counts")
_BOUNDS = attrgetter("explicit_bounds")
_STR_ONLY = {str}
_INT_ONLY = {int}
_FLOAT_ONLY = {float}
_UINT32_MAX = 2**32 - 1


class _Unencodable(Exception):
    """Something in the batch is outside what this path reproduces exactly: use the plain path."""


@dataclass(frozen=True)
class EncodedTable:
    """One table's insert: Native-format blocks, ready for ``raw_insert(fmt='Native')``."""

    payload: bytes
    rows: int


@dataclass(frozen=True)
class EncodedBatch:
    """A batch as Native payloads per table, and the points no table holds (as the column path counts them)."""

    tables: dict[MetricKind, EncodedTable]
    skipped: int = 0


@dataclass
class _Block:
    """One table's block for one segment: static bytes with slots for the per-batch columns."""

    pieces: list[bytes | int]  # bytes: encoded as-is; int: a dynamic column's position
    rows: int
    attributes: list[dict[str, str]]  # the stored maps, in row order
    arrays: bytes  # bounds (histograms) or quantiles (summaries), encoded, with their lengths
    array_lengths: list[int]
    verified: dict[int, SeriesAttributes] = field(default_factory=dict)
    """Shared attribute columns (of :class:`NumberPoints`), by first row, proven equal to
    ``attributes`` there ..."""
    verified_in: int = -1
    """... in this call of ``encode``: a batch of several scrapes of one target proves them once."""


@dataclass
class _Layout:
    shape: tuple
    blocks: dict[MetricKind, _Block]


def _varint(value: int, out: bytearray) -> None:
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def _name(text: str, out: bytearray) -> None:
    data = text.encode()
    _varint(len(data), out)
    out += data


def _exact(values: Sequence[Any] | Any, allowed: set[type]) -> bool:
    return set(map(type, values)) <= allowed


class NativeEncoder:
    """Native-format inserts for one schema, with per-segment caches of the static columns.

    Not thread-safe: a writer owns one and uses it under its lock. ``hits``, ``misses`` and
    ``plain`` count segments served from the cache, given a fresh layout, and encoded whole
    without one.
    """

    def __init__(self, options: SchemaOptions, sorted_map: SortedMap = sorted_text_map, *, max_layouts: int = 1024) -> None:
        self._options = options
        self._seconds = options.generation != "classic"
        self._sorted_map = sorted_map
        self._max_layouts = max_layouts
        self._layouts: dict[tuple, _Layout] = {}
        self._columns: dict[MetricKind, list[tuple[str, Any]]] = {}
        self._contexts: dict[MetricKind, InsertContext] = {}
        for kind in MetricKind:
            described = expected_columns(options, kind)
            types = [get_from_name(type_name) for _, type_name in described]
            self._columns[kind] = [(name, ch_type) for (name, _), ch_type in zip(described, types)]
            self._contexts[kind] = InsertContext("", [name for name, _ in described], types)
        self.column_names: dict[MetricKind, list[str]] = {
            kind: [name for name, _ in columns] for kind, columns in self._columns.items()
        }
        self.hits = 0
        self.misses = 0
        self.plain = 0
        self._calls = 0

    def encode(self, metrics_data: MetricsData) -> EncodedBatch | None:
        """Every table's Native payload for the batch; None when the column path must write it
        (a point the column builder or clickhouse-connect refuses: that path reports it)."""
        try:
            return self._encode(metrics_data)
        except (_Unencodable, TypeError, ValueError, OverflowError, AttributeError, DataError):
            return None

    def _encode(self, metrics_data: MetricsData) -> EncodedBatch:
        self._calls += 1
        payloads: dict[MetricKind, list[bytes]] = {}
        rows: dict[MetricKind, int] = {}
        skipped = 0
        for resource_metrics in metrics_data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                try:
                    blocks = self._steady_blocks(resource_metrics, scope_metrics)
                except (_Unencodable, TypeError, ValueError, OverflowError, AttributeError):
                    # The column builder and clickhouse-connect encode this segment whole, uncached.
                    blocks, segment_skipped = self._plain_blocks(resource_metrics, scope_metrics)
                    skipped += segment_skipped
                    self.plain += 1
                for kind, (block, block_rows) in blocks.items():
                    payloads.setdefault(kind, []).append(block)
                    rows[kind] = rows.get(kind, 0) + block_rows
        tables = {kind: EncodedTable(b"".join(parts), rows[kind]) for kind, parts in payloads.items()}
        return EncodedBatch(tables, skipped)

    def _steady_blocks(self, resource_metrics: ResourceMetrics, scope_metrics: ScopeMetrics) -> dict[MetricKind, tuple[bytes, int]]:
        key = _segment_key(resource_metrics, scope_metrics)
        shape, points = _shape(scope_metrics)
        layout = self._layouts.get(key)
        blocks: dict[MetricKind, bytes] | None = None
        if layout is not None and layout.shape == shape:
            blocks = self._reuse(layout, points)
        if blocks is None:
            _check_static_parts(points)  # fail before encoding a layout that could never be reused
            layout = self._fresh_layout(key, resource_metrics, scope_metrics, shape)
            blocks = self._reuse(layout, points)
            if blocks is None:
                raise _Unencodable("the segment's own layout does not match it")
            self.misses += 1
        else:
            self.hits += 1
        return {kind: (block, layout.blocks[kind].rows) for kind, block in blocks.items()}

    def _segment_columns(self, resource_metrics: ResourceMetrics, scope_metrics: ScopeMetrics):
        single = MetricsData([ResourceMetrics(resource_metrics.resource, [scope_metrics], resource_metrics.schema_url)])
        return to_columns(single, self._options.generation, self._sorted_map)

    def _plain_blocks(self, resource_metrics: ResourceMetrics, scope_metrics: ScopeMetrics) -> tuple[dict[MetricKind, tuple[bytes, int]], int]:
        tables, skipped = self._segment_columns(resource_metrics, scope_metrics)
        blocks = {}
        for kind, column_set in tables.items():
            if column_set.rows:
                pieces = self._write_block(kind, column_set.columns, column_set.rows, frozenset())
                blocks[kind] = (b"".join(p for p in pieces if isinstance(p, bytes)), column_set.rows)
        return blocks, skipped

    def _fresh_layout(self, key: tuple, resource_metrics: ResourceMetrics, scope_metrics: ScopeMetrics, shape: tuple) -> _Layout:
        """Encode a segment's static columns from the plain column builder's output."""
        tables, skipped = self._segment_columns(resource_metrics, scope_metrics)
        if skipped:
            raise _Unencodable("a metric type no table holds")
        blocks: dict[MetricKind, _Block] = {}
        for kind, column_set in tables.items():
            if kind not in _DYNAMIC or not column_set.rows:
                raise _Unencodable(f"{kind} is not encoded here")
            blocks[kind] = self._static_block(kind, column_set.columns, column_set.rows)
        layout = _Layout(shape, blocks)
        if len(self._layouts) >= self._max_layouts:
            self._layouts.clear()
        self._layouts[key] = layout
        return layout

    def _static_block(self, kind: MetricKind, columns: list[list[Any]], rows: int) -> _Block:
        pieces = self._write_block(kind, columns, rows, _DYNAMIC[kind])
        arrays, lengths = b"", []
        if kind is MetricKind.HISTOGRAM:
            arrays, lengths = _float_arrays(columns[17])
        elif kind is MetricKind.SUMMARY:
            arrays, lengths = _float_arrays(columns[16])
        return _Block(pieces, rows, list(columns[11]), arrays, lengths)

    def _write_block(self, kind: MetricKind, columns: list[list[Any]], rows: int, dynamic: frozenset[int]) -> list[bytes | int]:
        """A Native block as clickhouse-connect writes it, with slots where ``dynamic`` columns go."""
        context = self._contexts[kind]
        out = bytearray()
        pieces: list[bytes | int] = []
        _varint(len(columns), out)
        _varint(rows, out)
        for position, ((name, ch_type), data) in enumerate(zip(self._columns[kind], columns)):
            _name(name, out)
            _name(ch_type.insert_name, out)
            if position in dynamic:
                pieces.append(bytes(out))
                pieces.append(position)
                out = bytearray()
            else:
                context.start_column(name)
                ch_type.write_column(data, out, context)
        pieces.append(bytes(out))
        return [p for p in pieces if not isinstance(p, bytes) or p]

    def _reuse(self, layout: _Layout, points: dict[MetricKind, list[Sequence[Any]]]) -> dict[MetricKind, bytes] | None:
        """The segment's blocks for these points, or None when any static part differs."""
        if points.keys() != layout.blocks.keys():
            return None
        encoded: dict[MetricKind, bytes] = {}
        for kind, block in layout.blocks.items():
            chunk = self._block(kind, block, points[kind])
            if chunk is None:
                return None
            encoded[kind] = chunk
        return encoded

    def _block(self, kind: MetricKind, block: _Block, chunks: list[Sequence[Any]]) -> bytes | None:
        """``chunks``: each metric's ``data_points``, in row order."""
        if sum(map(len, chunks)) != block.rows:
            return None
        if kind is MetricKind.GAUGE or kind is MetricKind.SUM:
            if any(type(chunk) is NumberPoints for chunk in chunks):
                return self._number_block(block, chunks)
        points = list(chain.from_iterable(chunks))
        if not _same_maps(list(map(_ATTRIBUTES, points)), block.attributes):
            return None
        if kind is not MetricKind.SUMMARY and any(map(_EXEMPLARS, points)):  # summaries have none
            return None
        dynamic: dict[int, bytes] = {}
        self._times(list(map(_START, points)), list(map(_TIME, points)), dynamic)
        flags = _flags(points)
        if kind is MetricKind.GAUGE or kind is MetricKind.SUM:
            dynamic[14] = _values(list(map(_VALUE, points)), flags)
            dynamic[15] = _uint32(flags)
        elif kind is MetricKind.HISTOGRAM:
            bounds, lengths = _float_arrays(list(map(_BOUNDS, points)))
            if bounds != block.arrays or lengths != block.array_lengths:
                return None
            dynamic[14] = _uint64(list(map(_COUNT, points)))
            dynamic[15] = _unset_zero(list(map(_SUM, points)))
            dynamic[16] = _uint64_arrays(list(map(_BUCKETS, points)))
            dynamic[23] = _uint32(flags)
            dynamic[24] = _unset_zero(list(map(_MIN, points)))
            dynamic[25] = _unset_zero(list(map(_MAX, points)))
        else:
            quantiles = [[q.quantile for q in p.quantile_values] for p in points]
            encoded_quantiles, lengths = _float_arrays(quantiles)
            if encoded_quantiles != block.arrays or lengths != block.array_lengths:
                return None
            dynamic[14] = _uint64(list(map(_COUNT, points)))
            dynamic[15] = _unset_zero(list(map(_SUM, points)))
            values = [[q.value for q in p.quantile_values] for p in points]
            encoded_values, value_lengths = _float_arrays(values)
            if value_lengths != lengths:
                return None
            dynamic[17] = _offsets(lengths) + encoded_values
            dynamic[18] = _uint32(flags)
        return _joined(block, dynamic)

    def _number_block(self, block: _Block, chunks: list[Sequence[Any]]) -> bytes | None:
        """A gauge or sum block read chunk by chunk: :class:`NumberPoints` as columns, without
        point objects, any other sequence point by point (the scrape's own series, ``up`` and
        the rest, come as lists beside the target's columns).

        Attribute maps are proven equal to the block's by content in every batch; a shared
        attribute column once per batch, since the later scrapes of the target in it share it.
        """
        if block.verified_in != self._calls:
            block.verified, block.verified_in = {}, self._calls
        starts: list[Any] = []
        times: list[Any] = []
        values: list[Any] = []
        flags: list[int] = []
        row = 0
        for chunk in chunks:
            n = len(chunk)
            if type(chunk) is NumberPoints:
                maps: Sequence[Any] = chunk.attributes
                if block.verified.get(row) is not maps:
                    if not _same_maps(list(maps), block.attributes[row : row + n]):
                        return None
                    if type(maps) is SeriesAttributes:
                        block.verified[row] = maps
                starts.extend(chunk.start_times)
                times.extend(repeat(chunk.time_unix_nano, n))
                values.extend(chunk.values)
                flags.extend(repeat(0, n))
            else:
                if not _same_maps(list(map(_ATTRIBUTES, chunk)), block.attributes[row : row + n]):
                    return None
                if any(map(_EXEMPLARS, chunk)):
                    return None
                starts.extend(map(_START, chunk))
                times.extend(map(_TIME, chunk))
                values.extend(map(_VALUE, chunk))
                flags.extend(_flags(chunk))
            row += n
        dynamic: dict[int, bytes] = {}
        self._times(starts, times, dynamic)
        dynamic[14] = _values(values, flags)
        dynamic[15] = _uint32(flags)
        return _joined(block, dynamic)

    def _times(self, starts: list[Any], times: list[Any], dynamic: dict[int, bytes]) -> None:
        if not _exact(times, _INT_ONLY):
            raise _Unencodable("a time that is not an int")
        if not _exact(starts, _INT_ONLY):
            starts = [start or 0 for start in starts]
            if not _exact(starts, _INT_ONLY):
                raise _Unencodable("a start time that is not an int")
        if self._seconds:
            dynamic[12] = _seconds(starts)
            dynamic[13] = _seconds(times)
        else:
            dynamic[12] = np.array(starts, dtype="<i8").tobytes()
            dynamic[13] = np.array(times, dtype="<i8").tobytes()


def _joined(block: _Block, dynamic: dict[int, bytes]) -> bytes:
    return b"".join(piece if isinstance(piece, bytes) else dynamic[piece] for piece in block.pieces)


def _same_maps(attributes: list[Any], stored: list[dict[str, str]]) -> bool:
    """Dicts of exact-str keys and values equal to the stored (sorted, exact-str) maps render to them."""
    if not _exact(attributes, {dict}):
        return False
    if not _exact(chain.from_iterable(attributes), _STR_ONLY):
        return False
    if not _exact(chain.from_iterable(map(dict.values, attributes)), _STR_ONLY):
        return False
    return attributes == stored


def _segment_key(resource_metrics: ResourceMetrics, scope_metrics: ScopeMetrics) -> tuple:
    """What the resource and scope columns hold, as rendered: equal keys give equal columns."""
    resource = resource_metrics.resource
    scope = scope_metrics.scope
    raw_scope_attributes = scope.attributes if scope is not None else None
    resource_items = tuple(sorted_text_map(resource.attributes).items())
    scope_items = tuple(sorted_text_map(raw_scope_attributes).items())
    texts = (
        resource_metrics.schema_url or resource.schema_url or "",
        (scope.name if scope is not None else "") or "",
        (scope.version if scope is not None else "") or "",
        scope_metrics.schema_url or (scope.schema_url if scope is not None else "") or "",
    )
    if not (
        _exact(texts, _STR_ONLY)
        and _exact(chain.from_iterable(resource_items), _STR_ONLY)
        and _exact(chain.from_iterable(scope_items), _STR_ONLY)
    ):
        raise _Unencodable("a resource or scope field that is not a plain string")
    dropped = getattr(raw_scope_attributes, "dropped", 0) or 0
    if type(dropped) is not int:
        raise _Unencodable("a dropped-attributes count that is not an int")
    return (resource_items, scope_items, texts, dropped)


def _shape(scope_metrics: ScopeMetrics) -> tuple[tuple, dict[MetricKind, list[Sequence[Any]]]]:
    """The metric list as the static columns see it, and per table each metric's points, in row order."""
    shape: list[tuple] = []
    points: dict[MetricKind, list[Sequence[Any]]] = {}
    for metric in scope_metrics.metrics:
        data = metric.data
        kind = _KINDS.get(type(data))
        if kind is None:
            raise _Unencodable(f"data type {type(data).__name__}")
        entry = (metric.name, metric.description or "", metric.unit or "")
        if not _exact(entry, _STR_ONLY):
            raise _Unencodable("a metric name, description or unit that is not a plain string")
        data_points = data.data_points
        if not data_points:
            continue
        if kind is MetricKind.SUM:
            extra: tuple = (int(data.aggregation_temporality), bool(data.is_monotonic))
        elif kind is MetricKind.HISTOGRAM:
            extra = (int(data.aggregation_temporality),)
        else:
            extra = ()
        shape.append((kind, *entry, len(data_points), *extra))
        points.setdefault(kind, []).append(data_points)
    return tuple(shape), points


def _check_static_parts(points: dict[MetricKind, list[Sequence[Any]]]) -> None:
    """What makes a segment's layout unreusable whatever its values: a cheap scan before encoding it."""
    for kind, chunks in points.items():
        kind_points = list(chain.from_iterable(chunks))
        attributes = list(map(_ATTRIBUTES, kind_points))
        if not _exact(attributes, {dict}) or not _exact(chain.from_iterable(attributes), _STR_ONLY):
            raise _Unencodable("attributes that are not a dict of plain strings")
        if not _exact(chain.from_iterable(map(dict.values, attributes)), _STR_ONLY):
            raise _Unencodable("an attribute value that is not a plain string")
        if kind is not MetricKind.SUMMARY and any(map(_EXEMPLARS, kind_points)):
            raise _Unencodable("exemplars")


def _flags(points: Sequence[Any]) -> list[int]:
    try:
        flags = list(map(attrgetter("flags"), points))
    except AttributeError:
        flags = [getattr(p, "flags", 0) for p in points]
    if not _exact(flags, _INT_ONLY):
        raise _Unencodable("flags that are not ints")
    return flags


def _values(raw: list[Any], flags: list[int]) -> bytes:
    """``0.0`` if flagged NO_RECORDED_VALUE or missing, else ``float(value)`` (``-0.0`` keeps
    its sign), as Float64: what the column path stores."""
    if _exact(raw, _FLOAT_ONLY):
        values = np.array(raw, dtype="<f8")
    else:
        values = np.array([0.0 if v is None else float(v) for v in raw], dtype="<f8")
    if any(flags):
        values[(np.array(flags, dtype=np.int64) & NO_RECORDED_VALUE) != 0] = 0.0
    return values.tobytes()


def _unset_zero(raw: list[Any]) -> bytes:
    """Min/Max/Sum as the plain path stores them: 0 when None or NaN, else ``float``."""
    if _exact(raw, _FLOAT_ONLY):
        values = np.array(raw, dtype="<f8")
        values[np.isnan(values)] = 0.0
    else:
        values = np.array([0.0 if v is None or v != v else float(v) for v in raw], dtype="<f8")
    return values.tobytes()


def _seconds(nanos: list[int]) -> bytes:
    seconds = np.array(nanos, dtype=np.int64) // _NS_PER_S
    if seconds.size and (seconds.min() < 0 or seconds.max() > _UINT32_MAX):
        raise _Unencodable("a time outside DateTime's range")
    return seconds.astype("<u4").tobytes()


def _uint32(values: list[int]) -> bytes:
    array = np.array(values, dtype=np.int64)
    if array.size and (array.min() < 0 or array.max() > _UINT32_MAX):
        raise _Unencodable("a UInt32 out of range")
    return array.astype("<u4").tobytes()


def _uint64(values: list[Any]) -> bytes:
    if not _exact(values, _INT_ONLY):
        raise _Unencodable("a count that is not an int")
    return np.array(values, dtype="<u8").tobytes()  # negative or too large raises OverflowError


def _offsets(lengths: list[int]) -> bytes:
    return np.cumsum(np.array(lengths, dtype="<u8"), dtype="<u8").tobytes()


def _uint64_arrays(arrays: list[Sequence[Any]]) -> bytes:
    lengths = list(map(len, arrays))
    flat = list(chain.from_iterable(arrays))
    if not _exact(flat, _INT_ONLY):
        raise _Unencodable("a bucket count that is not an int")
    return _offsets(lengths) + np.array(flat, dtype="<u8").tobytes()


def _float_arrays(arrays: list[Sequence[Any]]) -> tuple[bytes, list[int]]:
    """Array(Float64) data as clickhouse-connect packs it (``struct`` ``d``), with the lengths."""
    lengths = list(map(len, arrays))
    flat = list(chain.from_iterable(arrays))
    if not _exact(flat, {float, int}):
        raise _Unencodable("an array element that is not a number")
    return np.array(flat, dtype="<f8").tobytes(), lengths
