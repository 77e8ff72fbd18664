"""Kuma's control plane HTTP API (``kuma-control-plane`` :5681): data plane and service health.

What is read, per mesh:

* dataplane overviews, ``/meshes/{mesh}/dataplanes/_overview`` (Kuma 2.5+), falling back to
  the older ``/meshes/{mesh}/dataplanes+insights`` on 404; pages followed through ``next``;
* ``/mesh-insights`` for the control plane's own per-mesh counts;
* ``/meshes/{mesh}/service-insights`` for service status. Kuma 3.x no longer computes
  these (404, or an empty list while proxies have services): the status is then derived
  from the data planes with Kuma's former rule, and ``origin="dataplanes"`` says so.

Gauges produced (all state sets are one series per state, 1 on the current one):

* ``kuma_dataplane_status{mesh,name,service,zone,gateway,status}``; ``kuma_dataplane_inbounds_ready``
  and ``kuma_dataplane_inbounds`` (ready and total inbounds + zone-proxy listeners);
  ``kuma_dataplane_info{kuma_dp_version,envoy_version}``; ``kuma_dataplane_cert_expiration_timestamp_seconds``;
* ``kuma_mesh_dataplanes{mesh,status,origin}`` (online/partially_degraded/offline counts);
* ``kuma_service_status{mesh,service,status,origin}``, ``kuma_service_dataplanes{mesh,service,status}``;
* ``kuma_api_up{part,mesh}``: 0 when that part of the API failed (the reason is a scrape
  warning). A failed part never hides the others; when nothing at all can be read, the
  scrape fails with a :class:`SourceAPIError` naming every reason.

The target URL is the API's base URL. A URL that already names a dataplane overview list
(``.../dataplanes/_overview`` or ``.../dataplanes+insights``) is read as the only part, with
mesh and service counts derived from it. Options: ``meshes`` (comma list; default: all, from
``/meshes``), ``page_size`` (default 500, Kuma's maximum is 1000).
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, ClassVar, Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from omni_core.errors import ScrapeError, SourceAPIError, TargetHTTPError, TargetUnreachable

from .._http import fetch_json
from .._source import Source
from .._target import ParseLimits, ScrapeTarget
from ..exposition import Exposition
from ._gauges import GaugeFamilies
from ._kuma_status import (
    DATAPLANE_STATES,
    SERVICE_STATES,
    DataplaneStatus,
    ServiceStatus,
    UnknownShape,
    dataplane_status,
    service_statuses,
)

__all__ = ["KumaApiSource"]

_MAX_PAGES = 1000
_OVERVIEW_MARKERS = ("/dataplanes/_overview", "/dataplanes+insights")


class KumaApiSource(Source):
    name: ClassVar[str] = "kuma-api"
    description: ClassVar[str] = "Kuma control plane HTTP API (:5681): data plane, mesh and service status"
    reads_exposition: ClassVar[bool] = False
    expected_families: ClassVar[Mapping[str, str]] = {
        "kuma_dataplane_status": "gauge",
        "kuma_api_up": "gauge",
    }

    async def collect(self, client: httpx.AsyncClient, target: ScrapeTarget, limits: ParseLimits) -> Exposition:
        read = _KumaApiRead(client, target, limits)
        if any(marker in urlsplit(target.url).path for marker in _OVERVIEW_MARKERS):
            await read.single_overview(target.url)
        else:
            await read.all_meshes()
        return read.result()


class _KumaApiRead:
    """One scrape of the API: the parts read so far, and why the others failed."""

    def __init__(self, client: httpx.AsyncClient, target: ScrapeTarget, limits: ParseLimits) -> None:
        self.client, self.target, self.limits = client, target, limits
        parts = urlsplit(target.url)
        self.base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self.page_size = target.options.get("page_size", "500")
        self.gauges = GaugeFamilies()
        self.failures: list[str] = []
        self.successes = 0

    # -- the parts ---------------------------------------------------------------------

    async def single_overview(self, url: str) -> None:
        dataplanes = await self._part("dataplanes", "", self._overview_pages(url))
        if dataplanes is None:
            return
        self._emit_dataplanes(dataplanes)
        for mesh in sorted({dp.mesh for dp in dataplanes}):
            in_mesh = [dp for dp in dataplanes if dp.mesh == mesh]
            self._emit_mesh_counts_from(mesh, in_mesh)
            self._emit_services(service_statuses(in_mesh), origin="dataplanes")

    async def all_meshes(self) -> None:
        insights = await self._part("mesh_insights", "", self._mesh_insights())
        meshes = self._configured_meshes() or await self._part("meshes", "", self._meshes())
        if meshes is None:
            meshes = sorted(insights or ())  # the insights name every mesh, too
        for mesh in meshes:
            dataplanes = await self._part("dataplanes", mesh, self._mesh_overviews(mesh))
            if dataplanes is not None:
                self._emit_dataplanes(dataplanes)
            if insights is not None and mesh in insights:
                self._emit_mesh_counts(mesh, insights[mesh], origin="mesh_insight")
            elif dataplanes is not None:
                self._emit_mesh_counts_from(mesh, dataplanes)
            services = await self._part("service_insights", mesh, self._service_insights(mesh))
            if services:
                self._emit_services(services, origin="service_insight")
            elif dataplanes is not None:
                # Kuma 3.x computes no service insights (404 or an empty list): derive them.
                self._emit_services(service_statuses(dataplanes), origin="dataplanes")

    def result(self) -> Exposition:
        if self.successes == 0:
            raise SourceAPIError("no part of the Kuma API could be read: " + "; ".join(self.failures), target=self.target.url)
        exposition = self.gauges.exposition()
        exposition.warnings.extend(self.failures)
        return exposition

    # -- reading -----------------------------------------------------------------------

    async def _part(self, part: str, mesh: str, reading: Awaitable[Any]) -> Any:
        """Await one part; on failure record ``kuma_api_up=0`` and the reason, return None."""
        labels = {"part": part, "mesh": mesh}
        try:
            value = await reading
        except TargetUnreachable:
            raise  # the control plane itself is down: the whole target is, too
        except (ScrapeError, UnknownShape) as exc:
            where = f"{part}{f' of mesh {mesh}' if mesh else ''}"
            self.failures.append(f"Kuma API {where}: {exc}")
            self.gauges.add("kuma_api_up", labels, 0, help="1 when this part of the Kuma API could be read")
            return None
        self.successes += 1
        self.gauges.add("kuma_api_up", labels, 1, help="1 when this part of the Kuma API could be read")
        return value

    async def _get(self, url: str, params: dict[str, str] | None = None) -> Any:
        return await fetch_json(self.client, self.target, url, params=params, limits=self.limits)

    def _configured_meshes(self) -> list[str]:
        return [m.strip() for m in self.target.options.get("meshes", "").split(",") if m.strip()]

    async def _meshes(self) -> list[str]:
        names: list[str] = []
        async for item in self._items(f"{self.base}/meshes"):
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                raise SourceAPIError("/meshes item without a string 'name'", target=self.target.url)
            names.append(item["name"])
        return names

    async def _mesh_overviews(self, mesh: str) -> list[DataplaneStatus]:
        try:
            return await self._overview_pages(f"{self.base}/meshes/{mesh}/dataplanes/_overview")
        except TargetHTTPError as exc:
            if exc.status_code != 404:
                raise
            # Kuma before 2.5 only knows the older name of the same list.
            return await self._overview_pages(f"{self.base}/meshes/{mesh}/dataplanes+insights")

    async def _overview_pages(self, url: str) -> list[DataplaneStatus]:
        statuses = []
        async for item in self._items(url):
            statuses.append(dataplane_status(item))
        return statuses

    async def _mesh_insights(self) -> dict[str, Mapping[str, Any]]:
        insights: dict[str, Mapping[str, Any]] = {}
        async for item in self._items(f"{self.base}/mesh-insights"):
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                raise UnknownShape("mesh insight without a string 'name'")
            dataplanes = item.get("dataplanes", {})
            if not isinstance(dataplanes, Mapping):
                raise UnknownShape(f"mesh insight {item['name']}: 'dataplanes' is not an object")
            insights[item["name"]] = dataplanes
        return insights

    async def _service_insights(self, mesh: str) -> list[ServiceStatus]:
        statuses: list[ServiceStatus] = []
        try:
            async for item in self._items(f"{self.base}/meshes/{mesh}/service-insights"):
                statuses.extend(_service_insight(mesh, item))
        except TargetHTTPError as exc:
            if exc.status_code != 404:
                raise
            return []  # Kuma 3.x does not compute service insights any more
        return statuses

    async def _items(self, url: str) -> AsyncIterator[Any]:
        """Every item of a paginated Kuma list, following ``next`` on the target's own host."""
        params: dict[str, str] | None = {"size": self.page_size}
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            page = await self._get(url, params)
            if not isinstance(page, Mapping) or not isinstance(page.get("items"), list):
                raise SourceAPIError(_shape_reason(page), target=url)
            for item in page["items"]:
                yield item
            following = page.get("next")
            if not following:
                return
            url, params = self._rebased(str(following))
            if url + str(params) in seen:
                raise SourceAPIError(f"pagination loops: 'next' repeats {following!r}", target=url)
            seen.add(url + str(params))
        raise SourceAPIError(f"more than {_MAX_PAGES} pages; raise page_size", target=url)

    def _rebased(self, following: str) -> tuple[str, dict[str, str]]:
        """``next`` carries the host the control plane believes it has; keep ours."""
        parts = urlsplit(following)
        base = urlsplit(self.base)
        url = urlunsplit((base.scheme, base.netloc, parts.path, "", ""))
        return url, dict(parse_qsl(parts.query, keep_blank_values=True))

    # -- emitting ------------------------------------------------------------------------

    def _emit_dataplanes(self, dataplanes: list[DataplaneStatus]) -> None:
        g = self.gauges
        for dp in dataplanes:
            labels = {"mesh": dp.mesh, "name": dp.name, "service": dp.service_label, "zone": dp.zone}
            g.state_set(
                "kuma_dataplane_status",
                {**labels, "gateway": "true" if dp.gateway else "false"},
                dp.status,
                DATAPLANE_STATES,
                help="Kuma data plane proxy status by Kuma's rule (connected, inbounds ready)",
            )
            g.add("kuma_dataplane_inbounds_ready", labels, dp.ready, help="ready inbounds and zone-proxy listeners")
            g.add("kuma_dataplane_inbounds", labels, dp.total, help="inbounds and zone-proxy listeners")
            if dp.kuma_dp_version or dp.envoy_version:
                g.add(
                    "kuma_dataplane_info",
                    {**labels, "kuma_dp_version": dp.kuma_dp_version, "envoy_version": dp.envoy_version},
                    1,
                    help="versions of the proxy's connected kuma-dp and Envoy",
                )
            if dp.cert_expiration_unix_s is not None:
                g.add(
                    "kuma_dataplane_cert_expiration_timestamp_seconds",
                    labels,
                    dp.cert_expiration_unix_s,
                    help="expiry of the proxy's mesh mTLS certificate (unix time)",
                    unit="s",
                )

    def _emit_mesh_counts(self, mesh: str, counts: Mapping[str, Any], *, origin: str) -> None:
        for status, key in (("online", "online"), ("partially_degraded", "partiallyDegraded"), ("offline", "offline")):
            self.gauges.add(
                "kuma_mesh_dataplanes",
                {"mesh": mesh, "status": status, "origin": origin},
                _count(counts.get(key, 0)),
                help="data plane proxies of the mesh by status",
            )

    def _emit_mesh_counts_from(self, mesh: str, dataplanes: list[DataplaneStatus]) -> None:
        counts = {"online": 0, "partiallyDegraded": 0, "offline": 0}
        for dp in dataplanes:
            counts["partiallyDegraded" if dp.status == "partially_degraded" else dp.status] += 1
        self._emit_mesh_counts(mesh, counts, origin="dataplanes")

    def _emit_services(self, services: list[ServiceStatus], *, origin: str) -> None:
        for s in services:
            labels = {"mesh": s.mesh, "service": s.service}
            self.gauges.state_set(
                "kuma_service_status",
                {**labels, "origin": origin},
                s.status,
                SERVICE_STATES,
                help="Kuma service status (from ServiceInsight, or derived from its proxies)",
            )
            for status, count in (("online", s.online), ("offline", s.offline)):
                self.gauges.add(
                    "kuma_service_dataplanes",
                    {**labels, "status": status},
                    count,
                    help="proxies of the service; partially degraded ones count as offline",
                )


def _service_insight(mesh: str, item: Any) -> list[ServiceStatus]:
    """A ServiceInsight list item (2.x), or the 1.x per-mesh object with a ``services`` map."""
    if not isinstance(item, Mapping):
        raise UnknownShape("service insight item is not an object")
    if isinstance(item.get("services"), Mapping):
        return [_one_service(mesh, name, body) for name, body in sorted(item["services"].items())]
    if not isinstance(item.get("name"), str):
        raise UnknownShape("service insight item without a string 'name'")
    return [_one_service(str(item.get("mesh") or mesh), item["name"], item)]


def _one_service(mesh: str, name: str, body: Any) -> ServiceStatus:
    if not isinstance(body, Mapping):
        raise UnknownShape(f"service insight {name} is not an object")
    dataplanes = body.get("dataplanes", {})
    if not isinstance(dataplanes, Mapping):
        raise UnknownShape(f"service insight {name}: 'dataplanes' is not an object")
    status = body.get("status", "")
    if status not in SERVICE_STATES:
        raise UnknownShape(f"service insight {name}: unknown status {status!r}")
    online = _count(dataplanes.get("online", 0))
    offline = _count(dataplanes.get("offline", 0))
    return ServiceStatus(mesh, name, str(status), online, offline)


def _count(value: Any) -> int:
    """Kuma writes uint64 counters as JSON strings and omits zeros."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UnknownShape(f"count {value!r} is not a number") from None


def _shape_reason(page: Any) -> str:
    if isinstance(page, Mapping) and ("title" in page or "details" in page):
        return f"the API answered an error: {page.get('title', '')} {page.get('details', '')}".strip()
    kind = type(page).__name__ if not isinstance(page, Mapping) else f"object with keys {sorted(page)[:8]}"
    return f"unknown answer shape: expected an object with an 'items' list, got {kind}"
