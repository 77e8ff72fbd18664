"""``omni-telemetry dashboards build|check|push|preview|datasource``: the generated Grafana dashboards."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from omni_core.errors import ConfigError, OmniError, StaleDashboards

__all__ = ["dashboards_app"]

dashboards_app = typer.Typer(
    help="Build, check, push and preview the Grafana dashboards (ClickHouse datasource).", no_args_is_help=True
)
_out = Console() if sys.stdout.isatty() else Console(width=170)
_err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=170)

OutOption = Annotated[Optional[Path], typer.Option("--out", help="directory of the generated files [dashboards/generated]")]
ConfigOption = Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML settings file")]


def _fail(exc: OmniError) -> typer.Exit:
    code = 2 if isinstance(exc, ConfigError) else 1
    _err.print(f"[red]error[/red]: {exc}", highlight=False)
    return typer.Exit(code)


@dashboards_app.command("build")
def build(out: OutOption = None) -> None:
    """Write every dashboard as pretty, deterministic JSON plus a kustomization.yaml."""
    from dashboards import GENERATED_DIR, write_files

    for path in write_files(out or GENERATED_DIR):
        _out.print(f"wrote {path}", highlight=False)


@dashboards_app.command("check")
def check(out: OutOption = None) -> None:
    """Exit 1 with a diff when the committed JSON differs from what the code generates."""
    from dashboards import GENERATED_DIR, check_files

    try:
        count = check_files(out or GENERATED_DIR)
    except StaleDashboards as exc:
        sys.stdout.write(exc.diff)
        raise _fail(exc) from None
    _out.print(f"{count} generated dashboard files are up to date", highlight=False)


@dashboards_app.command("push")
def push(
    grafana_url: Annotated[str, typer.Option("--grafana-url", help="e.g. https://grafana.example.com")],
    token_file: Annotated[Path, typer.Option("--token-file", help="file holding a Grafana service account token")],
    folder: Annotated[Optional[str], typer.Option("--folder", help="folder title (created when missing)")] = None,
) -> None:
    """Upload every dashboard through Grafana's HTTP API, overwriting by uid."""
    from dashboards import DASHBOARDS, dashboard_json, push_dashboards, read_token

    try:
        outcomes = push_dashboards(grafana_url, read_token(token_file), [dashboard_json(uid) for uid in DASHBOARDS], folder=folder)
    except OmniError as exc:
        raise _fail(exc) from None
    for outcome in outcomes:
        _out.print(f"{outcome.result:9} {outcome.uid} ({outcome.title})", highlight=False)


@dashboards_app.command("preview")
def preview(
    out: Annotated[Path, typer.Option("--out", help="directory for the HTML pages")] = Path(".omni/dashboards"),
    dsn: Annotated[Optional[str], typer.Option("--dsn", help="storage DSN [env OMNI_STORAGE_DSN]")] = None,
    config: ConfigOption = None,
) -> None:
    """Render each dashboard to a self-contained offline HTML page from the configured store."""
    from dashboards import render_previews
    from exporters.clickhouse import connect

    from .settings import load_settings

    try:
        settings = load_settings(config, storage_dsn=dsn)
        pages = render_previews(connect(settings.storage_dsn), settings.database, out)
    except OmniError as exc:
        raise _fail(exc) from None
    for page in pages:
        _out.print(f"wrote {page}", highlight=False)


@dashboards_app.command("datasource")
def datasource(
    dsn: Annotated[Optional[str], typer.Option("--dsn", help="the ClickHouse server Grafana reads [env OMNI_STORAGE_DSN]")] = None,
    user: Annotated[str, typer.Option("--user", help="read-only ClickHouse user for Grafana")] = "grafana_ro",
    password_env: Annotated[str, typer.Option("--password-env", help="environment variable holding its password")] = "CLICKHOUSE_GRAFANA_PASSWORD",
    config: ConfigOption = None,
) -> None:
    """Print Grafana provisioning YAML for the ClickHouse datasource the dashboards use."""
    from dashboards import datasource_provisioning

    from .settings import load_settings

    try:
        settings = load_settings(config, storage_dsn=dsn)
        sys.stdout.write(datasource_provisioning(settings.storage_dsn, settings.database, user=user, password_env=password_env))
    except OmniError as exc:
        raise _fail(exc) from None
