"""HTTP reads of targets, with every transport failure mapped to one :class:`ScrapeError` branch.

Timeouts, refusals, TLS failures and HTTP statuses all end here, so the scrape loop deals
with one exception tree and an operator reads one kind of reason.
"""

from __future__ import annotations

import ssl
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from omni_core.errors import (
    ConfigError,
    ExpositionError,
    ExpositionLimitExceeded,
    SourceAPIError,
    TargetHTTPError,
    TargetTimeout,
    TargetUnreachable,
)

from ._target import ParseLimits, ScrapeTarget

__all__ = ["BodyDecoder", "HttpBody", "deadline_exceeded", "fetch", "fetch_json", "request_headers", "tls_verify_for"]

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
    """GET ``url`` (default: the target's) within the body bound, decoded by :class:`BodyDecoder`.

    httpx's timeout bounds each socket operation, not the request: the deadline of the whole
    scrape is the caller's (:class:`~collectors.Scraper` wraps every scrape in one).
    """
    where = url or target.url
    headers = request_headers(target, accept)
    try:
        async with client.stream(
            "GET", where, headers=headers, params=params, timeout=httpx.Timeout(target.timeout_s)
        ) as response:
            encoding = response.headers.get("content-encoding", "")
            if response.status_code >= 400:
                text = await _error_excerpt(response, encoding)
                hint = _status_hint(response.status_code)
                raise TargetHTTPError(
                    f"HTTP {response.status_code} {response.reason_phrase}{hint}; body starts: {text!r}",
                    target=where,
                    status_code=response.status_code,
                )
            decoder = BodyDecoder(encoding, limits.max_body_bytes, where)
            chunks: list[bytes] = []
            async for raw in response.aiter_raw():
                chunks.append(decoder.feed(raw))
            chunks.append(decoder.finish())
            return HttpBody(b"".join(chunks), response.headers.get("content-type", ""))
    except httpx.TimeoutException as exc:
        raise deadline_exceeded(target, where) from exc
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


def deadline_exceeded(target: ScrapeTarget, where: str = "") -> TargetTimeout:
    """The one reason given for a scrape that did not finish within its timeout."""
    return TargetTimeout(
        f"scrape deadline of {target.timeout_s:g} s exceeded (connect, headers, body and decompression "
        "must all finish within scrape_timeout); check the target's load and network, or raise scrape_timeout",
        target=where or target.url,
    )


class BodyDecoder:
    """Undo ``Content-Encoding`` without ever holding more than ``limit`` decoded bytes.

    httpx inflates each received chunk whole, so a 64 KiB gzip chunk of zeros becomes 64 MiB before
    any bound can look at it; here every inflate call is capped at what the limit still allows.
    """

    def __init__(self, encoding: str, limit: int, where: str) -> None:
        self._limit = limit
        self._where = where
        self._size = 0
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in _WBITS):
            raise ExpositionError(
                f"the target answered with Content-Encoding {encoding!r}; only gzip and deflate are "
                "asked for and understood",
                target=where,
            )
        self._inflate = zlib.decompressobj(_WBITS[codings[0]]) if codings else None
        self._raw_deflate_fallback = bool(codings) and codings[0] == "deflate"

    def feed(self, raw: bytes) -> bytes:
        if self._inflate is None:
            return self._count(raw)
        out: list[bytes] = []
        data = raw
        while data:
            try:
                piece = self._inflate.decompress(data, self._limit - self._size + 1)
            except zlib.error as exc:
                if self._raw_deflate_fallback and self._size == 0 and not out:
                    # "deflate" is meant to be zlib-wrapped, but some servers send it raw
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._raw_deflate_fallback = False
                    continue
                raise ExpositionError(f"the compressed body is corrupt ({exc})", target=self._where) from exc
            self._raw_deflate_fallback = False
            out.append(self._count(piece))
            data = self._inflate.unconsumed_tail
        return b"".join(out)

    def finish(self) -> bytes:
        if self._inflate is None:
            return b""
        return self._count(self._inflate.flush())

    def _count(self, decoded: bytes) -> bytes:
        self._size += len(decoded)
        if self._size > self._limit:
            raise ExpositionLimitExceeded(
                f"body larger than {self._limit} bytes (max_body_bytes) once decoded; "
                "raise the limit or filter the target's output",
                target=self._where,
            )
        return decoded


#: zlib window bits per Content-Encoding: gzip framing, or the zlib framing "deflate" names.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


async def _error_excerpt(response: httpx.Response, encoding: str) -> str:
    """The first 300 characters of an error body, reading and inflating no more than needed."""
    decoder = BodyDecoder(encoding, 1024 * 1024, str(response.url))
    out = b""
    try:
        async for raw in response.aiter_raw():
            out += decoder.feed(raw)
            if len(out) >= 300:
                break
        else:
            out += decoder.finish()
    except ExpositionError:  # corrupt or huge: what was decoded so far is the excerpt
        pass
    return out[:300].decode("utf-8", "replace").strip()


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
