"""The system-table queries behind the store's own metrics: each one cheap on any server.

Every query reads in-memory system tables only. ``system.replicas`` is asked for local
columns only (``queue_size``, ``is_readonly``, ``absolute_delay``): its ZooKeeper-backed
columns (``total_replicas``, ``active_replicas``, ``log_max_index``, ``log_pointer``) would
cost a Keeper round trip per table.
"""

from __future__ import annotations

__all__ = ["DISKS", "ERRORS", "FAILED_INSERTS", "MERGES", "PARTS", "REPLICAS", "UPTIME", "database_filter"]

#: Databases that hold only the server's own tables.
SYSTEM_DATABASES = ("system", "INFORMATION_SCHEMA", "information_schema")

DISKS = "SELECT name, free_space, total_space FROM system.disks ORDER BY name"

#: Per table: the most active parts in any one partition, active rows and bytes on disk.
PARTS = (
    "SELECT database, table, max(parts), sum(rows), sum(bytes) FROM ("
    "SELECT database, table, partition_id, count() AS parts, sum(rows) AS rows, sum(bytes_on_disk) AS bytes "
    "FROM system.parts WHERE active AND {where} GROUP BY database, table, partition_id"
    ") GROUP BY database, table ORDER BY database, table"
)

ERRORS = "SELECT name, code, sum(value) FROM system.errors GROUP BY name, code ORDER BY code"

FAILED_INSERTS = "SELECT sum(value) FROM system.events WHERE event = 'FailedInsertQuery'"

REPLICAS = (
    "SELECT database, table, queue_size, is_readonly, absolute_delay FROM system.replicas "
    "WHERE {where} ORDER BY database, table"
)

MERGES = "SELECT database, table, count() FROM system.merges WHERE {where} GROUP BY database, table"

UPTIME = "SELECT uptime()"


def _quoted(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def database_filter(databases: tuple[str, ...]) -> str:
    """The WHERE condition on ``database``: the listed ones, or every non-system database."""
    if databases:
        return f"database IN ({', '.join(_quoted(d) for d in databases)})"
    return f"database NOT IN ({', '.join(_quoted(d) for d in SYSTEM_DATABASES)})"
