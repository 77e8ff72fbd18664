"""Offline previews: each dashboard as one self-contained HTML page, drawn from the same panel SQL.

For operators without a Grafana at hand and for reviewers of a dashboard change. Plotly's
JavaScript is embedded once per page (from the Python package), nothing is fetched at view
time. Time-series panels (timeseries, state timeline, status history) become line charts per
legend, table-format panels and log panels (newest line first) become tables. After the last panel is drawn the page sets
``data-omni-preview="drawn N"`` on ``<body>``, or ``error ...`` if any panel's script threw,
so a headless browser can tell a finished page from a broken one.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from ._build import DASHBOARDS, dashboard_json
from ._execute import PanelResult, context_for, data_range, panel_queries, run_panel

__all__ = ["render_previews", "preview_page"]

_TIME_SERIES = 0


_STATE_PANELS = ("state-timeline", "status-history")


def _state_figure(result: PanelResult, states: dict[str, tuple[str, str]]) -> go.Figure:
    """State panels as a grid: one row per entity, one cell per time bucket, coloured and named as the panel maps codes."""
    times = sorted({row[0] for row in result.rows})
    legends = sorted({str(row[1]) for row in result.rows})
    cells = {(str(row[1]), row[0]): row[2] for row in result.rows}
    z = [[cells.get((legend, time)) for time in times] for legend in legends]
    text = [[states.get(str(int(v)), (str(v), ""))[0] if v is not None else "" for v in line] for line in z]
    codes = sorted(int(code) for code in states) or [0, 1]
    low, high = codes[0] - 0.5, codes[-1] + 0.5
    scale = []
    for code in codes:  # a flat band of the state's colour around each code
        colour = states.get(str(code), ("", "gray"))[1] or "gray"
        scale += [[(code - 0.5 - low) / (high - low), colour], [(code + 0.5 - low) / (high - low), colour]]
    return go.Figure([go.Heatmap(x=times, y=legends, z=z, text=text, zmin=low, zmax=high, colorscale=scale,
                                 hovertemplate="%{y} %{x}: %{text}<extra></extra>", showscale=False, xgap=1, ygap=2)])


def _figure(result: PanelResult, states: dict[str, tuple[str, str]] | None = None) -> go.Figure:
    columns, rows = result.columns, result.rows
    if result.query.panel_type in _STATE_PANELS and rows and len(columns) >= 3:
        figure = _state_figure(result, states or {})
    elif result.query.format == _TIME_SERIES and len(columns) >= 3:
        series: dict[str, tuple[list[Any], list[Any]]] = {}
        for row in rows:
            xs, ys = series.setdefault(str(row[1]), ([], []))
            xs.append(row[0])
            ys.append(None if row[2] != row[2] else row[2])
        figure = go.Figure([go.Scatter(x=xs, y=ys, name=name, mode="lines+markers") for name, (xs, ys) in series.items()])
    else:
        values = [[_cell(row[i]) for row in rows] for i in range(len(columns))]
        figure = go.Figure([go.Table(header={"values": list(columns)}, cells={"values": values})])
    figure.update_layout(title=result.query.title, height=320, margin={"l": 40, "r": 20, "t": 40, "b": 30}, showlegend=True)
    return figure


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    return value if isinstance(value, (int, str)) else str(value)


def _state_texts(document: dict[str, Any]) -> dict[int, dict[str, tuple[str, str]]]:
    """Panel id -> state code -> (text, colour), from the panels' value mappings."""
    texts: dict[int, dict[str, tuple[str, str]]] = {}
    for panel in document.get("panels", []):
        for mapping in panel.get("fieldConfig", {}).get("defaults", {}).get("mappings", []):
            if mapping.get("type") == "value":
                texts[panel["id"]] = {code: (o.get("text", code), o.get("color", "gray")) for code, o in mapping["options"].items()}
    return texts


def preview_page(title: str, results: list[PanelResult], start: datetime, end: datetime,
                 states: dict[int, dict[str, tuple[str, str]]] | None = None) -> str:
    blocks, scripts = [], []
    for index, result in enumerate(results):
        div = f"panel-{index}"
        empty = "" if result.rows else '<p class="empty">no data in this range</p>'
        blocks.append(f'<section><div id="{div}"></div>{empty}<details><summary>SQL</summary><pre>{html.escape(result.sql)}</pre></details></section>')
        spec = _figure(result, (states or {}).get(result.query.panel_id)).to_json()
        scripts.append(f"try {{ var f = {spec}; Plotly.newPlot({json.dumps(div)}, f.data, f.layout); drawn++; }} "
                       f"catch (e) {{ failures.push({json.dumps(result.query.title)} + ': ' + e); }}")
    body = "\n".join(blocks)
    script = "\n".join(scripts)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:1em}} section{{margin-bottom:1em}} pre{{font-size:11px;white-space:pre-wrap}} .empty{{color:#999}}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body data-omni-preview="loading">
<h1>{html.escape(title)}</h1><p>{start.isoformat()} to {end.isoformat()}, every variable on All.</p>
{body}
<script type="text/javascript">
var drawn = 0, failures = [];
window.addEventListener("error", function (e) {{ failures.push(String(e.message)); }});
{script}
document.body.setAttribute("data-omni-preview", failures.length ? "error " + failures.join("; ") : "drawn " + drawn);
</script>
</body></html>
"""


def render_previews(client: Any, database: str, out_dir: Path) -> list[Path]:
    """One page per dashboard plus an index, for the range of stored data; returns the pages."""
    start, end = data_range(client, database)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = []
    links = []
    for uid in DASHBOARDS:
        document = dashboard_json(uid)
        context = context_for(document, start, end)
        results = [run_panel(client, database, query, context) for query in panel_queries(document)]
        path = out_dir / f"{uid}.html"
        page = preview_page(document["title"], results, start, end, _state_texts(document))
        path.write_text(page, encoding="utf-8")
        pages.append(path)
        links.append(f'<li><a href="{uid}.html">{html.escape(document["title"])}</a></li>')
    (out_dir / "index.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>omni-telemetry dashboards</title></head>"
        f"<body><h1>Dashboards</h1><ul>{''.join(links)}</ul></body></html>\n",
        encoding="utf-8",
    )
    return pages
