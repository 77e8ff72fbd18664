"""Grafana dashboards generated from Python (grafanalib) for the Grafana ClickHouse datasource;
they read the metric tables defined in :mod:`exporters.clickhouse`.

``build_files``/``write_files``/``check_files`` produce and verify ``dashboards/generated/``;
``push_dashboards`` uploads through Grafana's API; ``render_previews`` draws offline HTML from
the same panel SQL; ``datasource_provisioning`` writes the plugin's provisioning file.
"""

from ._build import DASHBOARDS, FOLDER, GENERATED_DIR, build_files, check_files, dashboard_json, write_files
from ._execute import PanelQuery, PanelResult, context_for, data_range, panel_queries, run_panel
from ._grafana import ALLOWED_PANEL_TYPES, PLUGIN_ID, SCHEMA_VERSION, ClickHouseTarget
from ._macros import ALL, QueryContext, expand_query
from ._preview import render_previews
from ._provisioning import DATASOURCE_UID, datasource_provisioning
from ._push import PushOutcome, push_dashboards, read_token

__all__ = [
    "ALL",
    "ALLOWED_PANEL_TYPES",
    "DASHBOARDS",
    "DATASOURCE_UID",
    "FOLDER",
    "GENERATED_DIR",
    "PLUGIN_ID",
    "SCHEMA_VERSION",
    "ClickHouseTarget",
    "PanelQuery",
    "PanelResult",
    "PushOutcome",
    "QueryContext",
    "build_files",
    "check_files",
    "context_for",
    "dashboard_json",
    "data_range",
    "datasource_provisioning",
    "expand_query",
    "panel_queries",
    "push_dashboards",
    "read_token",
    "render_previews",
    "run_panel",
    "write_files",
]
