"""A replay Kubernetes API serving Events, so the demo runs the real kubernetes-events source.

Three stories the metric scenarios also tell, as the platform's components report them:

* ``vms/db-01`` fails to start (virt-controller, Warning ``FailedCreate``), after the
  scheduler placed its launcher pod (Normal ``Scheduled``);
* DiskPool ``pool-on-node-2`` goes degraded (the diskpool operator, Warning ``Degraded``);
* Argo CD's sync of the ``kubevirt`` application fails (the application controller,
  Warning ``OperationCompleted``).

Each event first happens in the demo's first seconds, then repeats every ``period_s`` as a
real repeating event does: the same Event object with its ``count`` raised, a later
``lastTimestamp`` and a new resourceVersion (a ``MODIFIED`` watch event), so each repeat is
one more log record. The server answers list and watch requests for
``/api/v1/namespaces/{ns}/events`` like the API server: a list returns the current objects
and its resourceVersion, a watch from a resourceVersion returns what happened since (waiting
up to ``watch_wait_s`` for it), and the source resumes from the last one it saw.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["DEMO_EVENTS", "EVENT_NAMESPACES", "DemoEvent", "KubernetesEventsApiScenario"]

_JSON = "application/json"
_BASE_VERSION = 5000


@dataclass(frozen=True)
class DemoEvent:
    """One Event object: first at ``at_s`` seconds into the demo, then every period."""

    at_s: float
    namespace: str
    name: str
    uid: str
    type: str
    reason: str
    message: str
    component: str
    involved: dict[str, str]
    host: str = ""


DEMO_EVENTS: tuple[DemoEvent, ...] = (
    DemoEvent(0.5, "vms", "virt-launcher-db-01.187b1c2d00000001", "9e000000-0000-4000-8000-000000000001",
              "Normal", "Scheduled", "Successfully assigned vms/virt-launcher-db-01-7xk2p to worker-2",
              "default-scheduler",
              {"kind": "Pod", "name": "virt-launcher-db-01-7xk2p", "uid": "c0a80002-0000-4000-8000-000000000001",
               "apiVersion": "v1"}),
    DemoEvent(1.5, "vms", "db-01.187b1c2d00000002", "9e000000-0000-4000-8000-000000000002",
              "Warning", "FailedCreate",
              'Error creating pod: pods "virt-launcher-db-01-" is forbidden: exceeded quota: vms-quota, '
              "requested: limits.memory=8Gi, used: limits.memory=12Gi, limited: limits.memory=16Gi",
              "virtualmachine-controller",
              {"kind": "VirtualMachineInstance", "name": "db-01", "uid": "c0a80002-0000-4000-8000-000000000002",
               "apiVersion": "kubevirt.io/v1"}),
    DemoEvent(2.5, "mayastor", "pool-on-node-2.187b1c2d00000003", "9e000000-0000-4000-8000-000000000003",
              "Warning", "Degraded", "pool pool-on-node-2 on node node-2 is degraded: capacity above 90% used",
              "openebs-operator-diskpool",
              {"kind": "DiskPool", "name": "pool-on-node-2", "uid": "c0a80002-0000-4000-8000-000000000003",
               "apiVersion": "openebs.io/v1beta2"}),
    DemoEvent(3.5, "argocd", "kubevirt.187b1c2d00000004", "9e000000-0000-4000-8000-000000000004",
              "Warning", "OperationCompleted",
              "Sync operation to 7c41e9a failed: one or more objects failed to apply, reason: admission webhook "
              '"virtualmachine-validator.kubevirt.io" denied the request',
              "argocd-application-controller",
              {"kind": "Application", "name": "kubevirt", "uid": "c0a80002-0000-4000-8000-000000000004",
               "apiVersion": "argoproj.io/v1alpha1"}),
)

#: The namespaces the demo's events source watches.
EVENT_NAMESPACES: tuple[str, ...] = tuple(dict.fromkeys(e.namespace for e in DEMO_EVENTS))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class KubernetesEventsApiScenario:
    """Serves ``events`` under ``/api/v1`` as list and watch answers (see the module docstring)."""

    name: str = "kubernetes-events-api"
    source: str = "kubernetes-events"
    path: str = "/api/v1"
    period_s: float = 60.0
    watch_wait_s: float = 2.0
    events: tuple[DemoEvent, ...] = DEMO_EVENTS
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0))

    def occurrences(self, elapsed_s: float) -> list[tuple[int, DemoEvent, int, float]]:
        """(resourceVersion, event, count, when) of every occurrence up to ``elapsed_s``, in order."""
        found = []
        for event in self.events:
            if elapsed_s < event.at_s:
                continue
            repeats = int((elapsed_s - event.at_s) // self.period_s)
            for n in range(repeats + 1):
                found.append((event.at_s + n * self.period_s, event, n + 1))
        found.sort(key=lambda item: (item[0], item[1].name))
        return [(_BASE_VERSION + i + 1, event, count, when) for i, (when, event, count) in enumerate(found)]

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        raise LookupError("the events API answers per path (render_path)")

    def render_path(self, request: str, elapsed_s: float) -> tuple[bytes, str]:
        parts = urlsplit(request)
        segments = parts.path.strip("/").split("/")
        if len(segments) != 5 or segments[:3] != ["api", "v1", "namespaces"] or segments[4] != "events":
            raise LookupError(f"no such API path {parts.path}")
        namespace = segments[3]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if query.get("watch") == "true":
            return self._watch(namespace, int(query.get("resourceVersion") or 0), elapsed_s), _JSON
        return self._list(namespace, elapsed_s), _JSON

    def _list(self, namespace: str, elapsed_s: float) -> bytes:
        occurrences = self.occurrences(elapsed_s)
        latest: dict[str, dict[str, Any]] = {}
        for version, event, count, when in occurrences:
            if event.namespace == namespace:
                latest[event.name] = self._object(version, event, count, when)
        version = occurrences[-1][0] if occurrences else _BASE_VERSION
        return json.dumps({"kind": "EventList", "apiVersion": "v1", "metadata": {"resourceVersion": str(version)},
                           "items": list(latest.values())}).encode()

    def _watch(self, namespace: str, since: int, elapsed_s: float) -> bytes:
        """What happened in ``namespace`` after ``since``, waiting up to ``watch_wait_s`` for it."""
        waited = 0.0
        while True:
            lines = [
                json.dumps({"type": "ADDED" if count == 1 else "MODIFIED",
                            "object": self._object(version, event, count, when)})
                for version, event, count, when in self.occurrences(elapsed_s + waited)
                if version > since and event.namespace == namespace
            ]
            if lines or waited >= self.watch_wait_s:
                return "".join(line + "\n" for line in lines).encode()
            time.sleep(0.25)
            waited += 0.25

    def _object(self, version: int, event: DemoEvent, count: int, when: float) -> dict[str, Any]:
        first = self.started + timedelta(seconds=event.at_s)
        last = self.started + timedelta(seconds=when)
        involved = {"namespace": event.namespace, **event.involved}
        source = {"component": event.component, **({"host": event.host} if event.host else {})}
        return {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {"name": event.name, "namespace": event.namespace, "uid": event.uid,
                         "resourceVersion": str(version), "creationTimestamp": _stamp(first)},
            "involvedObject": involved,
            "reason": event.reason,
            "message": event.message,
            "source": source,
            "firstTimestamp": _stamp(first),
            "lastTimestamp": _stamp(last),
            "count": count,
            "type": event.type,
            "eventTime": None,
            "reportingComponent": event.component,
            "reportingInstance": "",
        }
