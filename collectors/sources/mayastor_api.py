"""Mayastor's control-plane REST API (``<release>-api-rest`` :8081, ``/v0``): the cluster-wide view.

Why both this and the io-engine exporter: each exporter reports only its own node's pools
and I/O, while volume health (online, degraded with a rebuild running, faulted), replica
placement and node cordons exist only in the control plane. The chart runs the API with
``--no-auth`` on plain HTTP :8081, so no credentials are needed; one target per cluster.

Read: ``/v0/nodes``, ``/v0/pools``, ``/v0/volumes`` (paginated with ``max_entries`` and
``starting_token``, following ``next_token``) and ``/v0/nexuses``. Each part that fails sets
``mayastor_api_up{part}`` to 0 and adds the reason as a scrape warning; the others go on.
A target URL that ends in one of those collections reads that part alone.

Gauges (state sets: one series per state, 1 on the current one):
``mayastor_node_status{node,status}``, ``mayastor_node_cordon_state{node,state}``;
``mayastor_pool_status{pool,node,status}``, ``mayastor_pool_{capacity,used,committed}_bytes``;
``mayastor_volume_status{volume,pv_name,status}``, ``mayastor_volume_size_bytes``,
``mayastor_volume_replicas`` / ``_replicas_desired`` / ``_replicas_online``,
``mayastor_volume_replica_status{volume,pv_name,replica,node,pool,status}``,
``mayastor_volume_rebuild_progress_ratio{...replica}`` (only while a replica rebuilds);
``mayastor_nexus_status{nexus,node,status}``, ``mayastor_nexus_rebuilds``,
``mayastor_nexus_child_rebuild_progress_ratio{nexus,node,child}``.
``pv_name`` is ``pvc-<volume uuid>``, the io-engine exporter's label for the same volume.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, ClassVar, Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx

from omni_core.errors import ScrapeError, SourceAPIError, TargetUnreachable

from .._http import fetch_json
from .._source import Source
from .._target import ParseLimits, ScrapeTarget
from ..exposition import Exposition
from ._gauges import GaugeFamilies

__all__ = ["MayastorApiSource"]

NODE_STATES = ("online", "offline", "unknown")
CORDON_STATES = ("uncordoned", "cordoned", "draining", "drained")
POOL_STATES = ("online", "degraded", "faulted", "offline", "unknown")
VOLUME_STATES = ("online", "degraded", "faulted", "shutdown", "unknown")
REPLICA_STATES = ("online", "degraded", "faulted", "unknown")
NEXUS_STATES = ("online", "degraded", "faulted", "shuttingdown", "shutdown", "unknown")

_PARTS = ("nodes", "pools", "volumes", "nexuses")
_MAX_PAGES = 10_000


class _Shape(ValueError):
    """An answer that does not look like Mayastor's v0 API."""


class MayastorApiSource(Source):
    name: ClassVar[str] = "mayastor-api"
    description: ClassVar[str] = "Mayastor control-plane REST API (api-rest :8081 /v0): pools, volumes, nodes, nexuses"
    reads_exposition: ClassVar[bool] = False
    expected_families: ClassVar[Mapping[str, str]] = {"mayastor_api_up": "gauge"}

    async def collect(self, client: httpx.AsyncClient, target: ScrapeTarget, limits: ParseLimits) -> Exposition:
        base, only = _base_and_part(target.url)
        read = _MayastorRead(client, target, limits, base)
        readers: dict[str, Callable[[], Awaitable[None]]] = {
            "nodes": read.nodes,
            "pools": read.pools,
            "volumes": read.volumes,
            "nexuses": read.nexuses,
        }
        failures: list[str] = []
        for part in (only,) if only else _PARTS:
            try:
                await readers[part]()
            except TargetUnreachable:
                raise
            except (ScrapeError, _Shape) as exc:
                failures.append(f"Mayastor API {part}: {exc}")
                read.gauges.add("mayastor_api_up", {"part": part}, 0, help="1 when this part of the API could be read")
            else:
                read.gauges.add("mayastor_api_up", {"part": part}, 1, help="1 when this part of the API could be read")
        if len(failures) == len((only,) if only else _PARTS):
            raise SourceAPIError("no part of the Mayastor API could be read: " + "; ".join(failures), target=target.url)
        exposition = read.gauges.exposition()
        exposition.warnings.extend(failures)
        return exposition


def _base_and_part(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    only = ""
    for part in _PARTS:
        if path.endswith(f"/v0/{part}"):
            only, path = part, path[: -len(f"/{part}")]
    if path.endswith("/v0"):
        path = path[: -len("/v0")]
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")), only


class _MayastorRead:
    def __init__(self, client: httpx.AsyncClient, target: ScrapeTarget, limits: ParseLimits, base: str) -> None:
        self.client, self.target, self.limits = client, target, limits
        self.api = f"{base}/v0"
        self.gauges = GaugeFamilies()

    async def _list(self, part: str) -> list[Any]:
        answer = await fetch_json(self.client, self.target, f"{self.api}/{part}", limits=self.limits)
        if not isinstance(answer, list):
            raise _Shape(_shape_reason(answer, "a JSON list"))
        return answer

    async def nodes(self) -> None:
        for node in await self._list("nodes"):
            node = _obj(node, "node")
            name = str(node.get("id", ""))
            state = _obj(node.get("state"), "node.state")
            spec = _obj(node.get("spec"), "node.spec")
            self.gauges.state_set(
                "mayastor_node_status", {"node": name}, _lower(state.get("status")), NODE_STATES,
                help="Mayastor storage node status as the control plane sees it",
            )
            self.gauges.state_set(
                "mayastor_node_cordon_state", {"node": name}, _cordon_state(spec.get("cordondrainstate")),
                CORDON_STATES, label="state", help="cordon/drain state of the storage node",
            )

    async def pools(self) -> None:
        for pool in await self._list("pools"):
            pool = _obj(pool, "pool")
            spec = _obj(pool.get("spec"), "pool.spec")
            state = _obj(pool.get("state"), "pool.state")
            labels = {"pool": str(pool.get("id", "")), "node": str(state.get("node") or spec.get("node") or "")}
            # A pool whose node is unreachable has a spec but no state: its status is unknown.
            self.gauges.state_set(
                "mayastor_pool_status", labels, _lower(state.get("status")), POOL_STATES,
                help="Mayastor pool status from the control plane",
            )
            for key, family in (("capacity", "capacity"), ("used", "used"), ("committed", "committed")):
                if isinstance(state.get(key), (int, float)):
                    self.gauges.add(
                        f"mayastor_pool_{family}_bytes", labels, state[key], help=f"pool {family} bytes", unit="By"
                    )

    async def volumes(self) -> None:
        async for volume in self._volume_pages():
            volume = _obj(volume, "volume")
            spec = _obj(volume.get("spec"), "volume.spec")
            state = _obj(volume.get("state"), "volume.state")
            uuid = str(spec.get("uuid") or state.get("uuid") or "")
            labels = {"volume": uuid, "pv_name": f"pvc-{uuid}"}
            self.gauges.state_set(
                "mayastor_volume_status", labels, _lower(state.get("status")), VOLUME_STATES,
                help="Mayastor volume status (degraded: a replica is missing or rebuilding)",
            )
            size = state.get("size", spec.get("size"))
            if isinstance(size, (int, float)):
                self.gauges.add("mayastor_volume_size_bytes", labels, size, help="volume size", unit="By")
            if isinstance(spec.get("num_replicas"), int):
                self.gauges.add("mayastor_volume_replicas_desired", labels, spec["num_replicas"], help="replicas asked for")
            topology = _obj(state.get("replica_topology"), "volume.state.replica_topology")
            online = 0
            for replica_id, replica in sorted(topology.items()):
                replica = _obj(replica, "replica_topology entry")
                replica_state = _lower(replica.get("state"))
                online += replica_state == "online"
                replica_labels = {
                    **labels,
                    "replica": str(replica_id),
                    "node": str(replica.get("node") or ""),
                    "pool": str(replica.get("pool") or ""),
                }
                self.gauges.state_set(
                    "mayastor_volume_replica_status", replica_labels, replica_state, REPLICA_STATES,
                    help="state of each replica of the volume",
                )
                progress = replica.get("rebuild-progress", replica.get("rebuild_progress"))
                if isinstance(progress, (int, float)):
                    self.gauges.add(
                        "mayastor_volume_rebuild_progress_ratio", replica_labels, min(max(progress / 100.0, 0.0), 1.0),
                        help="rebuild progress of a replica being rebuilt, 0 to 1", unit="1",
                    )
            self.gauges.add("mayastor_volume_replicas", labels, len(topology), help="replicas the volume has")
            self.gauges.add("mayastor_volume_replicas_online", labels, online, help="replicas that are online")

    async def _volume_pages(self) -> AsyncIterator[Any]:
        max_entries = self.target.options.get("page_size", "200")
        token: str | None = None
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            params = {"max_entries": max_entries}
            if token is not None:
                params["starting_token"] = token
            answer = await fetch_json(self.client, self.target, f"{self.api}/volumes", params=params, limits=self.limits)
            if isinstance(answer, list):  # releases before pagination
                for volume in answer:
                    yield volume
                return
            if not isinstance(answer, Mapping) or not isinstance(answer.get("entries"), list):
                raise _Shape(_shape_reason(answer, "an object with an 'entries' list"))
            for volume in answer["entries"]:
                yield volume
            following = answer.get("next_token")
            if following is None or following == "":
                return
            token = str(following)
            if token in seen:
                raise _Shape(f"pagination loops: next_token {token} repeats")
            seen.add(token)
        raise _Shape(f"more than {_MAX_PAGES} pages of volumes; raise page_size")

    async def nexuses(self) -> None:
        for nexus in await self._list("nexuses"):
            nexus = _obj(nexus, "nexus")
            labels = {"nexus": str(nexus.get("uuid", "")), "node": str(nexus.get("node", ""))}
            self.gauges.state_set(
                "mayastor_nexus_status", labels, _lower(nexus.get("state")), NEXUS_STATES,
                help="state of the volume target (nexus)",
            )
            if isinstance(nexus.get("rebuilds"), int):
                self.gauges.add("mayastor_nexus_rebuilds", labels, nexus["rebuilds"], help="rebuild tasks running")
            for child in nexus.get("children") or []:
                child = _obj(child, "nexus child")
                progress = child.get("rebuildProgress")
                if isinstance(progress, (int, float)):
                    self.gauges.add(
                        "mayastor_nexus_child_rebuild_progress_ratio",
                        {**labels, "child": str(child.get("uri", ""))},
                        min(max(progress / 100.0, 0.0), 1.0),
                        help="rebuild progress of a nexus child, 0 to 1",
                        unit="1",
                    )


def _cordon_state(value: Any) -> str:
    """``cordondrainstate`` is absent (uncordoned) or one of three tagged objects."""
    if not value:
        return "uncordoned"
    if isinstance(value, Mapping):
        for key, state in (("cordonedstate", "cordoned"), ("drainingstate", "draining"), ("drainedstate", "drained")):
            if key in value:
                return state
    raise _Shape(f"unknown cordondrainstate {value!r}")


def _lower(value: Any) -> str:
    return str(value).lower() if isinstance(value, str) and value else "unknown"


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _Shape(f"{where} is a {type(value).__name__}, not an object")
    return value


def _shape_reason(answer: Any, expected: str) -> str:
    if isinstance(answer, Mapping) and "kind" in answer and "details" in answer:
        return f"the API answered {answer['kind']}: {answer['details']}"
    return f"unknown answer shape: expected {expected}, got {type(answer).__name__}"
