"""Upload dashboards through Grafana's HTTP dashboard API, overwriting by uid.

For each dashboard: ``GET /api/dashboards/uid/<uid>``; when Grafana already holds the same
content (ignoring the fields Grafana owns: ``id``, ``version``) it is reported unchanged,
otherwise ``POST /api/dashboards/db`` with ``overwrite: true`` creates or updates it. A
folder given by title is looked up (``GET /api/folders``) and created when missing.
Failures name the cause: 401 a rejected token, 403 a token without dashboard write
permission, 412 a version or name conflict Grafana would not overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import httpx

from omni_core.errors import ConfigError, GrafanaAPIError

__all__ = ["PushOutcome", "push_dashboards", "read_token"]

_GRAFANA_OWNED = ("id", "version")


@dataclass(frozen=True)
class PushOutcome:
    uid: str
    title: str
    result: Literal["created", "updated", "unchanged"]
    version: int | None = None


def read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the Grafana token file {str(path)!r}: {exc.strerror}", field="--token-file") from exc
    if not token:
        raise ConfigError(f"the Grafana token file {str(path)!r} is empty", field="--token-file")
    return token


def _explain(response: httpx.Response, uid: str, action: str) -> GrafanaAPIError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("message") or response.text[:200]
    status = response.status_code
    if status == 401:
        reason = "Grafana rejected the token (401): check --token-file holds a valid service account token"
    elif status == 403:
        reason = "the token may not write dashboards (403): give its service account the Editor role or dashboards:write"
    elif status == 412:
        kind = body.get("status", "conflict")
        reason = (f"Grafana refused the overwrite (412 {kind}): another dashboard has this title in the folder, "
                  "or the stored version changed meanwhile; rename it or delete the other dashboard")
    else:
        reason = f"Grafana answered {status}"
    return GrafanaAPIError(f"{action} {uid}: {reason} ({detail})", status_code=status, uid=uid)


def _comparable(dashboard: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dashboard.items() if k not in _GRAFANA_OWNED}


def _folder_uid(client: httpx.Client, title: str) -> str:
    response = client.get("/api/folders")
    if response.status_code != 200:
        raise _explain(response, title, "listing folders for")
    for folder in response.json():
        if folder.get("title") == title:
            return str(folder["uid"])
    created = client.post("/api/folders", json={"title": title})
    if created.status_code not in (200, 201):
        raise _explain(created, title, "creating folder")
    return str(created.json()["uid"])


def push_dashboards(
    grafana_url: str,
    token: str,
    dashboards: Sequence[Mapping[str, Any]],
    *,
    folder: str | None = None,
    message: str = "omni-telemetry dashboards push",
    transport: httpx.BaseTransport | None = None,
    timeout_s: float = 30.0,
) -> list[PushOutcome]:
    if not grafana_url.startswith(("http://", "https://")):
        raise ConfigError(f"--grafana-url must be http(s)://host[:port], got {grafana_url!r}", field="--grafana-url")
    outcomes = []
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with httpx.Client(base_url=grafana_url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport) as client:
        try:
            folder_uid = _folder_uid(client, folder) if folder else None
            for dashboard in dashboards:
                outcomes.append(_push_one(client, dashboard, folder_uid, message))
        except httpx.HTTPError as exc:
            raise GrafanaAPIError(f"cannot reach Grafana at {grafana_url}: {exc}") from exc
    return outcomes


def _push_one(client: httpx.Client, dashboard: Mapping[str, Any], folder_uid: str | None, message: str) -> PushOutcome:
    uid, title = str(dashboard["uid"]), str(dashboard["title"])
    existing = client.get(f"/api/dashboards/uid/{uid}")
    if existing.status_code == 200:
        stored = existing.json()
        same_folder = folder_uid is None or stored.get("meta", {}).get("folderUid") == folder_uid
        if same_folder and _comparable(stored.get("dashboard", {})) == _comparable(dashboard):
            return PushOutcome(uid, title, "unchanged", stored.get("dashboard", {}).get("version"))
    elif existing.status_code != 404:
        raise _explain(existing, uid, "reading dashboard")
    payload: dict[str, Any] = {"dashboard": {**dashboard, "id": None}, "overwrite": True, "message": message}
    if folder_uid:
        payload["folderUid"] = folder_uid
    response = client.post("/api/dashboards/db", json=payload)
    if response.status_code != 200:
        raise _explain(response, uid, "uploading dashboard")
    body = response.json()
    return PushOutcome(uid, title, "updated" if existing.status_code == 200 else "created", body.get("version"))
