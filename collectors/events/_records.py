"""One Kubernetes Event -> one OpenTelemetry SDK log record.

The mapping follows the OpenTelemetry Collector's ``k8seventsreceiver`` so rows from either
land alike in ``otel_logs``: body is the event's message; severity INFO for ``Normal`` and
WARN for ``Warning``; the involved object as ``k8s.object.*`` resource attributes (plus the
semantic-convention ``k8s.<kind>.name``/``.uid`` for the workload kinds that have one, and
``k8s.namespace.name``); reason, action, count, first time, name and uid of the event as
``k8s.event.*`` record attributes. ``service.name`` is the component that reported the event
(``kubelet``, ``default-scheduler``, ``virtualmachine-controller``,
``argocd-application-controller``), which is what the Logs dashboard filters by.

Severity text is ``INFO``/``WARN`` (the SDK's names), not ``Normal``/``Warning``, so log views
that colour by level recognise it; the event's own type stays in ``k8s.event.type``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from omni_core import __version__

__all__ = ["SCOPE", "event_record"]

SCOPE = InstrumentationScope("omni-telemetry/kubernetes-events", __version__)

_SEVERITY = {"Normal": (SeverityNumber.INFO, "INFO"), "Warning": (SeverityNumber.WARN, "WARN")}
#: Kinds with a semantic-convention resource attribute (``k8s.pod.name``, ``k8s.pod.uid``, ...).
_SEMCONV_KINDS = {
    "Pod": "pod",
    "Node": "node",
    "Deployment": "deployment",
    "ReplicaSet": "replicaset",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
    "Job": "job",
    "CronJob": "cronjob",
    "Namespace": "namespace",
}
_NS = 1_000_000_000


def _ns(value: datetime | None) -> int | None:
    if value is None:
        return None
    return int(value.timestamp()) * _NS + value.microsecond * 1000


def _event_time_ns(event: Any) -> int | None:
    """When it last happened: lastTimestamp, else eventTime (events.k8s.io writers), else
    the series' last observation, firstTimestamp, creation time."""
    series = getattr(event, "series", None)
    for candidate in (
        event.last_timestamp,
        event.event_time,
        getattr(series, "last_observed_time", None) if series is not None else None,
        event.first_timestamp,
        event.metadata.creation_timestamp if event.metadata is not None else None,
    ):
        if candidate is not None:
            return _ns(candidate)
    return None


def _reporter(event: Any) -> str:
    source = event.source
    return (event.reporting_component or (source.component if source is not None else None)) or "kubernetes"


def event_record(event: Any, *, cluster: str = "", observed_ns: int) -> ReadableLogRecord:
    """The log record for a ``CoreV1Event`` model (as the kubernetes client deserialises it)."""
    involved = event.involved_object
    meta = event.metadata
    namespace = (involved.namespace if involved is not None else None) or (meta.namespace if meta else None) or ""
    resource: dict[str, str] = {"service.name": _reporter(event)}
    if cluster:
        resource["k8s.cluster.name"] = cluster
    if namespace:
        resource["k8s.namespace.name"] = namespace
    if involved is not None:
        for key, value in (
            ("k8s.object.kind", involved.kind),
            ("k8s.object.name", involved.name),
            ("k8s.object.uid", involved.uid),
            ("k8s.object.api_version", involved.api_version),
            ("k8s.object.resource_version", involved.resource_version),
            ("k8s.object.fieldpath", involved.field_path),
        ):
            if value:
                resource[key] = value
        semconv = _SEMCONV_KINDS.get(involved.kind or "")
        if semconv and involved.name:
            resource[f"k8s.{semconv}.name"] = involved.name
            if involved.uid:
                resource[f"k8s.{semconv}.uid"] = involved.uid
    host = event.source.host if event.source is not None else None
    if host:
        resource.setdefault("k8s.node.name", host)

    attributes: dict[str, Any] = {
        "k8s.event.reason": event.reason or "",
        "k8s.event.type": event.type or "",
        "k8s.event.count": int(event.count or 1),
        "k8s.event.name": (meta.name if meta else None) or "",
        "k8s.event.uid": (meta.uid if meta else None) or "",
    }
    if event.action:
        attributes["k8s.event.action"] = event.action
    if event.first_timestamp is not None:
        attributes["k8s.event.start_time"] = event.first_timestamp.isoformat()
    number, text = _SEVERITY.get(event.type or "", (SeverityNumber.UNSPECIFIED, event.type or ""))
    record = LogRecord(
        timestamp=_event_time_ns(event),
        observed_timestamp=observed_ns,
        context=Context({"k8s-events": True}),  # a context of its own: never an ambient span's trace id
        severity_number=number,
        severity_text=text,
        body=event.message or "",
        attributes=attributes,
    )
    return ReadableLogRecord(record, Resource(resource), SCOPE)
