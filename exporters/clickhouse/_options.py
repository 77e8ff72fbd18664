"""What the metric store looks like to its users: database, table names, generation, TTL, cluster.

The knobs mirror the OpenTelemetry Collector ``clickhouseexporter`` (whose ``create_schema:
false`` mode we take, owning the DDL ourselves) plus the deduplication window that makes
retried batches idempotent and the string layout that keeps stored samples small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from omni_core.errors import ConfigError

__all__ = ["Generation", "MetricKind", "SchemaOptions", "TableNames", "qualified"]

Generation = Literal["classic", "v2"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


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
                    field="exp_histogram_table" if kind is MetricKind.EXPONENTIAL_HISTOGRAM else "tables",
                )
        if len({getattr(self, kind.value) for kind in MetricKind}) != len(MetricKind):
            raise ConfigError("every metric kind needs its own table name", field="tables")

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

    ``merge_selector_base`` is how many parts of similar size the engine lets accumulate
    before it merges them (the engine's default is 5). A collector inserts a part every few
    seconds around the clock, and with the default each row is rewritten by merges many times
    within minutes: on the end-to-end benchmark merges became the largest cost of storing a
    sample. 20 merges less often, in bigger steps, for a few dozen more active parts per
    partition. 0 leaves the engine's default; engines without the setting never see it.
    """

    database: str = "otel"
    tables: TableNames = field(default_factory=TableNames)
    ttl_days: int = 0
    generation: Generation = "classic"
    cluster: str | None = None
    deduplication_window: int = 1000
    inline_string_sizes: bool = True
    merge_selector_base: int = 20

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.database):
            raise ConfigError(
                f"database name {self.database!r} is not a plain identifier; use letters, digits and '_' only",
                field="database",
            )
        if self.generation not in ("classic", "v2"):
            raise ConfigError(
                f"unknown table generation {self.generation!r}; use 'classic' (nanosecond timestamps, the "
                "exporter's long-standing layout) or 'v2' (second timestamps, hour-bucketed sort key)",
                field="table_generation",
            )
        if self.ttl_days < 0:
            raise ConfigError(f"ttl_days must be 0 (keep forever) or positive, not {self.ttl_days}", field="retention_days")
        if self.deduplication_window < 0:
            raise ConfigError(
                f"deduplication_window must be 0 (off) or positive, not {self.deduplication_window}",
                field="deduplication_window",
            )
        if self.merge_selector_base < 0 or self.merge_selector_base == 1:
            raise ConfigError(
                f"merge_selector_base must be 0 (the engine's default) or at least 2, not {self.merge_selector_base}",
                field="table_merge_selector_base",
            )
        if self.cluster is not None and not _CLUSTER_NAME.match(self.cluster):
            raise ConfigError(
                f"cluster name {self.cluster!r} is not valid; use the name from the server's remote_servers config",
                field="storage_cluster",
            )


def qualified(options: SchemaOptions, kind: MetricKind) -> str:
    """``db.table`` for a metric kind: the public name, which is what queries and inserts use."""
    return f"{options.database}.{options.tables.table_for(kind)}"
