"""The demo writes an offline preview of every dashboard from its own store when it stops."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rich.console import Console

from omni_core.errors import OmniError

__all__ = ["PREVIEW_DIR", "write_demo_previews"]

#: Beside the default embedded store, under the working directory.
PREVIEW_DIR = Path(".omni/dashboards")

_log = logging.getLogger(__name__)


def write_demo_previews(client: Any, database: str, console: Console, out_dir: Path = PREVIEW_DIR) -> Path | None:
    """Render every dashboard's panels from ``client`` into ``out_dir``; None (and a message) on failure."""
    from dashboards import render_previews

    try:
        render_previews(client, database, out_dir)
    except OmniError as exc:
        console.print(f"[yellow]dashboard previews not written[/yellow]: {exc}")
        return None
    return out_dir.resolve()
