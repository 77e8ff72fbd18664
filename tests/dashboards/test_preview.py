"""Offline previews: one self-contained page per dashboard from the panel SQL, drawn by a real browser.

Headless Chromium (Debian's ``chromium``) opens each page with networking off; the page
sets ``data-omni-preview="drawn N"`` on ``<body>`` once every panel's ``Plotly.newPlot``
returned, or ``error ...`` when one threw, and ``--dump-dom`` shows which.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dashboards import DASHBOARDS, dashboard_json, panel_queries, render_previews
from omni_core.errors import DashboardError
from omni_telemetry.cli import app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def pages(demo_store: Any, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("previews")
    return render_previews(demo_store.client(), demo_store.database, out)


def test_one_self_contained_page_per_dashboard_with_every_panel(pages: list[Path]) -> None:
    assert sorted(p.stem for p in pages) == sorted(DASHBOARDS)
    for page in pages:
        text = page.read_text()
        assert not re.search(r"<script[^>]+src=", text), "nothing may be fetched at view time"
        assert "Plotly.newPlot" in text and len(text) > 1_000_000  # plotly.js is inside the page
        panels = sum(1 for _ in panel_queries(dashboard_json(page.stem)))
        assert text.count("Plotly.newPlot(") == panels
        assert (page.parent / "index.html").read_text().count('href="') == len(DASHBOARDS)


def test_log_panel_is_drawn_as_a_table_of_the_stored_lines(pages: list[Path]) -> None:
    text = next(p for p in pages if p.stem == "omni-logs").read_text()
    figures = [m.group(1) for m in re.finditer(r"var f = (\{.*?\}); Plotly\.newPlot", text)]
    logs = next(f for f in figures if '"text":"Logs"' in f)
    assert '"type":"table"' in logs
    assert '"timestamp","body","level","labels"' in logs
    assert "exceeded quota: vms-quota" in logs  # the replayed FailedCreate event's message


def test_preview_of_an_empty_store_says_what_to_do(tmp_path: Path) -> None:
    from exporters.clickhouse import SchemaOptions, apply_schema, connect

    client = connect(f"chdb://{tmp_path / 'store'}")
    apply_schema(client, SchemaOptions(database="otel"))
    with pytest.raises(DashboardError, match="run the collector or the demo first"):
        render_previews(client, "otel", tmp_path / "out")


def test_cli_preview_writes_pages_from_the_configured_store(demo_store: Any, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dashboards", "preview", "--dsn", demo_store.dsn, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.glob("*.html")} == {f"{uid}.html" for uid in DASHBOARDS} | {"index.html"}


def _dump_dom(page: Path, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package `chromium`; CI installs it)")
def test_every_page_draws_every_panel_without_a_javascript_error(pages: list[Path], tmp_path: Path) -> None:
    for page in pages:
        result = _dump_dom(page, tmp_path / f"profile-{page.stem}")
        marker = re.search(r'data-omni-preview="([^"]*)"', result.stdout)
        assert marker, (page.name, result.returncode, result.stderr[-2000:])
        panels = sum(1 for _ in panel_queries(dashboard_json(page.stem)))
        assert marker.group(1) == f"drawn {panels}", (page.name, marker.group(1))
        assert result.stdout.count('class="plot-container plotly"') == panels, page.name


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package `chromium`; CI installs it)")
def test_the_browser_check_catches_a_panel_that_fails_to_draw(pages: list[Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    text = pages[0].read_text()
    broken.write_text(text.replace("Plotly.newPlot(", "Plotly.newPlotMissing(", 1))
    marker = re.search(r'data-omni-preview="([^"]*)"', _dump_dom(broken, tmp_path / "profile").stdout)
    assert marker and marker.group(1).startswith("error "), marker
