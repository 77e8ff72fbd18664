"""The Grafana ClickHouse plugin's query expansion, reproduced so a panel's SQL can run without Grafana.

Grafana sends the plugin a query whose template variables the frontend already replaced; the
plugin's backend then expands its macros. The preview and the tests run the very SQL a panel
holds, so this module mirrors both steps exactly as the plugin (v4.x) does them:

1. ``$__conditionalAll(condition, $var)`` (frontend, before variable interpolation, from the
   last occurrence backwards): ``1=1`` when the variable's current value is ``''`` or
   ``$__all``, else the condition;
2. variable interpolation: a multi-value variable becomes ``'a','b'``, a single value is
   inserted raw; ``${var:singlequote}`` always quotes;
3. the backend macros with F/T the range in whole Unix seconds and N = int(max(interval, 1)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping, Sequence

from omni_core.errors import ConfigError

__all__ = ["ALL", "QueryContext", "expand_query"]

#: The value Grafana gives a variable whose "All" option is selected.
ALL = "$__all"

_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")


@dataclass(frozen=True)
class QueryContext:
    """What Grafana knows when it runs a panel: the time range, the interval, the variables.

    ``variables`` maps a name to its selected value(s); a list is a multi-value selection and
    ``[ALL]`` or ``ALL`` selects "All". ``all_values`` lists what "All" stands for, per variable.
    """

    start: datetime
    end: datetime
    interval_s: float = 60.0
    variables: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    all_values: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def from_s(self) -> int:
        return int(self.start.astimezone(timezone.utc).timestamp())

    @property
    def to_s(self) -> int:
        return int(self.end.astimezone(timezone.utc).timestamp())


def expand_query(sql: str, context: QueryContext) -> str:
    """The SQL the plugin sends to ClickHouse for ``sql`` under ``context``."""
    return _backend_macros(_interpolate(_conditional_all(sql, context), context), context)


def _selected(context: QueryContext, name: str) -> list[str] | None:
    if name not in context.variables:
        return None
    value = context.variables[name]
    return [value] if isinstance(value, str) else list(value)


def _conditional_all(sql: str, context: QueryContext) -> str:
    marker = "$__conditionalAll("
    while (start := sql.rfind(marker)) >= 0:
        args, end = _arguments(sql, start + len(marker))
        if len(args) != 2:
            raise ConfigError(
                f"$__conditionalAll needs exactly 2 arguments, got {len(args)}: {sql[start:end]!r}",
                field="rawSql",
            )
        condition, variable = (a.strip() for a in args)
        name = variable.lstrip("$").strip("{}").split(":", 1)[0]
        selected = _selected(context, name)
        if selected is None:
            raise ConfigError(f"$__conditionalAll refers to unknown variable {variable!r}", field="rawSql")
        is_all = selected in ([], [""], [ALL])
        sql = sql[:start] + ("1=1" if is_all else condition) + sql[end:]
    return sql


def _arguments(sql: str, position: int) -> tuple[list[str], int]:
    """Split the comma-separated arguments of a macro call at depth 0; return them and the end."""
    depth, quote, current, args = 0, "", [], []
    for index in range(position, len(sql)):
        char = sql[index]
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                args.append("".join(current))
                return args, index + 1
            depth -= 1
        elif char == "," and depth == 0:
            args.append("".join(current))
            current = []
            continue
        current.append(char)
    raise ConfigError(f"unbalanced parentheses in macro call: {sql[position - 20:position + 40]!r}", field="rawSql")


def _interpolate(sql: str, context: QueryContext) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        fmt = match.group(2)
        if name.startswith("__"):
            return match.group(0)  # a macro, not a variable
        selected = _selected(context, name)
        if selected is None:
            return match.group(0)  # Grafana leaves unknown variables as written
        if selected == [ALL]:
            selected = list(context.all_values.get(name, []))
        if fmt == "singlequote" or len(selected) > 1:
            return ",".join("'" + v.replace("'", "\\'") + "'" for v in selected)
        if fmt not in (None, "raw"):
            raise ConfigError(f"variable format {fmt!r} is not supported by this expander", field="rawSql")
        return selected[0] if selected else ""

    return _VARIABLE.sub(replace, sql)


def _backend_macros(sql: str, context: QueryContext) -> str:
    f, t, n = context.from_s, context.to_s, int(max(context.interval_s, 1))

    def one_arg(name: str, render: str) -> None:
        nonlocal sql
        pattern = re.compile(r"\$__" + name + r"\(([^()]*(?:\([^()]*\)[^()]*)*)\)")
        sql = pattern.sub(lambda m: render.format(c=m.group(1).strip()), sql)

    one_arg("timeFilter", f"{{c}} >= toDateTime({f}) AND {{c}} <= toDateTime({t})")
    one_arg("timeInterval", f"toStartOfInterval(toDateTime({{c}}), INTERVAL {n} second)")
    one_arg("timeFrom", f"{{c}} >= toDateTime({f})")
    one_arg("timeTo", f"{{c}} <= toDateTime({t})")
    sql = re.sub(r"\$__fromTime\b", f"toDateTime({f})", sql)
    sql = re.sub(r"\$__toTime\b", f"toDateTime({t})", sql)
    sql = re.sub(r"\$__interval_s\b", str(n), sql)
    return sql
