"""The metric tables, laid out exactly like the OpenTelemetry Collector ``clickhouseexporter``.

Keeping the collector's column names, types and codecs means every query, dashboard and
tool written for that exporter reads our tables unchanged, and a collector can write into
the same tables beside us. We own the DDL (the exporter's ``create_schema: false`` mode)
so the few knobs that matter here are explicit: the table generation, the table names,
the TTL, a cluster, and the deduplication window that makes retried batches idempotent.

Two generations exist upstream. ``classic`` (the default) keeps nanosecond timestamps and
sorts by the attribute map; ``v2`` stores second-precision ``DateTime``, a low-cardinality
metric name and an hour-bucketed sort key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from collections.abc import Collection
from enum import Enum
from typing import Literal

from omni_telemetry.errors import ConfigError, SchemaError, StorageUnavailable

from ._failures import storage_failure

__all__ = [
    "MetricKind",
    "SchemaOptions",
    "TableNames",
    "apply_schema",
    "expected_columns",
    "qualified",
    "render_schema",
    "verify_schema",
]

Generation = Literal["classic", "v2"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_STRING_MAP = "Map(LowCardinality(String), String)"


class MetricKind(str, Enum):
    """The five OTLP metric data types, one table each."""

    GAUGE = "gauge"
    SUM = "sum"
    HISTOGRAM = "histogram"
    EXPONENTIAL_HISTOGRAM = "exponential_histogram"
    SUMMARY = "summary"


@dataclass(frozen=True)
class TableNames:
    """Public table names per metric kind.

    The exporter's own default for exponential histograms has been spelled two ways
    (``otel_metrics_exponential_histogram`` and ``otel_metrics_exp_histogram``); pick the one
    your other writers use.
    """

    gauge: str = "otel_metrics_gauge"
    sum: str = "otel_metrics_sum"
    histogram: str = "otel_metrics_histogram"
    exponential_histogram: str = "otel_metrics_exponential_histogram"
    summary: str = "otel_metrics_summary"

    def __post_init__(self) -> None:
        for kind in MetricKind:
            name = getattr(self, kind.value)
            if not _IDENTIFIER.match(name):
                raise ConfigError(
                    f"table name {name!r} is not a plain identifier; use letters, digits and '_' only",
                    field=f"storage.tables.{kind.value}",
                )
        if len({getattr(self, kind.value) for kind in MetricKind}) != len(MetricKind):
            raise ConfigError("every metric kind needs its own table name", field="storage.tables")

    def table_for(self, kind: MetricKind) -> str:
        return getattr(self, MetricKind(kind).value)


@dataclass(frozen=True)
class SchemaOptions:
    """Where and how the metric tables live.

    ``ttl_days`` 0 keeps data forever. ``cluster`` switches to ``ON CLUSTER`` DDL with
    replicated ``<table>_local`` tables behind ``Distributed`` tables that carry the public
    names, so readers and writers never see the difference. ``deduplication_window`` is the
    number of recent insert blocks a non-replicated table remembers so that a batch retried
    with the same insert token is stored once (replicated tables always deduplicate). With
    the window on, a block sent without a token whose content equals a recent block is also
    dropped: identical series, timestamps and values are duplicates by definition.

    ``inline_string_sizes`` keeps string lengths inline with their bytes
    (``string_serialization_version = 'single_stream'``, the layout before ClickHouse 25).
    The newer separate size stream is a column of UInt64 that ``ZSTD(1)`` alone compresses
    poorly; on the ingest benchmark inline sizes halve the bytes per stored sample. Servers
    that predate the setting store strings this way anyway and never see it.
    """

    database: str = "otel"
    tables: TableNames = field(default_factory=TableNames)
    ttl_days: int = 0
    generation: Generation = "classic"
    cluster: str | None = None
    deduplication_window: int = 1000
    inline_string_sizes: bool = True

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.database):
            raise ConfigError(
                f"database name {self.database!r} is not a plain identifier; use letters, digits and '_' only",
                field="storage.database",
            )
        if self.generation not in ("classic", "v2"):
            raise ConfigError(
                f"unknown table generation {self.generation!r}; use 'classic' (nanosecond timestamps, the "
                "exporter's long-standing layout) or 'v2' (second timestamps, hour-bucketed sort key)",
                field="storage.generation",
            )
        if self.ttl_days < 0:
            raise ConfigError(f"ttl_days must be 0 (keep forever) or positive, not {self.ttl_days}", field="storage.ttl_days")
        if self.deduplication_window < 0:
            raise ConfigError(
                f"deduplication_window must be 0 (off) or positive, not {self.deduplication_window}",
                field="storage.deduplication_window",
            )
        if self.cluster is not None and not _CLUSTER_NAME.match(self.cluster):
            raise ConfigError(
                f"cluster name {self.cluster!r} is not valid; use the name from the server's remote_servers config",
                field="storage.cluster",
            )


def qualified(options: SchemaOptions, kind: MetricKind) -> str:
    """``db.table`` for a metric kind: the public name, which is what queries and inserts use."""
    return f"{options.database}.{options.tables.table_for(kind)}"


# ---- column layout -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    name: str
    type: str
    codec: str = "ZSTD(1)"
    nested: tuple[tuple[str, str], ...] = ()

    def ddl(self) -> str:
        if self.nested:
            inner = ", ".join(f"{name} {type_}" for name, type_ in self.nested)
            return f"{self.name} Nested({inner}) CODEC({self.codec})"
        return f"{self.name} {self.type} CODEC({self.codec})"

    def described(self) -> list[tuple[str, str]]:
        """How DESCRIBE shows it: Nested columns appear as parallel ``Array`` columns."""
        if self.nested:
            return [(f"{self.name}.{name}", f"Array({type_})") for name, type_ in self.nested]
        return [(self.name, self.type)]


def _layout(kind: MetricKind, generation: Generation) -> list[_Column]:
    time_type = "DateTime64(9)" if generation == "classic" else "DateTime"
    name_type = "String" if generation == "classic" else "LowCardinality(String)"
    exemplars = _Column(
        "Exemplars",
        "Nested",
        nested=(
            ("FilteredAttributes", _STRING_MAP),
            ("TimeUnix", time_type),
            ("Value", "Float64"),
            ("SpanId", "String"),
            ("TraceId", "String"),
        ),
    )
    common = [
        _Column("ResourceAttributes", _STRING_MAP),
        _Column("ResourceSchemaUrl", "String"),
        _Column("ScopeName", "String"),
        _Column("ScopeVersion", "String"),
        _Column("ScopeAttributes", _STRING_MAP),
        _Column("ScopeDroppedAttrCount", "UInt32"),
        _Column("ScopeSchemaUrl", "String"),
        _Column("ServiceName", "LowCardinality(String)"),
        _Column("MetricName", name_type),
        _Column("MetricDescription", "String"),
        _Column("MetricUnit", "String"),
        _Column("Attributes", _STRING_MAP),
        _Column("StartTimeUnix", time_type, "Delta, ZSTD(1)"),
        _Column("TimeUnix", time_type, "Delta, ZSTD(1)"),
    ]
    flags = _Column("Flags", "UInt32")
    min_max_temporality = [
        _Column("Min", "Float64"),
        _Column("Max", "Float64"),
        _Column("AggregationTemporality", "Int32"),
    ]
    count_sum = [_Column("Count", "UInt64", "Delta, ZSTD(1)"), _Column("Sum", "Float64")]
    if kind is MetricKind.GAUGE:
        specific = [_Column("Value", "Float64"), flags, exemplars]
    elif kind is MetricKind.SUM:
        specific = [
            _Column("Value", "Float64"),
            flags,
            exemplars,
            _Column("AggregationTemporality", "Int32"),
            _Column("IsMonotonic", "Boolean", "Delta, ZSTD(1)"),
        ]
    elif kind is MetricKind.HISTOGRAM:
        specific = [
            *count_sum,
            _Column("BucketCounts", "Array(UInt64)"),
            _Column("ExplicitBounds", "Array(Float64)"),
            exemplars,
            flags,
            *min_max_temporality,
        ]
    elif kind is MetricKind.EXPONENTIAL_HISTOGRAM:
        specific = [
            *count_sum,
            _Column("Scale", "Int32"),
            _Column("ZeroCount", "UInt64"),
            _Column("PositiveOffset", "Int32"),
            _Column("PositiveBucketCounts", "Array(UInt64)"),
            _Column("NegativeOffset", "Int32"),
            _Column("NegativeBucketCounts", "Array(UInt64)"),
            exemplars,
            flags,
            *min_max_temporality,
        ]
    else:
        specific = [
            *count_sum,
            _Column("ValueAtQuantiles", "Nested", nested=(("Quantile", "Float64"), ("Value", "Float64"))),
            flags,
        ]
    return common + specific


def expected_columns(options: SchemaOptions, kind: MetricKind) -> list[tuple[str, str]]:
    """(name, type) of every stored column in table order, as DESCRIBE reports them.

    This is also the insert column list: the exporter's INSERTs name the same columns.
    """
    described: list[tuple[str, str]] = []
    for column in _layout(MetricKind(kind), options.generation):
        described.extend(column.described())
    # DESCRIBE spells the Boolean alias as Bool.
    return [(name, "Bool" if type_ == "Boolean" else type_) for name, type_ in described]


# ---- DDL -------------------------------------------------------------------------------

_INDEXES = (
    "INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1",
)
_TIME_INDEX = "INDEX idx_time_minmax TimeUnix TYPE minmax GRANULARITY 1"
_STRING_SERIALIZATION = "string_serialization_version"

_SORT_KEYS: dict[str, str] = {
    "classic": "(ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))",
    "v2": "(ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes), TimeUnix)",
}


def _on_cluster(options: SchemaOptions) -> str:
    return f" ON CLUSTER `{options.cluster}`" if options.cluster else ""


def _storage_table(options: SchemaOptions, kind: MetricKind) -> str:
    """The table that holds the data: the public one, or its ``_local`` twin on a cluster."""
    name = options.tables.table_for(kind)
    return f"{name}_local" if options.cluster else name


def _create_storage_table(options: SchemaOptions, kind: MetricKind, server_settings: Collection[str] | None) -> str:
    body = ",\n    ".join([c.ddl() for c in _layout(kind, options.generation)] + list(_INDEXES)
                         + ([_TIME_INDEX] if options.generation == "v2" else []))
    if options.cluster:
        engine = "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"
    else:
        engine = "MergeTree()"
    ttl = f"TTL toDateTime(TimeUnix) + toIntervalDay({options.ttl_days})\n" if options.ttl_days else ""
    settings = "index_granularity=8192, ttl_only_drop_parts = 1"
    if not options.cluster and options.deduplication_window:
        settings += f", non_replicated_deduplication_window = {options.deduplication_window}"
    if options.inline_string_sizes and (server_settings is None or _STRING_SERIALIZATION in server_settings):
        settings += f", {_STRING_SERIALIZATION} = 'single_stream'"
    return (
        f"CREATE TABLE IF NOT EXISTS `{options.database}`.`{_storage_table(options, kind)}`{_on_cluster(options)} (\n"
        f"    {body}\n"
        f") ENGINE = {engine}\n"
        f"{ttl}"
        f"PARTITION BY toDate(TimeUnix)\n"
        f"ORDER BY {_SORT_KEYS[options.generation]}\n"
        f"SETTINGS {settings}"
    )


def _create_distributed_table(options: SchemaOptions, kind: MetricKind) -> str:
    public = options.tables.table_for(kind)
    local = _storage_table(options, kind)
    return (
        f"CREATE TABLE IF NOT EXISTS `{options.database}`.`{public}`{_on_cluster(options)}\n"
        f"AS `{options.database}`.`{local}`\n"
        f"ENGINE = Distributed('{options.cluster}', '{options.database}', '{local}', "
        f"cityHash64(ServiceName, MetricName, Attributes))"
    )


def render_schema(options: SchemaOptions, *, server_settings: Collection[str] | None = None) -> list[str]:
    """Every DDL statement, in the order to run them; all are ``IF NOT EXISTS``.

    ``server_settings`` names the optional table settings the target server knows (see
    :func:`apply_schema`); ``None`` renders all of them.
    """
    statements = [f"CREATE DATABASE IF NOT EXISTS `{options.database}`{_on_cluster(options)}"]
    for kind in MetricKind:
        statements.append(_create_storage_table(options, kind, server_settings))
        if options.cluster:
            statements.append(_create_distributed_table(options, kind))
    return statements


def apply_schema(client, options: SchemaOptions) -> None:
    """Create whatever is missing. Existing tables are never altered (see :func:`verify_schema`)."""
    try:
        known = client.query(
            "SELECT name FROM system.merge_tree_settings WHERE name = {name:String}",
            parameters={"name": _STRING_SERIALIZATION},
        ).result_rows
    except Exception as exc:
        raise storage_failure(exc, "reading the server's table settings") from exc
    for statement in render_schema(options, server_settings={row[0] for row in known}):
        try:
            client.command(statement)
        except Exception as exc:
            raise storage_failure(exc, f"creating the metric schema in database {options.database!r}") from exc


def verify_schema(client, options: SchemaOptions) -> None:
    """Check that every table exists with the columns this version writes.

    Extra columns are fine (inserts name their columns). Missing or retyped columns raise
    :class:`SchemaError` with the statements that fix them, because inserts would fail or
    silently land in the wrong shape otherwise.
    """
    problems: list[str] = []
    for kind in MetricKind:
        table = qualified(options, kind)
        try:
            rows = client.query(f"DESCRIBE TABLE {table}").result_rows
        except Exception as exc:
            failure = storage_failure(exc, f"describing {table}")
            if isinstance(failure, StorageUnavailable):
                raise failure from exc
            problems.append(f"{table}: table cannot be described ({failure}); create it with apply_schema()")
            continue
        actual = {row[0]: row[1] for row in rows}
        layout = {name: ddl for column in _layout(kind, options.generation) for name, ddl in _ddl_by_name(column)}
        for name, type_ in expected_columns(options, kind):
            if name not in actual:
                problems.append(
                    f"{table}: column {name} is missing; fix: ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {layout[name]}"
                )
            elif actual[name] != type_:
                hint = _generation_hint(options, name, actual[name])
                problems.append(
                    f"{table}: column {name} is {actual[name]}, expected {type_}; fix: "
                    + (hint or f"ALTER TABLE {table} MODIFY COLUMN {layout[name]}")
                )
    if problems:
        raise SchemaError("the metric tables do not match the expected layout:\n  " + "\n  ".join(problems))


def _ddl_by_name(column: _Column) -> list[tuple[str, str]]:
    if column.nested:
        return [
            (f"{column.name}.{name}", f"`{column.name}.{name}` Array({type_}) CODEC({column.codec})")
            for name, type_ in column.nested
        ]
    return [(column.name, column.ddl())]


def _generation_hint(options: SchemaOptions, name: str, actual: str) -> str | None:
    """A timestamp or name type from the other generation means the setting is wrong, not the table."""
    other: Generation = "v2" if options.generation == "classic" else "classic"
    other_types = dict(expected_columns(SchemaOptions(generation=other), MetricKind.GAUGE))
    if name in other_types and other_types[name] == actual:
        return f"the table was created with generation {other!r}; set storage generation to {other!r}"
    return None
