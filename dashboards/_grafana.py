"""A small typed layer over grafanalib for what its last release (0.7.1) lacks.

grafanalib predates Grafana 11: it emits ``schemaVersion`` 12, Prometheus-shaped targets and
no status-history panel. This module adds the Grafana ClickHouse datasource's v4 query
(:class:`ClickHouseTarget`), the status-history panel, datasource and ClickHouse query
template variables, and one function per panel type the dashboards use, each producing only
panel types Grafana 11 and 12 render without Angular. Panels refer to the datasource through
the ``${datasource}`` variable, so one dashboard works against any provisioned ClickHouse.

Log panels use Grafana's core ``logs`` panel on the plugin's logs format (query format 2):
the query names its columns as the plugin's logs query builder does (``timestamp``,
``body``, ``level``, ``labels``), so Grafana reads the frame as log lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import attr
from grafanalib import core as g

__all__ = [
    "ALLOWED_PANEL_TYPES",
    "DATASOURCE",
    "PLUGIN_ID",
    "PLUGIN_VERSION",
    "SCHEMA_VERSION",
    "ClickHouseTarget",
    "ClickHouseVariable",
    "DatasourceVariable",
    "Grid",
    "Layout",
    "ReducedValuePanel",
    "StateMap",
    "StatusHistory",
    "LogsPanel",
    "bargauge",
    "gauge",
    "logs",
    "state_timeline",
    "stat",
    "status_history",
    "table",
    "text",
    "timeseries",
]

PLUGIN_ID = "grafana-clickhouse-datasource"
#: The plugin release the query JSON follows (v4 query model: editorType, rawSql, format).
PLUGIN_VERSION = "4.11.1"
#: What Grafana 11 writes when it saves a dashboard; 12 migrates it on load without change.
SCHEMA_VERSION = 39
#: Panel types rendered by Grafana 11/12 core React code (no Angular, no plugin panels).
ALLOWED_PANEL_TYPES = frozenset(
    {"timeseries", "stat", "table", "gauge", "bargauge", "state-timeline", "status-history", "text", "logs"}
)
DATASOURCE = {"type": PLUGIN_ID, "uid": "${datasource}"}

FORMAT_TIME_SERIES = 0
FORMAT_TABLE = 1
#: The plugin's logs format: Grafana draws the frame as log lines (time, body, level, labels).
FORMAT_LOGS = 2


@attr.s(frozen=True)
class ClickHouseTarget:
    """One query of the ClickHouse plugin (v4 JSON), raw SQL in the SQL editor."""

    rawSql: str = attr.ib(validator=attr.validators.instance_of(str))  # noqa: N815 (Grafana's name)
    format: int = attr.ib(default=FORMAT_TIME_SERIES, validator=attr.validators.in_((FORMAT_TIME_SERIES, FORMAT_TABLE, FORMAT_LOGS)))
    refId: str = attr.ib(default="A")  # noqa: N815

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": dict(DATASOURCE),
            "editorType": "sql",
            "format": self.format,
            "pluginVersion": PLUGIN_VERSION,
            "rawSql": self.rawSql,
            "refId": self.refId,
        }


@attr.s(frozen=True)
class DatasourceVariable:
    """``$datasource``: a picker over the provisioned ClickHouse datasources."""

    name: str = attr.ib(default="datasource")
    label: str = attr.ib(default="Data source")

    def to_json_data(self) -> dict[str, Any]:
        return {
            "current": {},
            "hide": 0,
            "includeAll": False,
            "label": self.label,
            "multi": False,
            "name": self.name,
            "options": [],
            "query": PLUGIN_ID,
            "refresh": 1,
            "regex": "",
            "type": "datasource",
        }


@attr.s(frozen=True)
class ClickHouseVariable:
    """A query variable answered by the ClickHouse plugin, refreshed when the time range changes.

    Multi-value with "All": panels filter with ``$__conditionalAll(... IN (${name:singlequote}), $name)``,
    which drops the condition when "All" is selected.
    """

    name: str = attr.ib()
    label: str = attr.ib()
    sql: str = attr.ib()

    def to_json_data(self) -> dict[str, Any]:
        return {
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "datasource": dict(DATASOURCE),
            "definition": self.sql,
            "hide": 0,
            "includeAll": True,
            "label": self.label,
            "multi": True,
            "name": self.name,
            "options": [],
            "query": {"editorType": "sql", "rawSql": self.sql},
            "refresh": 2,
            "regex": "",
            "sort": 1,
            "type": "query",
        }


@dataclass(frozen=True)
class Grid:
    """Where a panel sits: Grafana's 24-column grid."""

    x: int
    y: int
    w: int
    h: int

    def pos(self) -> g.GridPos:
        return g.GridPos(h=self.h, w=self.w, x=self.x, y=self.y)


class Layout:
    """Places panels left to right on Grafana's 24-column grid, wrapping to a new row when full."""

    def __init__(self) -> None:
        self._x = 0
        self._y = 0
        self._row_h = 0

    def next(self, w: int, h: int = 8) -> Grid:
        if self._x + w > 24:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0
        grid = Grid(self._x, self._y, w, h)
        self._x += w
        self._row_h = max(self._row_h, h)
        return grid


@dataclass(frozen=True)
class StateMap:
    """Numeric state codes a state query returns, their text and colour (Grafana value mappings)."""

    states: Sequence[tuple[int, str, str]]

    def mappings(self) -> list[dict[str, Any]]:
        return [
            {
                "options": {str(code): {"color": color, "index": i, "text": text} for i, (code, text, color) in enumerate(self.states)},
                "type": "value",
            }
        ]


def _thresholds(steps: Sequence[tuple[float | None, str]]) -> list[dict[str, Any]]:
    """Grafana's threshold steps; the first (base) step has value null (grafanalib writes the string "null")."""
    return [{"color": color, "value": None if value is None else float(value)} for value, color in steps]


_DEFAULT_STEPS: Sequence[tuple[float | None, str]] = ((None, "green"),)
_LEGEND_NAME = "${__field.labels.legend}"


def _target(sql: str, fmt: int) -> list[ClickHouseTarget]:
    return [ClickHouseTarget(rawSql=sql, format=fmt)]


def _common(title: str, description: str, grid: Grid) -> dict[str, Any]:
    return {"title": title, "description": description, "gridPos": grid.pos(), "dataSource": dict(DATASOURCE)}


def timeseries(
    title: str, sql: str, grid: Grid, *, unit: str = "short", description: str = "", stacked: bool = False,
    min_value: int | None = None, max_value: int | None = None,
    threshold_lines: Sequence[tuple[float | None, str]] | None = None,
) -> g.TimeSeries:
    """Lines over time; the query returns ``time, legend, value`` (long format, one series per legend).

    ``threshold_lines`` draws threshold steps as dashed lines (e.g. a limit the values must stay under).
    """
    lines: dict[str, Any] = {}
    if threshold_lines:
        lines = {"thresholds": _thresholds(threshold_lines), "thresholdsStyleMode": "dashed"}
    return g.TimeSeries(
        **_common(title, description, grid),
        targets=_target(sql, FORMAT_TIME_SERIES),
        unit=unit,
        fillOpacity=20 if stacked else 8,
        stacking={"mode": "normal", "group": "A"} if stacked else {"mode": "none", "group": "A"},
        valueMin=min_value,
        valueMax=max_value,
        tooltipMode="multi",
        legendDisplayMode="list",
        extraJson={"fieldConfig": {"defaults": {"displayName": _LEGEND_NAME}}},
        **lines,
    )


def stat(
    title: str, sql: str, grid: Grid, *, unit: str = "short", description: str = "",
    steps: Sequence[tuple[float | None, str]] = _DEFAULT_STEPS, states: StateMap | None = None,
    per_row: bool = False,
) -> g.Stat:
    """Big numbers; a table query, one value per row when ``per_row`` (the row's text names it)."""
    panel = g.Stat(
        **_common(title, description, grid),
        targets=_target(sql, FORMAT_TABLE),
        format=unit,
        reduceCalc="lastNotNull",
        graphMode="none",
        colorMode="background" if states else "value",
        thresholds=_thresholds(steps),
        mappings=states.mappings() if states else [],
    )
    return attr.evolve(panel, extraJson={"options": {"reduceOptions": {"values": per_row}}})


def table(title: str, sql: str, grid: Grid, *, unit: str = "short", description: str = "") -> g.Table:
    """Rows as the query returns them."""
    return g.Table(**_common(title, description, grid), targets=_target(sql, FORMAT_TABLE), unit=unit, span=None)


@attr.s
class ReducedValuePanel(g.Panel):
    """``gauge`` or ``bargauge`` in Grafana 8+ JSON (grafanalib writes the Grafana 6 ``fieldOptions``)."""

    panelType: str = attr.ib(default="gauge", validator=attr.validators.in_(("gauge", "bargauge")))  # noqa: N815
    unit: str = attr.ib(default="percent")
    minValue: float = attr.ib(default=0.0)  # noqa: N815
    maxValue: float = attr.ib(default=100.0)  # noqa: N815
    steps: list[dict[str, Any]] = attr.ib(factory=list)

    def to_json_data(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "orientation": "horizontal" if self.panelType == "bargauge" else "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True},
            "showThresholdLabels": False,
            "showThresholdMarkers": True,
        }
        if self.panelType == "bargauge":
            options.update({"displayMode": "gradient", "showUnfilled": True, "valueMode": "color"})
        return self.panel_json(
            {
                "fieldConfig": {
                    "defaults": {
                        "color": {"mode": "thresholds"},
                        "mappings": [],
                        "max": self.maxValue,
                        "min": self.minValue,
                        "thresholds": {"mode": "absolute", "steps": self.steps},
                        "unit": self.unit,
                    },
                    "overrides": [],
                },
                "options": options,
                "type": self.panelType,
            }
        )


def gauge(
    title: str, sql: str, grid: Grid, *, unit: str = "percent", description: str = "",
    min_value: float = 0, max_value: float = 100, steps: Sequence[tuple[float | None, str]] = _DEFAULT_STEPS,
) -> ReducedValuePanel:
    """A dial per row of a table query (the row's text names it)."""
    return ReducedValuePanel(**_common(title, description, grid), targets=_target(sql, FORMAT_TABLE), panelType="gauge",
                             unit=unit, minValue=float(min_value), maxValue=float(max_value), steps=_thresholds(steps))


def bargauge(
    title: str, sql: str, grid: Grid, *, unit: str = "percent", description: str = "",
    min_value: float = 0, max_value: float = 100, steps: Sequence[tuple[float | None, str]] = _DEFAULT_STEPS,
) -> ReducedValuePanel:
    """Horizontal bars, one per row of a table query."""
    return ReducedValuePanel(**_common(title, description, grid), targets=_target(sql, FORMAT_TABLE), panelType="bargauge",
                             unit=unit, minValue=float(min_value), maxValue=float(max_value), steps=_thresholds(steps))


def state_timeline(title: str, sql: str, grid: Grid, states: StateMap, *, description: str = "") -> g.StateTimeline:
    """Coloured bands per entity; the query returns ``time, legend, value`` with ``value`` a state code."""
    return g.StateTimeline(
        **_common(title, description, grid),
        targets=_target(sql, FORMAT_TIME_SERIES),
        colorMode="fixed",
        mappings=states.mappings(),
        extraJson={"fieldConfig": {"defaults": {"displayName": _LEGEND_NAME}}},
    )


@attr.s
class StatusHistory(g.Panel):
    """Grafana's ``status-history`` panel (absent from grafanalib): one cell per entity and time bucket."""

    mappings: list[dict[str, Any]] = attr.ib(factory=list)
    showValue: str = attr.ib(default="never")  # noqa: N815
    rowHeight: float = attr.ib(default=0.9)  # noqa: N815

    def to_json_data(self) -> dict[str, Any]:
        return self.panel_json(
            {
                "fieldConfig": {
                    "defaults": {
                        "color": {"mode": "thresholds"},
                        "custom": {"fillOpacity": 80, "lineWidth": 1},
                        "displayName": _LEGEND_NAME,
                        "mappings": self.mappings,
                    },
                    "overrides": [],
                },
                "options": {
                    "colWidth": 0.9,
                    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                    "rowHeight": self.rowHeight,
                    "showValue": self.showValue,
                    "tooltip": {"mode": "single", "sort": "none"},
                },
                "type": "status-history",
            }
        )


def status_history(title: str, sql: str, grid: Grid, states: StateMap, *, description: str = "") -> StatusHistory:
    """A grid of state cells per entity over time; the query returns ``time, legend, value`` (state code)."""
    return StatusHistory(**_common(title, description, grid), targets=_target(sql, FORMAT_TIME_SERIES), mappings=states.mappings())


@attr.s
class LogsPanel(g.Panel):
    """Grafana's core ``logs`` panel (absent from grafanalib), newest lines first."""

    showLabels: bool = attr.ib(default=False)  # noqa: N815
    wrapLogMessage: bool = attr.ib(default=True)  # noqa: N815

    def to_json_data(self) -> dict[str, Any]:
        return self.panel_json(
            {
                "options": {
                    "dedupStrategy": "none",
                    "enableLogDetails": True,
                    "prettifyLogMessage": False,
                    "showCommonLabels": False,
                    "showLabels": self.showLabels,
                    "showTime": True,
                    "sortOrder": "Descending",
                    "wrapLogMessage": self.wrapLogMessage,
                },
                "type": "logs",
            }
        )


def logs(title: str, sql: str, grid: Grid, *, description: str = "") -> LogsPanel:
    """Log lines; the query returns ``timestamp, body, level, labels`` (the plugin's logs format)."""
    return LogsPanel(**_common(title, description, grid), targets=_target(sql, FORMAT_LOGS))


def text(title: str, content: str, grid: Grid) -> g.Text:
    """Markdown: what the dashboard shows and where its data comes from."""
    return g.Text(title=title, content=content, mode="markdown", gridPos=grid.pos())


def variables(*items: Any) -> g.Templating:
    return g.Templating(list=list(items))


def dashboard(
    *, uid: str, title: str, description: str, tags: Sequence[str], panels: Sequence[g.Panel],
    templating: Sequence[Any], time_from: str = "now-1h",
) -> g.Dashboard:
    """A dashboard with a stable uid, a current schema version and auto-numbered panels."""
    return g.Dashboard(
        uid=uid,
        title=title,
        description=description,
        tags=list(tags),
        panels=list(panels),
        templating=variables(*templating),
        time=g.Time(time_from, "now"),
        timezone="browser",
        refresh="30s",
        schemaVersion=SCHEMA_VERSION,
        graphTooltip=1,
    ).auto_panel_ids()

