"""Kuma's own health rules, applied to the control plane API's JSON.

Why recompute instead of reading a status field: the API returns a DataplaneOverview
(the Dataplane and its insight) but not the verdict the GUI shows; Kuma computes that in
``DataplaneOverviewResource.Status()``. And Kuma 3.x stopped computing ServiceInsights at
all, so a service's status must come from its data planes. The rules below are Kuma's:

* a subscription is connected when it has ``connectTime`` and no ``disconnectTime``;
  the proxy is online when any subscription is connected (a missing insight = offline);
* a gateway proxy (``networking.gateway`` or the ``kuma.io/gateway`` label) is online or
  offline by its connection alone;
* otherwise count ready entries among ``inbound[]`` (not ready when ``health.ready`` is
  false or ``state`` is ``NotReady``) and zone-proxy ``listeners[]`` (ready only when
  ``state`` is ``Ready``): offline when disconnected or none ready, partially degraded
  when some are not ready, online when all are;
* a service is ``offline`` with no online proxy, ``online`` when all are online,
  ``partially_degraded`` otherwise; a partially degraded proxy counts as offline there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

__all__ = [
    "DATAPLANE_STATES",
    "SERVICE_STATES",
    "UnknownShape",
    "DataplaneStatus",
    "ServiceStatus",
    "dataplane_status",
    "service_statuses",
]

DATAPLANE_STATES = ("online", "partially_degraded", "offline")
SERVICE_STATES = ("online", "partially_degraded", "offline", "not_available")


@dataclass(frozen=True)
class DataplaneStatus:
    mesh: str
    name: str
    services: tuple[str, ...]
    zone: str
    status: str
    ready: int
    total: int
    gateway: bool
    reasons: tuple[str, ...] = ()
    kuma_dp_version: str = ""
    envoy_version: str = ""
    cert_expiration_unix_s: float | None = None

    @property
    def service_label(self) -> str:
        return ",".join(self.services)


@dataclass(frozen=True)
class ServiceStatus:
    mesh: str
    service: str
    status: str
    online: int
    offline: int

    @property
    def total(self) -> int:
        return self.online + self.offline


class UnknownShape(ValueError):
    """A JSON document that does not look like what the Kuma API documents."""


def dataplane_status(overview: Mapping[str, Any]) -> DataplaneStatus:
    """The status of one DataplaneOverview item. Raises :class:`UnknownShape` when it is not one."""
    if not isinstance(overview, Mapping):
        raise UnknownShape(f"dataplane overview is a {type(overview).__name__}, not an object")
    mesh, name = overview.get("mesh"), overview.get("name")
    if not isinstance(mesh, str) or not isinstance(name, str):
        raise UnknownShape("dataplane overview without string 'mesh' and 'name'")
    dataplane = _object(overview.get("dataplane"), "dataplane")
    networking = _object(dataplane.get("networking"), "dataplane.networking")
    insight = _object(overview.get("dataplaneInsight"), "dataplaneInsight")
    labels = _object(overview.get("labels"), "labels")
    inbounds = _list(networking.get("inbound"), "networking.inbound")
    listeners = _list(networking.get("listeners"), "networking.listeners")
    gateway = networking.get("gateway")

    subscriptions = [s for s in _list(insight.get("subscriptions"), "subscriptions") if isinstance(s, Mapping)]
    online = any(s.get("connectTime") and not s.get("disconnectTime") for s in subscriptions)

    tags: list[Mapping[str, Any]] = []
    if isinstance(gateway, Mapping):
        tags.append(_object(gateway.get("tags"), "gateway.tags"))
    is_gateway = isinstance(gateway, Mapping) or "kuma.io/gateway" in labels

    ready = 0
    reasons: list[str] = []
    for inbound in inbounds:
        if not isinstance(inbound, Mapping):
            raise UnknownShape("networking.inbound entry is not an object")
        tags.append(_object(inbound.get("tags"), "inbound.tags"))
        health = inbound.get("health")
        if (isinstance(health, Mapping) and health.get("ready") is False) or inbound.get("state") == "NotReady":
            reasons.append(f"inbound[port={inbound.get('port')}] is not ready")
        else:
            ready += 1
    for listener in listeners:
        if isinstance(listener, Mapping) and listener.get("state") == "Ready":
            ready += 1
        else:
            port = listener.get("port") if isinstance(listener, Mapping) else "?"
            reasons.append(f"listener[port={port}] is not ready")
    total = len(inbounds) + len(listeners)

    if is_gateway:
        status = "online" if online else "offline"
        reasons = [] if online else ["proxy is not connected to the control plane"]
    elif not online or ready == 0:
        status = "offline"
        if not online:
            reasons.insert(0, "proxy is not connected to the control plane")
    elif ready < total:
        status = "partially_degraded"
    else:
        status = "online"

    newest = _newest_subscription(subscriptions)
    version = _object(newest.get("version"), "subscription.version") if newest else {}
    mtls = _object(insight.get("mTLS"), "dataplaneInsight.mTLS")
    return DataplaneStatus(
        mesh=mesh,
        name=name,
        services=_services(tags, labels),
        zone=_first_tag(tags, "kuma.io/zone") or str(labels.get("kuma.io/zone", "")),
        status=status,
        ready=ready,
        total=total,
        gateway=is_gateway,
        reasons=tuple(reasons),
        kuma_dp_version=str(_object(version.get("kumaDp"), "version.kumaDp").get("version", "")),
        envoy_version=str(_object(version.get("envoy"), "version.envoy").get("version", "")),
        cert_expiration_unix_s=_timestamp(mtls.get("certificateExpirationTime")),
    )


def service_statuses(dataplanes: Iterable[DataplaneStatus]) -> list[ServiceStatus]:
    """Service status derived from its proxies, as Kuma's insight resyncer did before 3.0."""
    counts: dict[tuple[str, str], list[int]] = {}
    for dp in dataplanes:
        for service in dp.services:
            online_offline = counts.setdefault((dp.mesh, service), [0, 0])
            online_offline[0 if dp.status == "online" else 1] += 1
    result = []
    for (mesh, service), (online, offline) in sorted(counts.items()):
        if online == 0:
            status = "offline"
        elif offline == 0:
            status = "online"
        else:
            status = "partially_degraded"
        result.append(ServiceStatus(mesh, service, status, online, offline))
    return result


def _services(tags: list[Mapping[str, Any]], labels: Mapping[str, Any]) -> tuple[str, ...]:
    services = {str(t[key]) for t in tags for key in ("kuma.io/service", "service") if t.get(key)}
    if not services:
        for key in ("kuma.io/workload", "kuma.io/service"):
            if labels.get(key):
                services.add(str(labels[key]))
                break
    return tuple(sorted(services))


def _first_tag(tags: list[Mapping[str, Any]], key: str) -> str:
    for t in tags:
        if t.get(key):
            return str(t[key])
    return ""


def _newest_subscription(subscriptions: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    connected = [s for s in subscriptions if s.get("connectTime") and not s.get("disconnectTime")]
    pool = connected or subscriptions
    return max(pool, key=lambda s: str(s.get("connectTime", "")), default=None)


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UnknownShape(f"{where} is a {type(value).__name__}, not an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UnknownShape(f"{where} is a {type(value).__name__}, not a list")
    return value
