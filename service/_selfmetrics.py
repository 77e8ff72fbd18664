"""The health service's own metrics on ``/metrics`` (prometheus-client, one registry per app)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["HealthMetrics"]


@dataclass(frozen=True)
class HealthMetrics:
    registry: CollectorRegistry
    evaluation_duration: Histogram
    evaluation_errors: Counter
    snapshot_age: Gauge
    requests: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> "HealthMetrics":
        registry = registry or CollectorRegistry()
        return cls(
            registry=registry,
            evaluation_duration=Histogram(
                "omni_health_evaluation_duration_seconds", "Time of one health evaluation", ["kind"],
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=registry,
            ),
            evaluation_errors=Counter(
                "omni_health_evaluation_errors_total",
                "Evaluation failures: kind=rule (a rule's SQL failed), store (store unreachable), exception",
                ["kind"], registry=registry,
            ),
            snapshot_age=Gauge("omni_health_snapshot_age_seconds", "Age of the latest health snapshot", registry=registry),
            requests=Counter(
                "omni_health_requests_total", "HTTP requests by route and status code", ["route", "code"], registry=registry,
            ),
        )
