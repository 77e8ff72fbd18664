"""The metric tables, laid out exactly like the OpenTelemetry Collector ``clickhouseexporter``.

Keeping the collector's column names, types and codecs means every query, dashboard and
tool written for that exporter reads our tables unchanged, and a collector can write into
the same tables beside us. Two generations exist upstream: ``classic`` (the default) keeps
nanosecond timestamps and sorts by the attribute map; ``v2`` stores second-precision
``DateTime``, a low-cardinality metric name and an hour-bucketed sort key.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ._logs_schema import render_logs_schema
from ._options import Generation, MetricKind, SchemaOptions

__all__ = ["MERGE_SELECTOR_TABLE_SETTING", "OPTIONAL_TABLE_SETTING", "STATISTICS_TABLE_SETTING", "column_ddl", "expected_columns", "render_schema"]

_STRING_MAP = "Map(LowCardinality(String), String)"


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


def column_ddl(options: SchemaOptions, kind: MetricKind) -> dict[str, str]:
    """Each stored column's definition for ``ALTER TABLE ... ADD|MODIFY COLUMN``, by DESCRIBE name."""
    ddl: dict[str, str] = {}
    for column in _layout(MetricKind(kind), options.generation):
        if column.nested:
            for name, type_ in column.nested:
                ddl[f"{column.name}.{name}"] = f"`{column.name}.{name}` Array({type_}) CODEC({column.codec})"
        else:
            ddl[column.name] = column.ddl()
    return ddl


_INDEXES = (
    "INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1",
)
_TIME_INDEX = "INDEX idx_time_minmax TimeUnix TYPE minmax GRANULARITY 1"
#: The one table setting older servers reject; :func:`render_schema` leaves it out for them.
OPTIONAL_TABLE_SETTING = "string_serialization_version"
#: Statistics the engine would otherwise compute for every column on every merge; no query of
#: this project reads them. Only newer engines know the setting.
STATISTICS_TABLE_SETTING = "auto_statistics_types"
#: How many similar parts wait for a merge (see ``SchemaOptions.merge_selector_base``).
MERGE_SELECTOR_TABLE_SETTING = "merge_selector_base"

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
    if options.inline_string_sizes and (server_settings is None or OPTIONAL_TABLE_SETTING in server_settings):
        settings += f", {OPTIONAL_TABLE_SETTING} = 'single_stream'"
    if server_settings is None or STATISTICS_TABLE_SETTING in server_settings:
        settings += f", {STATISTICS_TABLE_SETTING} = ''"
    if options.merge_selector_base and (server_settings is None or MERGE_SELECTOR_TABLE_SETTING in server_settings):
        settings += f", {MERGE_SELECTOR_TABLE_SETTING} = {options.merge_selector_base}"
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
    # The exporter's logs table beside the metric tables (see _logs_schema).
    statements.extend(render_logs_schema(options, server_settings=server_settings))
    return statements
