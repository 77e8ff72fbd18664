"""Run a generated panel's SQL on a store, as Grafana would through the ClickHouse plugin.

The preview and the tests use this: the query is the panel's ``rawSql`` from the generated
JSON, expanded by :func:`~dashboards._macros.expand_query`; unqualified table names resolve
in ``database``, as the provisioned datasource's ``defaultDatabase`` makes them resolve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Mapping, Sequence

from exporters.clickhouse import engine_lock
from omni_core.errors import DashboardError

from ._macros import ALL, QueryContext, expand_query
from ._sql import GAUGE

__all__ = ["PanelQuery", "PanelResult", "context_for", "data_range", "panel_queries", "run_panel"]

_TABLE = re.compile(r"(?<![.\w`])(otel_metrics_\w+|otel_logs)\b")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel_id: int
    title: str
    panel_type: str
    sql: str
    format: int


@dataclass(frozen=True)
class PanelResult:
    query: PanelQuery
    sql: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def panel_queries(document: Mapping[str, Any]) -> Iterator[PanelQuery]:
    for panel in document.get("panels", []):
        for target in panel.get("targets", []):
            yield PanelQuery(document["uid"], panel["id"], panel["title"], panel["type"], target["rawSql"], target["format"])


def data_range(client: Any, database: str, *, within: timedelta = timedelta(hours=6)) -> tuple[datetime, datetime]:
    """The span of stored ``up`` rows in the last ``within`` (the preview's time range)."""
    sql = (
        f"SELECT min(TimeUnix), max(TimeUnix) FROM {database}.{GAUGE} "
        f"WHERE MetricName = 'up' AND TimeUnix >= now() - INTERVAL {int(within.total_seconds())} SECOND"
    )
    with engine_lock(client):
        start, end = client.query(sql).result_rows[0]
    if start is None or end is None or start.year < 2000:
        raise DashboardError(f"no scrapes stored in {database} in the last {within}: run the collector or the demo first")
    return _utc(start) - timedelta(seconds=1), _utc(end) + timedelta(seconds=1)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def context_for(document: Mapping[str, Any], start: datetime, end: datetime, *, points: int = 100,
                selections: Mapping[str, str | Sequence[str]] | None = None) -> QueryContext:
    """Grafana's view of a dashboard: every variable on "All" unless ``selections`` picks values."""
    variables: dict[str, str | Sequence[str]] = {}
    for variable in document.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            variables[variable["name"]] = [ALL]
    variables.update(selections or {})
    interval = max((end - start).total_seconds() / points, 1.0)
    return QueryContext(start, end, interval_s=interval, variables=variables)


def run_panel(client: Any, database: str, query: PanelQuery, context: QueryContext) -> PanelResult:
    sql = _TABLE.sub(lambda m: f"{database}.{m.group(1)}", expand_query(query.sql, context))
    try:
        with engine_lock(client):
            result = client.query(sql)
    except Exception as exc:  # the driver's errors carry the server's message
        raise DashboardError(f"panel {query.title!r} of {query.dashboard} failed: {exc}") from exc
    return PanelResult(query, sql, tuple(result.column_names), [tuple(r) for r in result.result_rows])
