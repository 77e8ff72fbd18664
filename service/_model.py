"""What the API answers: reasons, entities, components and the overall rollup (pydantic, so
the OpenAPI schema documents exactly what on-call receives)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ._status import Status

__all__ = [
    "ComponentDetail",
    "ComponentHealth",
    "EntityDetail",
    "EntityEvent",
    "EntityHealth",
    "HealthAnswer",
    "NotFoundAnswer",
    "ProblemAnswer",
    "Reason",
    "RecentValue",
    "RuleRun",
]


class Reason(BaseModel):
    """Why something is not ok: which rule, what it saw, against what, over which window, since when."""

    rule: str
    status: Status
    message: str = Field(description="one line for a human")
    observed: float | str | None = Field(default=None, description="the value (or state) the rule saw")
    threshold: str | None = Field(default=None, description="the threshold or state that matched, e.g. '> 0.9'")
    window_s: float | None = None
    since: datetime | None = Field(default=None, description="when the current status began, as far back as the window reaches")
    entity: str | None = Field(default=None, description="component/entity this reason belongs to (rollups only)")


class RecentValue(BaseModel):
    rule: str
    time: datetime
    value: float | None = None
    state: str = ""


class EntityHealth(BaseModel):
    id: str = Field(description="kind/name, the path segment of /health/{component}/{entity}")
    kind: str
    name: str
    status: Status
    labels: dict[str, str] = Field(default_factory=dict)
    reasons: list[Reason] = Field(default_factory=list)
    maintenance: str | None = Field(default=None, description="set when the entity is in maintenance (e.g. cordoned)")
    newest_data: datetime | None = None


class EntityEvent(BaseModel):
    """A Kubernetes warning event about the entity, as stored in ``otel_logs``."""

    time: datetime
    severity: str = Field(description="SeverityText of the log record (WARN for a Warning event)")
    reason: str = Field(description="the event's reason, e.g. FailedCreate")
    message: str
    reporter: str = Field(description="the reporting component (the record's service.name)")
    object: str = Field(description="kind/namespace/name of the involved object")
    count: int = Field(default=1, description="how often the event occurred (k8s.event.count)")


class EntityDetail(EntityHealth):
    component: str
    evaluated_at: datetime
    at: datetime
    recent: list[RecentValue] = Field(default_factory=list, description="the latest values behind the status, newest first")
    events: list[EntityEvent] = Field(
        default_factory=list,
        description="recent Kubernetes warning events about the entity from otel_logs, newest first "
                    "(bounded; empty when there are none or no otel_logs table)",
    )


class RuleRun(BaseModel):
    """How one rule fared in this evaluation: entities found, no data, or failed."""

    id: str
    description: str = ""
    entities: int = 0
    outcome: str = Field(description="'evaluated', 'no data' or 'failed: <reason>'")


class ComponentHealth(BaseModel):
    name: str
    status: Status
    summary: str
    counts: dict[Status, int]
    entities: list[EntityHealth] = Field(description="the entities that made the component non-ok, with reasons")
    reasons: list[Reason] = Field(default_factory=list)
    newest_data: datetime | None = None


class ComponentDetail(ComponentHealth):
    evaluated_at: datetime
    at: datetime
    rules: list[RuleRun] = Field(default_factory=list)


class HealthAnswer(BaseModel):
    status: Status
    summary: str
    evaluated_at: datetime = Field(description="when this evaluation ran")
    at: datetime = Field(description="the point in time evaluated (now, or ?at=)")
    age_s: float = Field(description="seconds since evaluated_at")
    components: list[ComponentHealth]
    reasons: list[Reason] = Field(default_factory=list, description="every reason behind a non-ok overall status")


class NotFoundAnswer(BaseModel):
    detail: str
    valid: list[str]


class ProblemAnswer(BaseModel):
    detail: str
