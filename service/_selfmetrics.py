"""The health service's own metrics on ``/metrics`` (prometheus-client, one registry per app)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, MutableMapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["HealthMetrics", "RequestCounter"]

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
_Asgi = Callable[[_Scope, _Receive, _Send], Awaitable[None]]


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


class RequestCounter:
    """ASGI middleware counting HTTP requests in ``requests`` by route template and status code.

    Plain ASGI rather than ``@app.middleware("http")``: that one runs every request through an
    extra task and stream pair, which costs more than the ``/health`` and ``/livez`` answers
    themselves. The route is the template the router matched (``/health/{component}``, so
    the label set stays bounded) and ``unmatched`` for a 404 no route took; a request that
    raised before any response started is counted as 500, which is what the client gets.
    """

    def __init__(self, app: _Asgi, counter: Counter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_noting_status(message: _Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            # the router records the matched route in the (shared) scope
            route = getattr(scope.get("route"), "path", "unmatched")
            self.counter.labels(route=route, code=str(status)).inc()
