"""One scrape of one target -> OpenTelemetry ``ResourceMetrics``, never an exception.

A target that is down, slow, or answers junk must not stop the others, and on-call must see
why: every failure becomes ``up=0`` with the error's message as the reason, plus staleness
points for the series the target had, exactly as Prometheus records a failed scrape.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping
from urllib.parse import urlsplit

import httpx
from opentelemetry.sdk.metrics.export import Gauge, Metric, MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from omni_core import __version__
from omni_core.datamodel import FlaggedNumberDataPoint
from omni_core.errors import OmniError

from ._http import HttpBody, deadline_exceeded, tls_verify_for
from ._selfmetrics import CollectorMetrics
from ._source import Source
from ._target import ParseLimits, ScrapeTarget
from .exposition import ConvertedScrape, Exposition, SeriesTracker, TargetConverter, staleness_metrics

__all__ = ["SCOPE", "ScrapeResult", "Scraper", "metrics_data", "target_resource"]

_log = logging.getLogger(__name__)

SCOPE = InstrumentationScope("omni-telemetry/collectors", __version__)


@dataclass(frozen=True)
class ScrapeResult:
    """The outcome of one scrape; ``error`` is the operator-facing reason when ``up`` is false."""

    target: ScrapeTarget
    resource_metrics: ResourceMetrics
    up: bool
    error: str | None
    duration_s: float
    samples: int
    warnings: tuple[str, ...] = field(default_factory=tuple)


def target_resource(target: ScrapeTarget, cluster: str = "") -> Resource:
    """Resource attributes as the Collector's Prometheus receiver sets them, plus our cluster."""
    attributes: dict[str, str] = {
        "service.name": target.job,
        "service.instance.id": target.instance,
        "url.scheme": target.scheme,
    }
    parts = urlsplit(f"//{target.instance}")
    host = parts.hostname or ""
    if host and not _is_local(host):
        attributes["server.address"] = host
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None:
        attributes["server.port"] = str(port)
    if cluster:
        attributes["k8s.cluster.name"] = cluster
    attributes.update(target.resource)
    return Resource(dict(sorted(attributes.items())))


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _gauge(name: str, value: float, time_ns: int, unit: str = "", description: str = "") -> Metric:
    return Metric(name, description, unit, Gauge([FlaggedNumberDataPoint({}, 0, time_ns, value)]))


class Scraper:
    """Scrapes targets and keeps, per target, the series state conversion needs across scrapes."""

    def __init__(
        self,
        *,
        cluster: str = "",
        limits: ParseLimits = ParseLimits(),
        sources: Mapping[str, Source] | None = None,
        forget_after_s: float = 600.0,
        max_series_per_target: int = 1_000_000,
        metrics: CollectorMetrics | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        from .sources import SOURCES

        self.cluster = cluster
        self.limits = limits
        self._sources: dict[str, Source] = dict(sources) if sources else {n: c() for n, c in SOURCES.items()}
        self._forget_after_s = forget_after_s
        self._max_series = max_series_per_target
        self._converters: dict[tuple[str, str, str], TargetConverter] = {}
        self._clients: dict[tuple[object, ...], httpx.AsyncClient] = {}
        self._metrics = metrics
        self._clock = clock

    def source_for(self, target: ScrapeTarget) -> Source:
        from .sources import get_source

        source = self._sources.get(target.source)
        if source is None:
            source = self._sources[target.source] = get_source(target.source)
        return source

    def _client_for(self, target: ScrapeTarget) -> httpx.AsyncClient:
        key = (target.ca_file, target.insecure_skip_verify)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = httpx.AsyncClient(verify=tls_verify_for(target), follow_redirects=True)
        return client

    def _converter_for(self, target: ScrapeTarget) -> TargetConverter:
        converter = self._converters.get(target.key)
        if converter is None:
            converter = self._converters[target.key] = TargetConverter(
                SeriesTracker(forget_after_s=self._forget_after_s, max_series=self._max_series)
            )
        return converter

    def forget(self, live: Iterable[ScrapeTarget]) -> None:
        """Drop state of targets no longer configured or discovered."""
        keep = {t.key for t in live}
        for key in [k for k in self._converters if k not in keep]:
            del self._converters[key]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def scrape(self, target: ScrapeTarget) -> ScrapeResult:
        """Read, convert and account for one scrape of ``target``; never raises.

        The whole read (connect, headers, body, decompression, and every request of an API
        source) must finish within ``target.timeout_s``, as Prometheus's ``scrape_timeout``
        bounds a scrape: a target that trickles bytes gets ``up=0`` when the deadline passes
        instead of holding its scrape (and the cycle) open.
        """
        scrape_ns = self._clock()
        started = time.perf_counter()
        converter = self._converter_for(target)
        converted: ConvertedScrape | None = None
        error: str | None = None
        try:
            source = self.source_for(target)
            http = self._client_for(target)
            body: HttpBody | None = None
            exposition: Exposition | None = None
            try:
                async with asyncio.timeout(target.timeout_s):
                    if source.reads_exposition:
                        body = await source.fetch(http, target, self.limits)
                    else:
                        exposition = await source.collect(http, target, self.limits)
            except TimeoutError:
                raise deadline_exceeded(target) from None
            converted = self._convert(source, target, converter, scrape_ns, body, exposition)
        except OmniError as exc:  # ScrapeError and its branches, ConfigError from an unknown source
            error = exc.describe()
        except Exception as exc:  # a bug must cost one target one scrape, not the loop
            _log.exception("unexpected error scraping %s", target.url)
            error = f"internal error while scraping: {type(exc).__name__}: {exc}"
        duration = time.perf_counter() - started
        if converted is None:
            return self.failed(target, error or "unknown error", scrape_ns, duration)
        for warning in converted.warnings:
            _log.warning("%s: %s", target.url, warning)
        return self._result(
            target, converted.metrics, None, scrape_ns, duration,
            converted.samples, converted.kept, converted.series_added, converted.warnings,
        )

    def failed(self, target: ScrapeTarget, error: str, scrape_ns: int, duration_s: float) -> ScrapeResult:
        """The result of a scrape that failed (or was given up on) with ``error``: ``up=0`` and
        one staleness point per series of the target's last scrape."""
        converter = self._converter_for(target)
        converter.forget_layout()
        metrics = staleness_metrics(converter.tracker.mark_all_stale(scrape_ns), scrape_ns)
        _log.warning("scrape of %s failed: %s", target.url, error)
        return self._result(target, metrics, error, scrape_ns, duration_s, 0, 0, 0, ())

    def _result(
        self,
        target: ScrapeTarget,
        metrics: list[Metric],
        error: str | None,
        scrape_ns: int,
        duration_s: float,
        samples: int,
        kept: int,
        added: int,
        warnings: tuple[str, ...],
    ) -> ScrapeResult:
        metrics.extend(_synthetic_series(error is None, duration_s, samples, kept, added, scrape_ns))
        if error is not None:  # the reason beside up=0, so the health API can say why a target is down
            metrics.append(Metric("omni_scrape_error_info", "1 while the scrape fails; reason is the scrape's error", "",
                                  Gauge([FlaggedNumberDataPoint({"reason": error[:500]}, 0, scrape_ns, 1.0)])))
        if self._metrics is not None:
            self._metrics.observe_scrape(target, error is None, samples, duration_s, len(warnings))
        resource_metrics = ResourceMetrics(
            target_resource(target, self.cluster), [ScopeMetrics(SCOPE, metrics, "")], ""
        )
        return ScrapeResult(target, resource_metrics, error is None, error, duration_s, samples, warnings)

    def _convert(
        self,
        source: Source,
        target: ScrapeTarget,
        converter: TargetConverter,
        scrape_ns: int,
        body: HttpBody | None,
        exposition: Exposition | None,
    ) -> ConvertedScrape:
        def missing(exposition: Exposition) -> list[str]:
            absent = source.missing_families(exposition)
            if not absent:
                return []
            more = " ..." if len(absent) > 10 else ""
            return [
                f"expected {source.name} families missing: {', '.join(absent[:10])}{more} "
                "(wrong port, wrong source, or a version change?)"
            ]

        if body is not None:
            return converter.convert(
                body.content,
                body.content_type,
                scrape_ns,
                limits=self.limits,
                normalize=lambda exposition: source.normalize(exposition, target),
                type_overrides=source.type_overrides,
                steady=source.layout_cache,
                missing=missing,
            )
        assert exposition is not None  # the source read no body, so it built the families
        return converter.convert_exposition(
            exposition, scrape_ns, type_overrides=source.type_overrides, missing=missing
        )


def _synthetic_series(up: bool, duration_s: float, samples: int, kept: int, added: int, time_ns: int) -> list[Metric]:
    """The five series the Collector's Prometheus receiver (Prometheus's scrape loop) adds per scrape."""
    return [
        _gauge("up", 1.0 if up else 0.0, time_ns, description="The scraping was successful"),
        _gauge("scrape_duration_seconds", duration_s, time_ns, "s", "Duration of the scrape"),
        _gauge("scrape_samples_scraped", float(samples), time_ns, description="The number of samples the target exposed"),
        _gauge(
            "scrape_samples_post_metric_relabeling", float(kept), time_ns,
            description="The number of samples remaining after metric relabeling was applied",
        ),
        _gauge(
            "scrape_series_added", float(added), time_ns,
            description="The approximate number of new series in this scrape",
        ),
    ]


def metrics_data(results: Iterable[ScrapeResult]) -> MetricsData:
    return MetricsData([r.resource_metrics for r in results])
