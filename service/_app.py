"""The FastAPI application: ``/health`` rollups, ``/livez``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import FastAPI, Path as PathParam, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from omni_core.errors import ConfigError, OmniError, StorageError
from exporters.clickhouse import SchemaOptions

from ._at import InvalidAt, parse_at
from ._encoded import EncodedAnswer
from ._evaluate import Evaluator, Snapshot
from ._events import EventQuery, involved_object, recent_events
from ._model import (
    ComponentDetail,
    EntityDetail,
    HealthAnswer,
    NotFoundAnswer,
    ProblemAnswer,
    Reason,
)
from ._monitor import HealthMonitor
from ._rules import RuleSet, load_rules
from ._selfmetrics import HealthMetrics, RequestCounter
from ._status import Status, worst
from ._store import StoreReader

__all__ = ["HealthConfig", "build_monitor", "create_app"]

#: Entity ids hold slashes (``dataplane/default/dp-0``), hence the ``path`` parameter.
_ENTITY_ROUTE = "/health/{component}/{entity:path}"


_AT_HELP = (
    "evaluate at this past time instead of serving the latest snapshot: RFC 3339 "
    "(2026-11-29T03:12:00Z) or epoch seconds; a future or unparseable value is a 422"
)


@dataclass(frozen=True)
class HealthConfig:
    """What the service needs, passed down from the settings (nothing here reads the environment)."""

    dsn: str
    schema: SchemaOptions = SchemaOptions()
    rules_file: Path | None = None
    eval_interval_s: float = 5.0
    scrape_interval_s: float = 15.0
    staleness_intervals: float = 3.0
    critical_http_status: int = 503
    #: how far back and how many Kubernetes warning events an entity detail shows
    events_window_s: float = 3600.0
    events_limit: int = 10

    def __post_init__(self) -> None:
        if self.eval_interval_s <= 0:
            raise ConfigError("must be positive", field="health_eval_interval_s")
        if self.staleness_intervals <= 0:
            raise ConfigError("must be positive", field="health_staleness_intervals")
        if not 200 <= self.critical_http_status <= 599:
            raise ConfigError("must be an HTTP status code (200-599)", field="health_critical_http_status")

    @property
    def stale_after_s(self) -> float:
        return self.scrape_interval_s * self.staleness_intervals

    @property
    def max_snapshot_age_s(self) -> float:
        """A snapshot older than three evaluation intervals (at least 30 s) is not trusted."""
        return max(3 * self.eval_interval_s, 30.0)


def build_monitor(config: HealthConfig, *, store: StoreReader | None = None, rules: RuleSet | None = None,
                  metrics: HealthMetrics | None = None) -> HealthMonitor:
    store = store or StoreReader.for_dsn(config.dsn, config.schema)
    evaluator = Evaluator(store, rules or load_rules(config.rules_file), stale_after_s=config.stale_after_s)
    return HealthMonitor(evaluator, interval_s=config.eval_interval_s, max_age_s=config.max_snapshot_age_s,
                         metrics=metrics or HealthMetrics.create())


#: Entity ids the OpenAPI schema offers as examples (the demo has each of them).
_ENTITY_EXAMPLES = ("pool/pool-a", "vm/vms/db-01", "application/argocd/kubevirt", "disk/default", "store/clickhouse")


def create_app(monitor: HealthMonitor, *, critical_http_status: int = 503, background: bool = True,
               events: EventQuery = EventQuery(), dashboards_dir: Path | None = None) -> FastAPI:
    """The API over ``monitor``. With ``background`` the evaluation thread runs for the app's lifetime.
    ``dashboards_dir``, when given, is served under ``/dashboards/`` (the demo's offline previews)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if background:
            monitor.start()
        try:
            yield
        finally:
            if background:
                monitor.stop()

    app = FastAPI(
        title="omni-telemetry health",
        version="1",
        description=(
            "What is broken, where, since when and why: health of Mayastor, Envoy/Contour, Kuma, KubeVirt/CDI "
            "Argo CD applications and the telemetry pipeline, evaluated from the otel_metrics_* tables. Statuses, best to worst: "
            "ok < unknown < degraded < critical; the worst wins."
        ),
        lifespan=lifespan,
    )
    metrics = monitor.metrics
    store = monitor.evaluator.store
    # The component path parameter is documented as an enum of the enabled components (so generated
    # requests reach real ones) but validated by the handlers, so an unknown name is a 404 listing them.
    names = [c.name for c in monitor.evaluator.rules.enabled_components]
    component_param = PathParam(
        description="a component: " + ", ".join(names),
        json_schema_extra={"enum": names, "examples": names[:3]},
    )
    entity_param = PathParam(
        description="an entity id (kind/name) as listed by /health/{component}",
        json_schema_extra={"examples": list(_ENTITY_EXAMPLES)},
    )

    app.add_middleware(RequestCounter, counter=metrics.requests)

    @app.exception_handler(StorageError)
    async def storage_error(_: Request, exc: StorageError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": f"metric store: {exc}"})

    @app.exception_handler(OmniError)
    async def omni_error(_: Request, exc: OmniError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    def snapshot_for(at: str | None) -> Snapshot | JSONResponse:
        if at is None:
            return monitor.latest() or monitor.evaluate()
        try:
            when = parse_at(at, datetime.now(timezone.utc))
        except InvalidAt as exc:
            return JSONResponse(
                status_code=422,
                content={"detail": [{"loc": ["query", "at"], "msg": f"at: {exc}", "type": "value_error"}]},
            )
        return monitor.evaluate(when)

    def age_of(snapshot: Snapshot) -> float:
        return max(0.0, (datetime.now(timezone.utc) - snapshot.evaluated_at).total_seconds())

    def too_old(age: float, at: str | None) -> Reason | None:
        if at is None and age > monitor.max_age_s:
            return Reason(rule="service.snapshot_age", status=Status.UNKNOWN,
                          message=f"the latest evaluation is {age:.0f}s old (bound {monitor.max_age_s:g}s): "
                                  "evaluations are stuck or failing; see omni_health_evaluation_errors_total")
        return None

    def encode(snapshot: Snapshot, stale: Reason | None) -> EncodedAnswer:
        status = worst([snapshot.status, Status.UNKNOWN]) if stale else snapshot.status
        answer = HealthAnswer(
            status=status,
            summary=(f"{status.value}: {stale.message}; last evaluation said {snapshot.summary}"
                     if stale else snapshot.summary),
            evaluated_at=snapshot.evaluated_at, at=snapshot.at, age_s=0.0,
            components=[c.rollup() for c in snapshot.components.values()],
            reasons=([stale] if stale else []) + snapshot.reasons,
        )
        return EncodedAnswer.of(answer, critical_http_status if status is Status.CRITICAL else 200)

    common = {422: {"description": "`at` is in the future or cannot be parsed"}}

    # /health is what probers and refresh bursts hit: answered on the event loop from the latest
    # snapshot, its body encoded once per snapshot (and again once when it turns stale) with only
    # age_s written per request; only ?at= goes to a worker thread to evaluate.
    latest_encoded: list[tuple[Snapshot, bool, EncodedAnswer]] = []

    def encode_latest(snapshot: Snapshot, stale: Reason | None) -> EncodedAnswer:
        if latest_encoded:
            cached_snapshot, cached_stale, encoded = latest_encoded[0]
            if cached_snapshot is snapshot and cached_stale == (stale is not None):
                return encoded
        encoded = encode(snapshot, stale)
        latest_encoded[:] = [(snapshot, stale is not None, encoded)]
        return encoded

    @app.get("/health", response_model=HealthAnswer, summary="Overall health and one entry per component",
             responses={503: {"model": HealthAnswer, "description": "overall critical (configurable)"}, **common})
    async def health(at: str | None = Query(default=None, description=_AT_HELP)) -> Any:
        snapshot: Snapshot | JSONResponse | None = monitor.latest() if at is None else None
        if snapshot is None:
            snapshot = await run_in_threadpool(snapshot_for, at)
        if isinstance(snapshot, JSONResponse):
            return snapshot
        age = age_of(snapshot)
        stale = too_old(age, at)
        encoded = encode_latest(snapshot, stale) if at is None else encode(snapshot, stale)
        return encoded.response(age)

    def unknown_component(snapshot: Snapshot, component: str) -> JSONResponse:
        valid = sorted(snapshot.components)
        return JSONResponse(status_code=404, content=NotFoundAnswer(
            detail=f"no component {component!r}; valid: {', '.join(valid)}", valid=valid).model_dump())

    @app.get("/health/{component}", response_model=ComponentDetail, summary="Every entity of one component",
             responses={404: {"model": NotFoundAnswer}, **common})
    def component_health(component: str = component_param, at: str | None = Query(default=None, description=_AT_HELP)) -> Any:
        snapshot = snapshot_for(at)
        if isinstance(snapshot, JSONResponse):
            return snapshot
        state = snapshot.components.get(component)
        if state is None:
            return unknown_component(snapshot, component)
        return ComponentDetail(
            name=state.name, status=state.status, summary=state.summary, counts=state.counts,
            entities=state.entities, reasons=state.reasons, newest_data=state.newest_data,
            evaluated_at=snapshot.evaluated_at, at=snapshot.at, rules=state.rules,
        )

    @app.get(_ENTITY_ROUTE, response_model=EntityDetail,
             summary="One entity with the recent values behind its status",
             responses={404: {"model": NotFoundAnswer}, **common})
    def entity_health(component: str = component_param, entity: str = entity_param, at: str | None = Query(default=None, description=_AT_HELP)) -> Any:
        snapshot = snapshot_for(at)
        if isinstance(snapshot, JSONResponse):
            return snapshot
        state = snapshot.components.get(component)
        if state is None:
            return unknown_component(snapshot, component)
        found = next((e for e in state.entities if e.id == entity), None)
        if found is None:
            valid = [e.id for e in state.entities]
            return JSONResponse(status_code=404, content=NotFoundAnswer(
                detail=f"no entity {entity!r} in {component}; valid: {', '.join(valid[:50]) or 'none'}",
                valid=valid).model_dump())
        return EntityDetail(**found.model_dump(), component=component, evaluated_at=snapshot.evaluated_at,
                            at=snapshot.at, recent=state.recent_values(entity),
                            events=recent_events(store, involved_object(component, found.kind, found.name),
                                                 snapshot.at, events))

    @app.get("/livez", summary="The process answers")
    async def livez() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", summary="The store is reachable and the metric tables exist",
             responses={503: {"model": ProblemAnswer}})
    def readyz() -> Any:
        try:
            store.ready()
        except StorageError as exc:
            return JSONResponse(status_code=503, content={"detail": f"not ready: {exc}"})
        return {"status": "ready"}

    @app.get("/metrics", response_class=PlainTextResponse, summary="The service's own metrics (Prometheus text)")
    def own_metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    if dashboards_dir is not None:
        # html=True answers /dashboards/ with the index page the preview renderer writes
        app.mount("/dashboards", StaticFiles(directory=dashboards_dir, html=True, check_dir=False), name="dashboards")
    _match_any_entity_id(app)
    return app


def _match_any_entity_id(app: FastAPI) -> None:
    """Let the entity route take an id with any character. Starlette's ``path`` pattern is
    ``.*``, whose dot stops at a newline: an id starting with one matched no route (a bare 404
    without the valid names) and one ending with one was read without it. Matching the same
    pattern with DOTALL keeps the route template, hence the OpenAPI document and the
    ``route`` label of the request counter, as they are."""
    for route in app.router.routes:
        if getattr(route, "path", None) == _ENTITY_ROUTE:
            route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
