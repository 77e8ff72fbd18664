"""The ``otel_logs`` table, laid out exactly like the OpenTelemetry Collector ``clickhouseexporter``.

Source: the exporter's ``internal/sqltemplates/logs_table.sql`` (contrib commit 169e3b3e,
the layout every exporter release before v0.151.0 creates, and the one Grafana's ClickHouse
plugin reads in OTel mode in every 4.x version). Column names, types, codecs, skip indexes,
``PARTITION BY toDate(TimestampTime)``, ``PRIMARY KEY (ServiceName, TimestampTime)`` and
``ORDER BY (ServiceName, TimestampTime, Timestamp)`` are the exporter's; the TTL expression
is the exporter's ``TTL TimestampTime + toIntervalDay(N)``.

One layout serves both metric generations. Exporter v0.151.0 (PR #47720) dropped
``TimestampTime`` and re-keyed the table; that layout broke the Grafana plugin until 4.20
and is not created here. A newer Collector pointed at this table with ``create_schema:
false`` still inserts into it: its INSERT names only columns this table has, and
``TimestampTime`` fills itself from ``Timestamp``.

Like the metric tables: ``ON CLUSTER`` with a replicated ``otel_logs_local`` behind a
``Distributed`` ``otel_logs`` on a cluster, the deduplication window that makes a retried
batch idempotent, and inline string sizes where the server knows the setting.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from omni_core.errors import ConfigError

from ._options import SchemaOptions

__all__ = [
    "LOGS_TABLE",
    "logs_column_ddl",
    "logs_expected_columns",
    "logs_insert_columns",
    "logs_schema_problems",
    "qualified_logs",
    "render_logs_schema",
]

#: The exporter's default ``logs_table_name``.
LOGS_TABLE = "otel_logs"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STRING_MAP = "Map(LowCardinality(String), String)"
#: Mirrors the metric schema's optional setting (see ``_schema.OPTIONAL_TABLE_SETTING``).
_OPTIONAL_TABLE_SETTING = "string_serialization_version"

#: (name, type, column tail) in table order; the tail is the codec or the DEFAULT clause.
_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Timestamp", "DateTime64(9)", "CODEC(Delta(8), ZSTD(1))"),
    ("TimestampTime", "DateTime", "DEFAULT toDateTime(Timestamp)"),
    ("TraceId", "String", "CODEC(ZSTD(1))"),
    ("SpanId", "String", "CODEC(ZSTD(1))"),
    ("TraceFlags", "UInt8", ""),
    ("SeverityText", "LowCardinality(String)", "CODEC(ZSTD(1))"),
    ("SeverityNumber", "UInt8", ""),
    ("ServiceName", "LowCardinality(String)", "CODEC(ZSTD(1))"),
    ("Body", "String", "CODEC(ZSTD(1))"),
    ("ResourceSchemaUrl", "LowCardinality(String)", "CODEC(ZSTD(1))"),
    ("ResourceAttributes", _STRING_MAP, "CODEC(ZSTD(1))"),
    ("ScopeSchemaUrl", "LowCardinality(String)", "CODEC(ZSTD(1))"),
    ("ScopeName", "String", "CODEC(ZSTD(1))"),
    ("ScopeVersion", "LowCardinality(String)", "CODEC(ZSTD(1))"),
    ("ScopeAttributes", _STRING_MAP, "CODEC(ZSTD(1))"),
    ("LogAttributes", _STRING_MAP, "CODEC(ZSTD(1))"),
)
#: Filled by the server, never named in an INSERT.
_COMPUTED = frozenset({"TimestampTime"})

_INDEXES = (
    "INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1",
    "INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8",
    "INDEX idx_body_ngrambf Body TYPE ngrambf_v1(4, 32768, 3, 0) GRANULARITY 1",
)


def _checked(table: str) -> str:
    if not _IDENTIFIER.match(table):
        raise ConfigError(
            f"logs table name {table!r} is not a plain identifier; use letters, digits and '_' only",
            field="logs_table",
        )
    return table


def qualified_logs(options: SchemaOptions, table: str = LOGS_TABLE) -> str:
    """``db.table`` of the logs table: the public name, which queries and inserts use."""
    return f"{options.database}.{_checked(table)}"


def logs_expected_columns() -> list[tuple[str, str]]:
    """(name, type) of every column in table order, as DESCRIBE reports them."""
    return [(name, type_) for name, type_, _ in _COLUMNS]


def logs_insert_columns() -> list[str]:
    """The columns an INSERT names, in the exporter's order (``TimestampTime`` is computed)."""
    return [name for name, _, _ in _COLUMNS if name not in _COMPUTED]


def logs_column_ddl() -> dict[str, str]:
    """Each column's definition for ``ALTER TABLE ... ADD|MODIFY COLUMN``."""
    return {name: f"{name} {type_} {tail}".rstrip() for name, type_, tail in _COLUMNS}


def _on_cluster(options: SchemaOptions) -> str:
    return f" ON CLUSTER `{options.cluster}`" if options.cluster else ""


def _create_storage_table(options: SchemaOptions, table: str, server_settings: Collection[str] | None) -> str:
    storage = f"{table}_local" if options.cluster else table
    body = ",\n    ".join(list(logs_column_ddl().values()) + list(_INDEXES))
    if options.cluster:
        engine = "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"
    else:
        engine = "MergeTree()"
    ttl = f"TTL TimestampTime + toIntervalDay({options.ttl_days})\n" if options.ttl_days else ""
    settings = "index_granularity = 8192, ttl_only_drop_parts = 1"
    if not options.cluster and options.deduplication_window:
        settings += f", non_replicated_deduplication_window = {options.deduplication_window}"
    if options.inline_string_sizes and (server_settings is None or _OPTIONAL_TABLE_SETTING in server_settings):
        settings += f", {_OPTIONAL_TABLE_SETTING} = 'single_stream'"
    return (
        f"CREATE TABLE IF NOT EXISTS `{options.database}`.`{storage}`{_on_cluster(options)} (\n"
        f"    {body}\n"
        f") ENGINE = {engine}\n"
        f"PARTITION BY toDate(TimestampTime)\n"
        f"PRIMARY KEY (ServiceName, TimestampTime)\n"
        f"ORDER BY (ServiceName, TimestampTime, Timestamp)\n"
        f"{ttl}"
        f"SETTINGS {settings}"
    )


def _create_distributed_table(options: SchemaOptions, table: str) -> str:
    # A deterministic sharding key: a batch retried with the same insert token lands on the
    # same shards in the same blocks, so replicated deduplication still recognises it.
    return (
        f"CREATE TABLE IF NOT EXISTS `{options.database}`.`{table}`{_on_cluster(options)}\n"
        f"AS `{options.database}`.`{table}_local`\n"
        f"ENGINE = Distributed('{options.cluster}', '{options.database}', '{table}_local', "
        f"cityHash64(ServiceName, ResourceAttributes))"
    )


def render_logs_schema(
    options: SchemaOptions, table: str = LOGS_TABLE, *, server_settings: Collection[str] | None = None
) -> list[str]:
    """The logs table's DDL (``IF NOT EXISTS``), after the database exists; see ``render_schema``."""
    table = _checked(table)
    statements = [_create_storage_table(options, table, server_settings)]
    if options.cluster:
        statements.append(_create_distributed_table(options, table))
    return statements


def logs_schema_problems(client, options: SchemaOptions, table: str = LOGS_TABLE) -> list[str]:
    """What is wrong with an existing logs table, each with the statement that fixes it
    (the logs half of ``verify_schema``). Extra columns (``EventName`` from a newer
    Collector) are fine: inserts name their columns."""
    from omni_core.errors import StorageUnavailable

    from ._failures import storage_failure

    name = qualified_logs(options, table)
    try:
        rows = client.query(f"DESCRIBE TABLE {name}").result_rows
    except Exception as exc:
        failure = storage_failure(exc, f"describing {name}")
        if isinstance(failure, StorageUnavailable):
            raise failure from exc
        return [f"{name}: table cannot be described ({failure}); create it with apply_schema()"]
    actual = {row[0]: row[1] for row in rows}
    ddl = logs_column_ddl()
    problems = []
    for column, type_ in logs_expected_columns():
        if column not in actual:
            problems.append(f"{name}: column {column} is missing; fix: ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {ddl[column]}")
        elif actual[column] != type_:
            problems.append(f"{name}: column {column} is {actual[column]}, expected {type_}; fix: "
                            f"ALTER TABLE {name} MODIFY COLUMN {ddl[column]}")
    return problems
