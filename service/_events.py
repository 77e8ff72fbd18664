"""The recent Kubernetes warning events of one health entity, read from ``otel_logs``.

The kubernetes-events source stores each Event as a log record whose resource attributes
name the involved object (``k8s.object.kind``, ``k8s.object.name``, ``k8s.namespace.name``),
as the Collector's ``k8seventsreceiver`` does. An entity maps to the objects events are
reported on: a KubeVirt VM's start failures are reported on its VirtualMachineInstance, an
Argo CD application's sync failures on the Application, a Mayastor pool's on its DiskPool.
Entities that are no Kubernetes object (a scrape target, an Envoy listener) have none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from omni_core.errors import StorageError
from exporters.clickhouse import qualified_logs

from ._model import EntityEvent
from ._store import QueryFailed, StoreReader

__all__ = ["EventQuery", "InvolvedObject", "involved_object", "recent_events"]

_log = logging.getLogger(__name__)
#: OpenTelemetry SeverityNumber of WARN; Kubernetes ``Warning`` events are stored at 13.
_WARN = 13
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class InvolvedObject:
    """What an entity is in Kubernetes: the kinds events name it by, its name and namespace
    (empty namespace: cluster-scoped or unknown, matched in any namespace)."""

    kinds: tuple[str, ...]
    name: str
    namespace: str = ""


#: (component, entity kind) -> (object kinds, whether the entity name is "namespace/name").
_OBJECTS: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {
    ("mayastor", "pool"): (("DiskPool", "MayastorPool"), False),
    ("mayastor", "node"): (("Node", "MayastorNode"), False),
    ("mayastor", "volume"): (("PersistentVolume",), False),
    ("kubevirt", "vm"): (("VirtualMachine", "VirtualMachineInstance"), True),
    ("kubevirt", "vmi"): (("VirtualMachineInstance", "VirtualMachine"), True),
    ("kubevirt", "datavolume"): (("DataVolume", "PersistentVolumeClaim"), True),
    ("kubevirt", "migration"): (("VirtualMachineInstanceMigration",), True),
    ("argocd", "application"): (("Application",), True),
}


@dataclass(frozen=True)
class EventQuery:
    """How far back and how many events an entity detail shows."""

    window_s: float = 3600.0
    limit: int = 10


def involved_object(component: str, kind: str, name: str) -> InvolvedObject | None:
    """The Kubernetes object behind an entity, or None when it is not one."""
    known = _OBJECTS.get((component, kind))
    if known is None:
        return None
    kinds, namespaced = known
    if namespaced:
        namespace, _, object_name = name.partition("/")
        if not object_name:
            return None
        return InvolvedObject(kinds, object_name, namespace)
    return InvolvedObject(kinds, name)


def recent_events(store: StoreReader, obj: InvolvedObject | None, at: datetime,
                  query: EventQuery = EventQuery()) -> list[EntityEvent]:
    """Warning events about ``obj`` in the window before ``at``, newest first, at most
    ``query.limit``. Empty when there is no object, no ``otel_logs`` table or nothing matched;
    a store that is down raises (the caller answers 503 like every other read)."""
    if obj is None or query.limit <= 0:
        return []
    table = qualified_logs(store.options)
    try:
        _, rows = store.query(f"EXISTS TABLE {table}")
    except StorageError:
        return []
    if not rows or str(rows[0][0]).strip() != "1":
        return []
    at_ns = int((at - _EPOCH) / timedelta(microseconds=1)) * 1000
    from_ns = at_ns - int(query.window_s * 1e9)
    namespace = f" AND ResourceAttributes['k8s.namespace.name'] = {_literal(obj.namespace)}" if obj.namespace else ""
    kinds = ", ".join(_literal(k) for k in obj.kinds)
    sql = f"""
SELECT Timestamp, SeverityText, Body, ServiceName,
       ResourceAttributes['k8s.object.kind'] AS object_kind, ResourceAttributes['k8s.object.name'] AS object_name,
       ResourceAttributes['k8s.namespace.name'] AS object_namespace,
       LogAttributes['k8s.event.reason'] AS reason, LogAttributes['k8s.event.count'] AS count
FROM {table}
WHERE TimestampTime >= toDateTime(intDiv({from_ns}, 1000000000)) AND TimestampTime <= toDateTime(intDiv({at_ns}, 1000000000) + 1)
  AND Timestamp > fromUnixTimestamp64Nano(toInt64({from_ns})) AND Timestamp <= fromUnixTimestamp64Nano(toInt64({at_ns}))
  AND SeverityNumber >= {_WARN}
  AND ResourceAttributes['k8s.object.name'] = {_literal(obj.name)}
  AND ResourceAttributes['k8s.object.kind'] IN ({kinds}){namespace}
ORDER BY Timestamp DESC
LIMIT {int(query.limit)}"""
    try:
        columns, rows = store.query(sql)
    except QueryFailed as exc:  # e.g. an otel_logs table of another layout: the health answer still stands
        _log.warning("recent events of %s/%s not read: %s", obj.kinds[0], obj.name, exc)
        return []
    return [_event(dict(zip(columns, row))) for row in rows]


def _event(row: dict[str, Any]) -> EntityEvent:
    when = row["Timestamp"]
    if isinstance(when, datetime) and when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        count = int(row.get("count") or 1)
    except ValueError:
        count = 1
    return EntityEvent(time=when, severity=str(row["SeverityText"]), reason=str(row.get("reason") or ""),
                       message=str(row["Body"]), reporter=str(row["ServiceName"]),
                       object=f"{row['object_kind']}/{row['object_namespace'] + '/' if row['object_namespace'] else ''}"
                              f"{row['object_name']}",
                       count=count)


def _literal(text: str) -> str:
    """A ClickHouse string literal: backslash and quote escaped, so a name cannot end it."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
