"""The collectors' own Prometheus metrics: what the pipeline did, for the pipeline's on-call."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from ._target import ScrapeTarget

__all__ = ["CollectorMetrics"]


class CollectorMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.scrapes = Counter(
            "omni_scrapes", "Scrapes by job and result", ["job", "result"], registry=registry
        )
        self.samples = Counter(
            "omni_samples_scraped", "Samples read from targets", ["job"], registry=registry
        )
        self.warnings = Counter(
            "omni_scrape_warnings", "Conversion warnings (dropped samples, missing families)", ["job"], registry=registry
        )
        self.duration = Histogram(
            "omni_scrape_duration_seconds", "Scrape plus conversion time", ["job"], registry=registry
        )

    def observe_scrape(self, target: ScrapeTarget, ok: bool, samples: int, duration_s: float, warnings: int) -> None:
        self.scrapes.labels(target.job, "success" if ok else "failure").inc()
        self.samples.labels(target.job).inc(samples)
        if warnings:
            self.warnings.labels(target.job).inc(warnings)
        self.duration.labels(target.job).observe(duration_s)
