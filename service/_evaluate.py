"""One evaluation: run every enabled rule's SQL at a point in time, turn rows into entity
statuses with reasons, roll entities up into components and components into the overall.

All aggregation over samples happens in ClickHouse (latest value, when the current status
began, counter increases); Python only compares the few resulting values with thresholds,
so a rule's numbers are the numbers a dashboard query on the same tables would show.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from datetime import datetime, timedelta, timezone
from string import Template
from types import MappingProxyType
from typing import Any

from omni_core.errors import SchemaError, StorageUnavailable
from exporters.clickhouse import MetricKind, qualified

from ._model import ComponentHealth, EntityHealth, Reason, RecentValue, RuleRun
from ._rules import Rule, RuleSet
from ._status import Status, worst
from ._store import QueryFailed, StoreReader

__all__ = ["ComponentState", "Evaluator", "Snapshot"]

_RECENT = 8
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: One value behind an entity's status: rule id, sample time, value, state.
RecentPoint = tuple[str, datetime, float | None, str]


@dataclass
class ComponentState:
    """A component with all its entities (the API shows the non-ok ones in /health)."""

    name: str
    status: Status
    summary: str
    counts: dict[Status, int]
    entities: list[EntityHealth]
    reasons: list[Reason]
    newest_data: datetime | None
    rules: list[RuleRun]
    #: Per entity id, the values behind its status, newest first, as plain tuples: thousands per
    #: evaluation, and only the entity an on-call asks for becomes RecentValue models.
    recent: dict[str, list[RecentPoint]] = field(default_factory=dict)

    def recent_values(self, entity_id: str) -> list[RecentValue]:
        return [RecentValue(rule=rule, time=time, value=value, state=state)
                for rule, time, value, state in self.recent.get(entity_id, [])]

    def rollup(self) -> ComponentHealth:
        return ComponentHealth(
            name=self.name, status=self.status, summary=self.summary, counts=self.counts,
            entities=[e for e in self.entities if e.status is not Status.OK], reasons=self.reasons,
            newest_data=self.newest_data,
        )


@dataclass
class Snapshot:
    evaluated_at: datetime
    at: datetime
    status: Status
    summary: str
    components: dict[str, ComponentState]
    duration_s: float
    rule_errors: int = 0
    store_error: str | None = None

    @property
    def reasons(self) -> list[Reason]:
        found = [r for c in self.components.values() if c.status is not Status.OK for r in c.reasons]
        return sorted(found, key=lambda r: -r.status.rank)


@dataclass
class _Entity:
    kind: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    maintenance: str | None = None
    newest: datetime | None = None
    recent: list[RecentPoint] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"


class Evaluator:
    """Evaluates a :class:`RuleSet` against the store. Thread-safe: holds no per-run state."""

    #: Sent with every evaluation statement: they tune how it runs, never what it answers. Rules
    #: read several keys of the attribute maps; rewritten to subcolumn reads, every key decodes
    #: the whole map column again (on the classic layout a whole day of it), so the maps are
    #: read once and looked up instead.
    statement_settings: Mapping[str, Any] = MappingProxyType({"optimize_functions_to_subcolumns": 0})

    def __init__(self, store: StoreReader, rules: RuleSet, *, stale_after_s: float) -> None:
        self.store = store
        self.rules = rules
        self.stale_after_s = stale_after_s

    # -- one evaluation -------------------------------------------------------------------

    def evaluate(self, at: datetime | None = None) -> Snapshot:
        """Evaluate at ``at`` (default now). A store that is down or lacks its tables gives a
        snapshot saying so (pipeline critical, everything else unknown), never an exception."""
        started = time.perf_counter()
        evaluated_at = datetime.now(timezone.utc)
        at = at or evaluated_at
        try:
            self.store.check_schema()
            return self._evaluate(at, evaluated_at, started)
        except (StorageUnavailable, SchemaError) as exc:
            return self._store_down(at, evaluated_at, started, str(exc))

    def _evaluate(self, at: datetime, evaluated_at: datetime, started: float) -> Snapshot:
        enabled = self.rules.enabled_rules
        rows, failures = self._rows(enabled, at)
        components: dict[str, ComponentState] = {}
        for component in self.rules.enabled_components:
            entities: dict[str, _Entity] = {}
            runs: list[RuleRun] = []
            for rule in component.rules:
                if not rule.enabled:
                    continue
                if rule.id in failures:
                    runs.append(RuleRun(id=rule.id, description=rule.description, outcome=f"failed: {failures[rule.id]}"))
                    broken = entities.setdefault(f"rule/{rule.id}", _Entity("rule", rule.id))
                    broken.statuses.append(Status.UNKNOWN)
                    broken.reasons.append(Reason(rule=rule.id, status=Status.UNKNOWN,
                                                 message=f"rule {rule.id} failed: {failures[rule.id]}"))
                    continue
                found = rows.get(rule.id, [])
                self._judge_rows(rule, found, at, entities)
                runs.append(RuleRun(id=rule.id, description=rule.description, entities=len(found),
                                    outcome="evaluated" if found else "no data"))
            if component.name == "pipeline":
                store = entities.setdefault("store/clickhouse", _Entity("store", "clickhouse"))
                store.labels["where"] = self.store.where
                store.statuses.append(Status.OK)
            components[component.name] = _component(component.name, entities, runs)
        overall = worst(c.status for c in components.values())
        return Snapshot(evaluated_at, at, overall, _overall_summary(components), components,
                        time.perf_counter() - started, len(failures))

    def _rows(self, rules: list[Rule], at: datetime) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
        """Every rule's rows from ONE statement (a UNION ALL); only when that fails, rule by rule,
        so that one broken rule costs its own result and names itself."""
        by_rule: dict[str, list[dict[str, Any]]] = {rule.id: [] for rule in rules}
        failures: dict[str, str] = {}
        if not rules:
            return by_rule, failures
        records: list[dict[str, Any]] = []
        try:
            columns, rows = self.store.query(self.statement(rules, at), self.statement_settings)
            records = [dict(zip(columns, row)) for row in rows]
        except QueryFailed:
            for rule in rules:
                try:
                    columns, rows = self.store.query(self.sql_for(rule, at), self.statement_settings)
                except QueryFailed as exc:
                    failures[rule.id] = str(exc)
                    continue
                records.extend(dict(zip(columns, row)) for row in rows)
        for record in records:
            by_rule.setdefault(record["rule"], []).append(record)
        return by_rule, failures

    def _store_down(self, at: datetime, evaluated_at: datetime, started: float, reason: str) -> Snapshot:
        components: dict[str, ComponentState] = {}
        for component in self.rules.enabled_components:
            if component.name == "pipeline":
                failure = Reason(rule="pipeline.store", status=Status.CRITICAL, message=reason)
                store = EntityHealth(id="store/clickhouse", kind="store", name="clickhouse", status=Status.CRITICAL,
                                     labels={"where": self.store.where}, reasons=[failure])
                counts = {s: int(s is Status.CRITICAL) for s in Status}
                components["pipeline"] = ComponentState(
                    "pipeline", Status.CRITICAL, f"critical: store unreachable ({reason})", counts, [store],
                    [failure.model_copy(update={"entity": "pipeline/store/clickhouse"})], None, [],
                )
            else:
                components[component.name] = ComponentState(
                    component.name, Status.UNKNOWN, f"unknown: the store cannot be read ({reason})",
                    {s: 0 for s in Status}, [],
                    [Reason(rule="pipeline.store", status=Status.UNKNOWN, message=f"store unreachable: {reason}")],
                    None, [],
                )
        overall = worst(c.status for c in components.values())
        return Snapshot(evaluated_at, at, overall, f"{overall.value}: {reason}", components,
                        time.perf_counter() - started, 0, reason)

    # -- rules ----------------------------------------------------------------------------

    def sql_for(self, rule: Rule, at: datetime) -> str:
        """The statement a rule runs alone at ``at`` (the fallback when the combined one fails)."""
        return self.statement([rule], at)

    def statement(self, rules: list[Rule], at: datetime) -> str:
        """ONE statement answering every rule in ``rules`` at ``at``.

        Every ``samples`` rule contributes one branch (its rows, tagged with the rule id and
        the status level of each sample) to a single UNION ALL, and one GROUP BY over that
        union finds, per rule and entity, the latest values, when the current level began and
        the recent values; ``aggregate`` rules are already one row per entity and only get
        their columns typed. One aggregation instead of one per rule keeps the cost of an
        evaluation close to the cost of reading the rules' samples."""
        samples = [rule for rule in rules if rule.mode == "samples"]
        parts = [self._aggregate_sql(rule, at) for rule in rules if rule.mode == "aggregate"]
        if samples:
            parts.insert(0, self._samples_sql(samples, at))
        return "\nUNION ALL\n".join(f"({part})" for part in parts)

    def _inner(self, rule: Rule, at: datetime) -> str:
        """The rule's own SQL with its placeholders filled with numbers and table names."""
        options = self.store.options
        at_ns = int((at - _EPOCH) / timedelta(microseconds=1)) * 1000
        values: dict[str, Any] = {
            "gauge": qualified(options, MetricKind.GAUGE),
            "sum": qualified(options, MetricKind.SUM),
            "histogram": qualified(options, MetricKind.HISTOGRAM),
            "summary": qualified(options, MetricKind.SUMMARY),
            "at": f"fromUnixTimestamp64Nano(toInt64({at_ns}))",
            "from": f"fromUnixTimestamp64Nano(toInt64({at_ns - int(rule.window_s * 1e9)}))",
            "fresh_from": f"fromUnixTimestamp64Nano(toInt64({at_ns - int(self.stale_after_s * 1e9)}))",
            "window_s": repr(float(rule.window_s)),
        }
        values.update({k: repr(float(v)) for k, v in rule.params.items()})
        return Template(rule.sql).safe_substitute(values).strip().rstrip(";")

    def _aggregate_sql(self, rule: Rule, at: datetime) -> str:
        return f"""
SELECT '{rule.id}' AS rule, toString(kind) AS kind, toString(name) AS name, CAST(labels AS Map(String, String)) AS latest_labels,
       toFloat64(ifNull(value, nan)) AS latest_value, toString(ifNull(state, '')) AS latest_state,
       toString(ifNull(detail, '')) AS latest_detail, toDateTime64(seen, 9) AS seen, toDateTime64(0, 9) AS since,
       toUInt8(0) AS has_recent, CAST([], 'Array(Tuple(DateTime64(9), Float64, String))') AS recent
FROM ({self._inner(rule, at)})"""

    def _samples_sql(self, rules: list[Rule], at: datetime) -> str:
        # Each branch types its columns alike, so the union needs no conversions. The level
        # expression reads the typed ``value`` and ``state`` (aliases win over the rule's own
        # columns), which compare exactly like the rule's: NULL became nan or '', both "ok".
        branches = "\n    UNION ALL\n".join(f"""
    SELECT '{rule.id}' AS rule, toString(kind) AS kind, toString(name) AS name,
           CAST(labels AS Map(String, String)) AS labels, toDateTime64(t, 9) AS t,
           toFloat64(ifNull(value, nan)) AS value, toString(ifNull(state, '')) AS state,
           toString(ifNull(detail, '')) AS detail, toString({rule.level_sql()}) AS level
    FROM ({self._inner(rule, at)})""" for rule in rules)
        return f"""
SELECT rule, kind, name, latest_labels, latest_value, latest_state, latest_detail, seen,
       arrayMin(arrayFilter(x -> x > arrayMax(arrayMap((x, l) -> if(l != current_level, x, toDateTime64(0, 9)), times, levels)),
                            times)) AS since,
       toUInt8(1) AS has_recent,
       CAST(arraySlice(arrayReverseSort((point, x) -> x, arrayZip(times, values, states), times), 1, {_RECENT})
            AS Array(Tuple(DateTime64(9), Float64, String))) AS recent
FROM (
    SELECT rule, kind, name, argMax(labels, t) AS latest_labels, argMax(value, t) AS latest_value,
           argMax(state, t) AS latest_state, argMax(detail, t) AS latest_detail, max(t) AS seen,
           argMax(level, t) AS current_level, groupArray(t) AS times, groupArray(level) AS levels,
           groupArray(value) AS values, groupArray(state) AS states
    FROM ({branches}
    )
    GROUP BY rule, kind, name
)"""

    def _judge_rows(self, rule: Rule, rows: list[dict[str, Any]], at: datetime, entities: dict[str, _Entity]) -> None:
        fresh_from = at - timedelta(seconds=self.stale_after_s)
        for raw in rows:
            record = {column.removeprefix("latest_"): cell for column, cell in raw.items()}
            entity = entities.setdefault(f"{record['kind']}/{record['name']}", _Entity(record["kind"], record["name"]))
            entity.labels.update({k: v for k, v in (record.get("labels") or {}).items() if v})
            seen = _utc(record["seen"])
            entity.newest = max(filter(None, (entity.newest, seen)), default=None)
            since = _utc(record.get("since"))
            if since is not None and since.year <= 1970:
                since = None
            entity.recent.extend(_recent(rule, record, seen))
            if seen is not None and seen < fresh_from:
                entity.statuses.append(Status.UNKNOWN)
                entity.reasons.append(Reason(
                    rule=rule.id, status=Status.UNKNOWN, window_s=rule.window_s, since=seen,
                    message=f"stale since {seen.isoformat(timespec='seconds')}: no sample for {rule.id} "
                            f"in the last {self.stale_after_s:g}s",
                ))
                continue
            status, reason = _judge(rule, record, at, since)
            if status == "maintenance":
                entity.maintenance = f"{record['state']}" + (f" ({record['detail']})" if record.get("detail") else "")
                entity.statuses.append(Status.OK)
                continue
            entity.statuses.append(status)
            if reason is not None:
                entity.reasons.append(reason)


def _judge(rule: Rule, record: dict[str, Any], at: datetime, since: datetime | None) -> tuple[Any, Reason | None]:
    detail = str(record.get("detail") or "")
    value = record.get("value")
    if rule.states:
        state = str(record.get("state") or "")
        mapped = rule.states.get(state)
        if mapped is None or mapped.status == "ok":
            return Status.OK, None
        if mapped.after_s and (since is None or (at - since).total_seconds() < mapped.after_s):
            return Status.OK, None
        if mapped.status == "maintenance":
            return "maintenance", None
        status = Status(mapped.status)
        lasted = f" for more than {mapped.after_s:g}s" if mapped.after_s else ""
        message = f"{rule.description or rule.id}: {state}{lasted}" + (f", {detail}" if detail else "")
        return status, Reason(rule=rule.id, status=status, message=message + _since_text(since),
                              observed=state, threshold=f"state {state}", window_s=rule.window_s, since=since)
    observed = float(value) if value is not None else float("nan")
    status, threshold = rule.status_for_value(observed)
    if threshold is None:
        return Status.OK, None
    message = (f"{rule.description or rule.id}: {_fmt(observed, rule.unit)} {threshold.op} "
               f"{_fmt(threshold.value, rule.unit)}" + (f" ({detail})" if detail else ""))
    if rule.mode == "aggregate" and since is None:
        message += f" over the last {rule.window_s:g}s"
    return status, Reason(rule=rule.id, status=status, message=message + _since_text(since), observed=observed,
                          threshold=threshold.text(), window_s=rule.window_s, since=since)


def _since_text(since: datetime | None) -> str:
    return f" since {since.isoformat(timespec='seconds')}" if since else ""


def _fmt(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value:.2%}"
    if unit == "s":
        return f"{value:,.0f}s"
    return f"{value:g}"


def _recent(rule: Rule, record: dict[str, Any], seen: datetime | None) -> list[RecentPoint]:
    points = record.get("recent") if record.get("has_recent") else None
    if points is None:
        return [(rule.id, seen, _num(record.get("value")), str(record.get("state") or ""))] if seen else []
    return [(rule.id, _utc(t), _num(v), str(s or "")) for t, v, s in points]


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _utc(value: Any) -> datetime | None:
    if value is None or not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _component(name: str, entities: dict[str, _Entity], runs: list[RuleRun]) -> ComponentState:
    healths: list[EntityHealth] = []
    recent: dict[str, list[RecentPoint]] = {}
    for entity in entities.values():
        status = worst(entity.statuses) if entity.statuses else Status.UNKNOWN
        reasons = sorted(entity.reasons, key=lambda r: -r.status.rank)
        healths.append(EntityHealth(id=entity.id, kind=entity.kind, name=entity.name, status=status,
                                    labels=entity.labels, reasons=reasons, maintenance=entity.maintenance,
                                    newest_data=entity.newest))
        recent[entity.id] = sorted(entity.recent, key=itemgetter(1), reverse=True)
    healths.sort(key=lambda e: (-e.status.rank, e.id))
    counts = {s: sum(1 for e in healths if e.status is s) for s in Status}
    measured = [e for e in healths if e.kind != "store"]
    newest = max((e.newest_data for e in healths if e.newest_data), default=None)
    if not measured:
        reasons = [Reason(rule=f"{name}.no_data", status=Status.UNKNOWN,
                          message=f"no data: no rule of {name} found anything to evaluate")]
        status = worst([Status.UNKNOWN, *(e.status for e in healths)])
        return ComponentState(name, status, f"{status.value}: no data", counts, healths,
                              reasons + [r for e in healths for r in e.reasons], newest, runs, recent)
    status = worst(e.status for e in healths)
    bad = [e for e in healths if e.status is not Status.OK]
    reasons = [r.model_copy(update={"entity": f"{name}/{e.id}"}) for e in bad for r in e.reasons]
    if not bad:
        summary = f"ok: {len(healths)} entities ok"
    else:
        first = ", ".join(f"{e.id} {e.status.value}" for e in bad[:3]) + (" ..." if len(bad) > 3 else "")
        summary = f"{status.value}: {len(bad)} of {len(healths)} entities not ok ({first})"
    return ComponentState(name, status, summary, counts, healths, reasons, newest, runs, recent)


def _overall_summary(components: dict[str, ComponentState]) -> str:
    overall = worst(c.status for c in components.values())
    bad = [f"{c.name} {c.status.value}" for c in components.values() if c.status is not Status.OK]
    return f"{overall.value}: " + (", ".join(bad) if bad else f"all {len(components)} components ok")
