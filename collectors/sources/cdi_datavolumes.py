"""CDI DataVolumes read from the Kubernetes API: phase and import/clone progress.

Why the API: CDI has no DataVolume phase metric, and progress is only exposed by the
short-lived importer or cloner pod that the DataVolume controller polls into
``status.progress``. The API server has both for every DataVolume, for as long as it exists.

The target URL is the API server (``https://kubernetes.default.svc`` in a pod, with the
service account's token file and ``ca.crt``) or a full DataVolume list URL. Options:
``namespaces`` (comma list; default all namespaces), ``api_version`` (default ``v1beta1``),
``page_size`` (default 500). Needs ``get``/``list`` on ``datavolumes.cdi.kubevirt.io``.

Gauges: ``cdi_datavolume_phase{namespace,name,phase}`` = 1 (the current phase),
``cdi_datavolume_progress_ratio{namespace,name}`` (0–1; absent while CDI reports ``N/A``),
``cdi_datavolume_ready{namespace,name}`` (the ``Ready`` condition) and
``cdi_datavolume_restarts{namespace,name}`` (importer pod restarts).
"""

from __future__ import annotations

from typing import Any, AsyncIterator, ClassVar, Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx

from omni_core.errors import SourceAPIError, TargetHTTPError

from .._http import fetch_json
from .._source import Source
from .._target import ParseLimits, ScrapeTarget
from ..exposition import Exposition
from ._gauges import GaugeFamilies

__all__ = ["CdiDataVolumeSource", "datavolume_list_urls"]

_GROUP = "cdi.kubevirt.io"
_MAX_PAGES = 1000


def datavolume_list_urls(target: ScrapeTarget) -> list[str]:
    """The list URLs to read: the target's own when it names DataVolumes, else per namespace."""
    parts = urlsplit(target.url)
    if parts.path.rstrip("/").endswith("/datavolumes"):
        return [target.url]
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    version = target.options.get("api_version", "v1beta1")
    namespaces = [n.strip() for n in target.options.get("namespaces", "").split(",") if n.strip()]
    if not namespaces:
        return [f"{base}/apis/{_GROUP}/{version}/datavolumes"]
    return [f"{base}/apis/{_GROUP}/{version}/namespaces/{ns}/datavolumes" for ns in namespaces]


class CdiDataVolumeSource(Source):
    name: ClassVar[str] = "cdi-datavolumes"
    description: ClassVar[str] = "CDI DataVolume phase and progress from the Kubernetes API"
    reads_exposition: ClassVar[bool] = False
    expected_families: ClassVar[Mapping[str, str]] = {"cdi_datavolume_phase": "gauge"}

    async def collect(self, client: httpx.AsyncClient, target: ScrapeTarget, limits: ParseLimits) -> Exposition:
        gauges = GaugeFamilies()
        for url in datavolume_list_urls(target):
            async for item in _items(client, target, url, limits):
                _emit(gauges, item, url)
        return gauges.exposition()


async def _items(
    client: httpx.AsyncClient, target: ScrapeTarget, url: str, limits: ParseLimits
) -> AsyncIterator[Mapping[str, Any]]:
    params = {"limit": target.options.get("page_size", "500")}
    for _ in range(_MAX_PAGES):
        try:
            page = await fetch_json(client, target, url, params=params, limits=limits)
        except TargetHTTPError as exc:
            if exc.status_code == 404:
                raise SourceAPIError(
                    "the API server does not know DataVolumes (HTTP 404): is CDI installed, and does "
                    "api_version match its CRD (cdi.kubevirt.io/v1beta1)?",
                    target=url,
                ) from exc
            raise
        if not isinstance(page, Mapping) or not isinstance(page.get("items"), list):
            raise SourceAPIError(_shape_reason(page), target=url)
        for item in page["items"]:
            if not isinstance(item, Mapping):
                raise SourceAPIError("a DataVolumeList item is not an object", target=url)
            yield item
        metadata = page.get("metadata")
        token = metadata.get("continue") if isinstance(metadata, Mapping) else None
        if not token:
            return
        params = {"limit": params["limit"], "continue": str(token)}
    raise SourceAPIError(f"more than {_MAX_PAGES} pages of DataVolumes; raise page_size", target=url)


def _emit(gauges: GaugeFamilies, item: Mapping[str, Any], url: str) -> None:
    metadata = item.get("metadata")
    status = item.get("status") or {}
    if not isinstance(metadata, Mapping) or not isinstance(status, Mapping):
        raise SourceAPIError("a DataVolume without object 'metadata' and 'status'", target=url)
    labels = {"namespace": str(metadata.get("namespace", "")), "name": str(metadata.get("name", ""))}
    phase = str(status.get("phase") or "Unknown")
    gauges.add("cdi_datavolume_phase", {**labels, "phase": phase}, 1, help="current DataVolume phase (value 1)")
    ratio = _progress_ratio(status.get("progress"))
    if ratio is not None:
        gauges.add(
            "cdi_datavolume_progress_ratio", labels, ratio, help="import/clone/upload progress, 0 to 1", unit="1"
        )
    conditions = status.get("conditions")
    if isinstance(conditions, list):
        for condition in conditions:
            if isinstance(condition, Mapping) and condition.get("type") == "Ready":
                ready = 1 if condition.get("status") == "True" else 0
                gauges.add("cdi_datavolume_ready", labels, ready, help="the DataVolume's Ready condition")
    restarts = status.get("restartCount")
    if isinstance(restarts, (int, float)):
        gauges.add("cdi_datavolume_restarts", labels, restarts, help="restarts of the DataVolume's importer pod")


def _progress_ratio(progress: Any) -> float | None:
    """CDI writes progress as a percentage string, ``"13.45%"``, or ``"N/A"`` when unknown."""
    if not isinstance(progress, str) or not progress.endswith("%"):
        return None
    try:
        value = float(progress[:-1]) / 100.0
    except ValueError:
        return None
    return min(max(value, 0.0), 1.0)


def _shape_reason(page: Any) -> str:
    if isinstance(page, Mapping) and page.get("kind") == "Status":
        return f"the API server answered {page.get('reason', '')}: {page.get('message', '')}"
    return "unknown answer shape: expected a DataVolumeList (an object with an 'items' list)"
