"""HTTP reads of targets, with every transport failure mapped to one :class:`ScrapeError` branch.

Timeouts, refusals, TLS failures and HTTP statuses all end here, so the scrape loop deals
with one exception tree and an operator reads one kind of reason.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from omni_core.errors import (
    ConfigError,
    ExpositionLimitExceeded,
    SourceAPIError,
    TargetHTTPError,
    TargetTimeout,
    TargetUnreachable,
)

from ._target import ParseLimits, ScrapeTarget

__all__ = ["HttpBody", "fetch", "fetch_json", "request_headers", "tls_verify_for"]

#: Ask for OpenMetrics first, then the Prometheus text format, as Prometheus does.
EXPOSITION_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.6,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


@dataclass(frozen=True)
class HttpBody:
    content: bytes
    content_type: str


def tls_verify_for(target: ScrapeTarget) -> ssl.SSLContext | bool:
    """The ``verify`` argument for httpx: the target's CA file, or off only when explicitly asked."""
    if target.insecure_skip_verify:
        return False
    if target.ca_file:
        try:
            return ssl.create_default_context(cafile=target.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load CA file {target.ca_file!r} ({exc}); point ca_file at a PEM bundle",
                field="targets.ca_file",
            ) from exc
    return True


def request_headers(target: ScrapeTarget, accept: str = EXPOSITION_ACCEPT) -> dict[str, str]:
    headers = {"Accept": accept, "Accept-Encoding": "gzip", "User-Agent": "omni-telemetry"}
    if target.bearer_token_file:
        try:
            token = Path(target.bearer_token_file).read_text().strip()
        except OSError as exc:
            raise TargetUnreachable(
                f"cannot read bearer token file {target.bearer_token_file!r}: {exc.strerror}",
                target=target.url,
            ) from exc
        headers["Authorization"] = f"Bearer {token}"
    headers["X-Prometheus-Scrape-Timeout-Seconds"] = f"{target.timeout_s:g}"
    return headers


async def fetch(
    client: httpx.AsyncClient,
    target: ScrapeTarget,
    *,
    url: str | None = None,
    params: dict[str, str] | None = None,
    accept: str = EXPOSITION_ACCEPT,
    limits: ParseLimits = ParseLimits(),
) -> HttpBody:
    """GET ``url`` (default: the target's) within the target's timeout and body bound."""
    where = url or target.url
    headers = request_headers(target, accept)
    try:
        async with client.stream(
            "GET", where, headers=headers, params=params, timeout=httpx.Timeout(target.timeout_s)
        ) as response:
            if response.status_code >= 400:
                text = (await response.aread())[:300].decode("utf-8", "replace").strip()
                hint = _status_hint(response.status_code)
                raise TargetHTTPError(
                    f"HTTP {response.status_code} {response.reason_phrase}{hint}; body starts: {text!r}",
                    target=where,
                    status_code=response.status_code,
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limits.max_body_bytes:
                    raise ExpositionLimitExceeded(
                        f"body larger than {limits.max_body_bytes} bytes (max_body_bytes); "
                        "raise the limit or filter the target's output",
                        target=where,
                    )
                chunks.append(chunk)
            return HttpBody(b"".join(chunks), response.headers.get("content-type", ""))
    except httpx.TimeoutException as exc:
        raise TargetTimeout(
            f"no complete answer within {target.timeout_s:g}s ({type(exc).__name__}); "
            "check the target's load or raise scrape_timeout",
            target=where,
        ) from exc
    except httpx.ConnectError as exc:
        reason = str(exc) or type(exc).__name__
        if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate" in reason.lower():
            reason += (
                "; TLS certificate verification failed: set ca_file to the CA that signed the "
                "target's certificate (insecure_skip_verify: true turns verification off)"
            )
        raise TargetUnreachable(f"cannot connect: {reason}", target=where) from exc
    except httpx.HTTPError as exc:
        raise TargetUnreachable(f"{type(exc).__name__}: {exc}", target=where) from exc


async def fetch_json(
    client: httpx.AsyncClient,
    target: ScrapeTarget,
    url: str,
    *,
    params: dict[str, str] | None = None,
    limits: ParseLimits = ParseLimits(),
) -> Any:
    """GET a JSON API document; a body that is not JSON is a :class:`SourceAPIError`."""
    import json

    body = await fetch(client, target, url=url, params=params, accept="application/json", limits=limits)
    try:
        return json.loads(body.content)
    except ValueError as exc:
        start = body.content[:120].decode("utf-8", "replace")
        raise SourceAPIError(f"answer is not JSON ({exc}); body starts: {start!r}", target=url) from exc


def _status_hint(status: int) -> str:
    if status in (401, 403):
        return " (check the bearer token and the RBAC of the scraping service account)"
    if status == 404:
        return " (wrong path or port for this source?)"
    return ""
