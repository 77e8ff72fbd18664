"""Creating the metric tables, and checking that existing ones are what this version writes.

Creation is ``IF NOT EXISTS`` only and never alters a table: changing a populated table is
an operator's decision, so :func:`verify_schema` names each difference with the statement
that fixes it instead.
"""

from __future__ import annotations

from omni_core.errors import SchemaError, StorageUnavailable

from ._failures import storage_failure
from ._logs_schema import logs_schema_problems
from ._options import Generation, MetricKind, SchemaOptions, qualified
from ._schema import MERGE_SELECTOR_TABLE_SETTING, OPTIONAL_TABLE_SETTING, STATISTICS_TABLE_SETTING, column_ddl, expected_columns, render_schema

__all__ = ["apply_schema", "verify_schema"]


def apply_schema(client, options: SchemaOptions) -> None:
    """Create whatever is missing. Existing tables are never altered (see :func:`verify_schema`)."""
    try:
        known = client.query(
            "SELECT name FROM system.merge_tree_settings WHERE name IN ({a:String}, {b:String}, {c:String})",
            parameters={"a": OPTIONAL_TABLE_SETTING, "b": STATISTICS_TABLE_SETTING, "c": MERGE_SELECTOR_TABLE_SETTING},
        ).result_rows
    except Exception as exc:
        raise storage_failure(exc, "reading the server's table settings") from exc
    for statement in render_schema(options, server_settings={row[0] for row in known}):
        try:
            client.command(statement)
        except Exception as exc:
            raise storage_failure(exc, f"creating the metric schema in database {options.database!r}") from exc


def verify_schema(client, options: SchemaOptions) -> None:
    """Check that every table exists with the columns this version writes.

    Extra columns are fine (inserts name their columns). Missing or retyped columns raise
    :class:`SchemaError` with the statements that fix them, because inserts would fail or
    silently land in the wrong shape otherwise.
    """
    problems: list[str] = []
    for kind in MetricKind:
        table = qualified(options, kind)
        try:
            rows = client.query(f"DESCRIBE TABLE {table}").result_rows
        except Exception as exc:
            failure = storage_failure(exc, f"describing {table}")
            if isinstance(failure, StorageUnavailable):
                raise failure from exc
            problems.append(f"{table}: table cannot be described ({failure}); create it with apply_schema()")
            continue
        actual = {row[0]: row[1] for row in rows}
        layout = column_ddl(options, kind)
        for name, type_ in expected_columns(options, kind):
            if name not in actual:
                problems.append(
                    f"{table}: column {name} is missing; fix: ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {layout[name]}"
                )
            elif actual[name] != type_:
                hint = _generation_hint(options, name, actual[name])
                problems.append(
                    f"{table}: column {name} is {actual[name]}, expected {type_}; fix: "
                    + (hint or f"ALTER TABLE {table} MODIFY COLUMN {layout[name]}")
                )
    problems.extend(logs_schema_problems(client, options))
    if problems:
        raise SchemaError("the metric tables do not match the expected layout:\n  " + "\n  ".join(problems))


def _generation_hint(options: SchemaOptions, name: str, actual: str) -> str | None:
    """A timestamp or name type from the other generation means the setting is wrong, not the table."""
    other: Generation = "v2" if options.generation == "classic" else "classic"
    other_types = dict(expected_columns(SchemaOptions(generation=other), MetricKind.GAUGE))
    if name in other_types and other_types[name] == actual:
        return f"the table was created with generation {other!r}; set storage generation to {other!r}"
    return None
