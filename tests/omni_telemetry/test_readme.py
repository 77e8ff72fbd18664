"""The README's Commands and Configuration tables describe the code as it is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import typer
from pydantic_core import PydanticUndefined

from omni_telemetry.cli import app
from omni_telemetry.settings import OmniSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
COMMON_OPTIONS = {"--help", "--config", "--log-level"}


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def _rows(section: str) -> dict[str, str]:
    """First cell (without backticks) -> the whole row, for every table row in ``section``."""
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `([^`]+)` \|(.*)$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def _commands(group: Any, prefix: str = "omni-telemetry") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found |= _commands(command, f"{prefix} {name}")
        else:
            found[f"{prefix} {name}"] = command
    return found


def test_every_setting_is_in_the_configuration_table_and_no_other():
    rows = _rows(_section("Configuration"))
    assert set(rows) == set(OmniSettings.model_fields)


@pytest.mark.parametrize("name", sorted(OmniSettings.model_fields))
def test_configuration_table_shows_each_scalar_default(name):
    default = OmniSettings.model_fields[name].default
    if default is PydanticUndefined or default is None or isinstance(default, (list, dict)):
        return
    if isinstance(default, bool):
        shown = str(default).lower()
    elif isinstance(default, float) and default.is_integer():
        shown = str(int(default))
    else:
        shown = str(default) if default != "" else '""'
    cell = _rows(_section("Configuration"))[name].split("|")[0]
    assert cell.strip().startswith(f"`{shown}`"), (name, cell)


def test_every_command_and_option_is_in_the_commands_table():
    table = _section("Commands")
    rows = [line for line in table.splitlines() if line.startswith("| `omni-telemetry")]
    commands = _commands(typer.main.get_command(app))  # type: ignore[arg-type]
    for name, command in commands.items():
        row = next((r for r in rows if r.startswith(f"| `{name} ") or r.startswith(f"| `{name}`")), None)
        assert row is not None, f"{name} is missing from the README's Commands table"
        for param in command.params:
            if isinstance(param, click.Option):
                options = [o for o in param.opts if o.startswith("--")]
                if not set(options) & COMMON_OPTIONS:
                    assert any(o in row for o in options), f"{name}: {options} missing from its README row"
    for row in rows:
        name = re.match(r"^\| `(omni-telemetry(?: [a-z-]+)+?)(?: \[| URL|`)", row)
        assert name is not None and name.group(1) in commands, row
