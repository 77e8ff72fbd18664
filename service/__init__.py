"""The on-call health API (FastAPI): health rollups per entity, component and overall, with
reasons, evaluated by SQL rules on the metric tables defined in :mod:`exporters.clickhouse`."""

from ._app import HealthConfig, build_monitor, create_app
from ._at import InvalidAt, parse_at
from ._evaluate import ComponentState, Evaluator, Snapshot
from ._events import EventQuery
from ._monitor import HealthMonitor
from ._rules import COMPONENTS, Rule, RuleSet, load_rules
from ._selfmetrics import HealthMetrics
from ._status import Status, worst
from ._store import QueryFailed, StoreReader

__all__ = [
    "COMPONENTS",
    "ComponentState",
    "Evaluator",
    "EventQuery",
    "HealthConfig",
    "HealthMetrics",
    "HealthMonitor",
    "InvalidAt",
    "QueryFailed",
    "Rule",
    "RuleSet",
    "Snapshot",
    "Status",
    "StoreReader",
    "build_monitor",
    "create_app",
    "load_rules",
    "parse_at",
    "worst",
]
