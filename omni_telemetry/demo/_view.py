"""What the demo prints: the latest stored value per pool, read back from ClickHouse.

Reading from the store (not from the scrape results) is the point: what the table shows is
what dashboards and the health API will see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table

from exporters.clickhouse import MetricKind, SchemaOptions, qualified

__all__ = ["PlatformRow", "PoolRow", "latest_pools", "platform_rows", "platform_table", "pool_table"]

_POOL_METRICS = (
    "diskpool_status",
    "diskpool_total_size_bytes",
    "diskpool_used_size_bytes",
    "diskpool_committed_size_bytes",
    "diskpool_io_alert_status",
)
_POOL_RATES = ("diskpool_num_read_ops", "diskpool_num_write_ops", "diskpool_bytes_written")
GIB = 1024**3


@dataclass(frozen=True)
class PoolRow:
    pool: str
    node: str
    state: str
    total_bytes: float
    used_bytes: float
    committed_bytes: float
    read_iops: float | None
    write_iops: float | None
    write_bytes_per_s: float | None
    last_seen: Any

    @property
    def used_ratio(self) -> float:
        return self.used_bytes / self.total_bytes if self.total_bytes else 0.0


def latest_pools(client: Any, options: SchemaOptions, window_s: int = 300) -> list[PoolRow]:
    gauges = qualified(options, MetricKind.GAUGE)
    sums = qualified(options, MetricKind.SUM)
    latest = client.query(
        f"""
        SELECT Attributes['name'] AS pool, Attributes['node'] AS node, MetricName,
               argMax(Value, TimeUnix) AS value, argMax(Attributes['state'], TimeUnix) AS state,
               max(TimeUnix) AS seen
        FROM {gauges}
        WHERE MetricName IN %(names)s AND Flags = 0 AND TimeUnix > now() - INTERVAL %(window)s SECOND
        GROUP BY pool, node, MetricName
        """,
        parameters={"names": list(_POOL_METRICS), "window": window_s},
    ).result_rows
    rates = client.query(
        f"""
        SELECT pool, node, MetricName,
               if(dt > 0, greatest(dv, 0) / dt, NULL) AS rate
        FROM (
            SELECT Attributes['name'] AS pool, Attributes['node'] AS node, MetricName,
                   argMax(Value, TimeUnix) - argMin(Value, TimeUnix) AS dv,
                   (toUnixTimestamp64Nano(max(TimeUnix)) - toUnixTimestamp64Nano(min(TimeUnix))) / 1e9 AS dt
            FROM {sums}
            WHERE MetricName IN %(names)s AND Flags = 0 AND TimeUnix > now() - INTERVAL 60 SECOND
            GROUP BY pool, node, MetricName, StartTimeUnix
        )
        """,
        parameters={"names": list(_POOL_RATES)},
    ).result_rows
    values: dict[tuple[str, str], dict[str, Any]] = {}
    for pool, node, metric, value, state, seen in latest:
        row = values.setdefault((pool, node), {"seen": seen})
        row[metric] = value
        row["seen"] = max(row["seen"], seen)
        if metric == "diskpool_status":
            row["state"] = state
    rate_by: dict[tuple[str, str], dict[str, float]] = {}
    for pool, node, metric, rate in rates:
        if rate is not None:
            rate_by.setdefault((pool, node), {})[metric] = rate
    rows = []
    for (pool, node), v in sorted(values.items()):
        r = rate_by.get((pool, node), {})
        rows.append(
            PoolRow(
                pool, node, v.get("state", "?"),
                v.get("diskpool_total_size_bytes", 0.0), v.get("diskpool_used_size_bytes", 0.0),
                v.get("diskpool_committed_size_bytes", 0.0),
                r.get("diskpool_num_read_ops"), r.get("diskpool_num_write_ops"), r.get("diskpool_bytes_written"),
                v["seen"],
            )
        )
    return rows


def pool_table(rows: list[PoolRow], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("pool", "node", "state", "used", "size", "committed", "read IOPS", "write IOPS", "write MiB/s", "last sample"):
        table.add_column(column, justify="right" if column not in ("pool", "node", "state") else "left")
    for row in rows:
        ratio = row.used_ratio
        style = "red" if ratio >= 0.9 else ("yellow" if ratio >= 0.8 else "")
        table.add_row(
            row.pool,
            row.node,
            row.state,
            f"[{style}]{ratio:6.1%}[/{style}]" if style else f"{ratio:6.1%}",
            f"{row.total_bytes / GIB:,.1f} GiB",
            f"{row.committed_bytes / GIB:,.1f} GiB",
            _rate(row.read_iops),
            _rate(row.write_iops),
            _rate(row.write_bytes_per_s / 2**20 if row.write_bytes_per_s is not None else None),
            str(row.last_seen)[11:19],
        )
    return table


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


@dataclass(frozen=True)
class PlatformRow:
    system: str
    entity: str
    state: str


#: State-style gauges (one series per state, 1 on the current one): metric, entity label, system.
_STATE_GAUGES = (
    ("kuma_dataplane_status", "name", "Kuma dataplane"),
    ("kubevirt_vm_info", "name", "KubeVirt VM"),
    ("mayastor_volume_status", "pv_name", "Mayastor volume"),
)


def platform_rows(client: Any, options: SchemaOptions, window_s: int = 60) -> list[PlatformRow]:
    """What on-call looks at first, read back from the store: entity states, 5xx rates, imports."""
    gauges = qualified(options, MetricKind.GAUGE)
    sums = qualified(options, MetricKind.SUM)
    rows: list[PlatformRow] = []
    for metric, key, system in _STATE_GAUGES:
        found = client.query(
            f"""
            SELECT Attributes[%(key)s] AS entity, argMax(Attributes['status'], TimeUnix) AS state
            FROM {gauges}
            WHERE MetricName = %(metric)s AND Value = 1 AND Flags = 0
              AND TimeUnix > now() - INTERVAL %(window)s SECOND
            GROUP BY entity ORDER BY entity
            """,
            parameters={"key": key, "metric": metric, "window": window_s},
        ).result_rows
        rows.extend(PlatformRow(system, entity, state) for entity, state in found)
    imports = client.query(
        f"""
        SELECT Attributes['name'] AS entity, argMax(Value, TimeUnix) FROM {gauges}
        WHERE MetricName = 'cdi_datavolume_progress_ratio' AND Flags = 0
          AND TimeUnix > now() - INTERVAL %(window)s SECOND
        GROUP BY entity ORDER BY entity
        """,
        parameters={"window": window_s},
    ).result_rows
    rows.extend(PlatformRow("CDI import", entity, f"{ratio:.0%}") for entity, ratio in imports)
    apps = client.query(
        f"""
        SELECT Attributes['name'] AS entity,
               argMax(concat(Attributes['health_status'], ' / ', Attributes['sync_status']), TimeUnix)
        FROM {gauges}
        WHERE MetricName = 'argocd_app_info' AND Value = 1 AND Flags = 0
          AND TimeUnix > now() - INTERVAL %(window)s SECOND
        GROUP BY entity ORDER BY entity
        """,
        parameters={"window": window_s},
    ).result_rows
    rows.extend(PlatformRow("Argo CD app", entity, state) for entity, state in apps)
    disks = client.query(
        f"""
        SELECT Attributes['disk'] AS disk,
               argMaxIf(Value, TimeUnix, MetricName = 'omni_store_disk_free_bytes')
                 / nullIf(argMaxIf(Value, TimeUnix, MetricName = 'omni_store_disk_total_bytes'), 0)
        FROM {gauges}
        WHERE MetricName IN ('omni_store_disk_free_bytes', 'omni_store_disk_total_bytes') AND Flags = 0
          AND TimeUnix > now() - INTERVAL %(window)s SECOND
        GROUP BY disk ORDER BY disk
        """,
        parameters={"window": window_s},
    ).result_rows
    rows.extend(
        PlatformRow("store disk", disk, f"{free:.0%} free") for disk, free in disks if free is not None
    )
    errors = client.query(
        f"""
        SELECT cluster, sum(if(dt > 0, greatest(dv, 0) / dt, 0)) AS rate FROM (
            SELECT Attributes['envoy_cluster_name'] AS cluster,
                   argMax(Value, TimeUnix) - argMin(Value, TimeUnix) AS dv,
                   (toUnixTimestamp64Nano(max(TimeUnix)) - toUnixTimestamp64Nano(min(TimeUnix))) / 1e9 AS dt
            FROM {sums}
            WHERE MetricName = 'envoy_cluster_upstream_rq_xx' AND Attributes['envoy_response_code_class'] = '5'
              AND Flags = 0 AND TimeUnix > now() - INTERVAL %(window)s SECOND
            GROUP BY ServiceName, ResourceAttributes, Attributes, StartTimeUnix
        )
        GROUP BY cluster HAVING rate > 0 ORDER BY cluster
        """,
        parameters={"window": window_s},
    ).result_rows
    rows.extend(PlatformRow("Envoy cluster", cluster, f"{rate:.1f} 5xx/s") for cluster, rate in errors)
    return rows


def platform_table(rows: list[PlatformRow]) -> Table:
    table = Table(title="platform (latest stored states, 5xx rates, imports)", title_justify="left")
    for column in ("system", "entity", "state"):
        table.add_column(column)
    for row in rows:
        style = "" if _calm(row) else "yellow"
        table.add_row(row.system, row.entity, f"[{style}]{row.state}[/{style}]" if style else row.state)
    return table


def _calm(row: PlatformRow) -> bool:
    if row.system == "store disk":
        return float(row.state.split("%")[0]) >= 15  # the health rule's degraded bound on free disk
    return row.state in {"online", "running", "100%", "Healthy / Synced"}


# -- health rollup (the on-call API's latest snapshot) -------------------------------------------

_STATUS_STYLE = {"ok": "green", "unknown": "magenta", "degraded": "yellow", "critical": "red"}


def health_table(snapshot: Any, url: str = "") -> Table:
    """The health API's rollup: one row per component, then each non-ok entity with its first reason."""
    title = "health rollup" + (f" ({url}/health)" if url else "")
    table = Table(title=title, title_justify="left")
    for column in ("component", "status", "entity / summary", "reason"):
        table.add_column(column)
    if snapshot is None:
        table.add_row("-", "-", "first evaluation pending", "")
        return table
    for component in snapshot.components.values():
        status = component.status.value
        table.add_row(component.name, f"[{_STATUS_STYLE[status]}]{status}[/{_STATUS_STYLE[status]}]", component.summary[:80], "")
        for entity in component.entities:
            if entity.status.value == "ok":
                continue
            style = _STATUS_STYLE[entity.status.value]
            reason = entity.reasons[0].message if entity.reasons else ""
            table.add_row("", f"[{style}]{entity.status.value}[/{style}]", entity.id, reason[:110])
    return table
