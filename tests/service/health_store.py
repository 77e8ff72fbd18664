"""Writing chosen samples into a real chDB store through the project's ClickHouse writer.

Scenario tests describe a situation (a pool at 80%, a counter that resets, a target that is
down) as OTel SDK points at chosen times; the writer stores them exactly as the pipeline
does, and the health evaluator reads them back with its real SQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Metric,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from omni_core.datamodel import FlaggedNumberDataPoint
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from exporters.clickhouse import ClickHouseLogWriter, ClickHouseWriter, SchemaOptions, apply_schema, connect
from service import Evaluator, HealthMonitor, HealthMetrics, StoreReader, load_rules

SCOPE = InstrumentationScope("tests.service", "0")


def ns(when: datetime) -> int:
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000




class HealthStore:
    """A chDB store in ``path`` plus helpers to write gauges and cumulative sums."""

    def __init__(self, path: Path, options: SchemaOptions = SchemaOptions()) -> None:
        self.dsn = f"chdb://{path}"
        self.options = options
        self.client = connect(self.dsn)
        apply_schema(self.client, options)
        self.writer = ClickHouseWriter(self.client, options)
        #: the scenario's "now": every ago() of one test shares it, so points meant together share a timestamp
        self.now = datetime.now(timezone.utc).replace(microsecond=0)

    def ago(self, seconds: float) -> datetime:
        return self.now - timedelta(seconds=seconds)

    def _write(self, metric: Metric, job: str, instance: str) -> None:
        resource = Resource({"service.name": job, "service.instance.id": instance})
        self.writer.write(MetricsData([ResourceMetrics(resource, [ScopeMetrics(SCOPE, [metric], "")], "")]))

    def gauge(self, name: str, points: list[tuple[datetime, float]], attributes: Mapping[str, str] | None = None,
              *, job: str = "test", instance: str = "i-1", flags: int = 0) -> None:
        data = [FlaggedNumberDataPoint(dict(attributes or {}), 0, ns(t), float(v), flags=flags) for t, v in points]
        self._write(Metric(name, "", "", Gauge(data)), job, instance)

    def gauge_now(self, name: str, value: float, attributes: Mapping[str, str] | None = None, *,
                  job: str = "test", instance: str = "i-1", seconds_ago: float = 5) -> None:
        self.gauge(name, [(self.ago(seconds_ago), value)], attributes, job=job, instance=instance)

    def states(self, name: str, label: str, current: str, all_states: tuple[str, ...], attributes: Mapping[str, str],
               *, job: str = "test", seconds_ago: float = 5, when: datetime | None = None) -> None:
        """A state set: one series per state, 1 on the current one."""
        t = when or self.ago(seconds_ago)
        for state in all_states:
            self.gauge(name, [(t, 1.0 if state == current else 0.0)], {**attributes, label: state}, job=job)

    def counter(self, name: str, points: list[tuple[datetime, float]], attributes: Mapping[str, str] | None = None,
                *, job: str = "test", instance: str = "i-1") -> None:
        """A cumulative monotonic sum; a value below the previous one starts a new series start."""
        data, start = [], ns(points[0][0]) - 1
        previous = None
        for t, v in points:
            if previous is not None and v < previous:
                start = ns(t) - 1
            data.append(FlaggedNumberDataPoint(dict(attributes or {}), start, ns(t), float(v)))
            previous = v
        self._write(Metric(name, "", "", Sum(data, AggregationTemporality.CUMULATIVE, True)), job, instance)

    def event(self, seconds_ago: float, kind: str, name: str, namespace: str, reason: str, message: str, *,
              warning: bool = True, reporter: str = "virtualmachine-controller", count: int = 1) -> None:
        """A Kubernetes event stored as the kubernetes-events source stores it: an SDK log record
        with the involved object as k8s.* resource attributes, written by the real log writer."""
        captured = InMemoryLogRecordExporter()
        resource = Resource({"service.name": reporter, "k8s.namespace.name": namespace,
                             "k8s.object.kind": kind, "k8s.object.name": name})
        provider = LoggerProvider(resource=resource)
        provider.add_log_record_processor(SimpleLogRecordProcessor(captured))
        provider.get_logger("tests.service").emit(
            timestamp=ns(self.ago(seconds_ago)), observed_timestamp=ns(self.ago(seconds_ago)),
            severity_number=SeverityNumber.WARN if warning else SeverityNumber.INFO,
            severity_text="WARN" if warning else "INFO", body=message,
            attributes={"k8s.event.reason": reason, "k8s.event.type": "Warning" if warning else "Normal",
                        "k8s.event.count": count},
        )
        provider.shutdown()
        ClickHouseLogWriter(self.client, self.options).write(captured.get_finished_logs())

    def evaluator(self, rules_file: Path | None = None, stale_after_s: float = 45.0) -> Evaluator:
        return Evaluator(StoreReader(lambda: connect(self.dsn), self.options, where=self.dsn), load_rules(rules_file),
                         stale_after_s=stale_after_s)

    def monitor(self, rules_file: Path | None = None, stale_after_s: float = 45.0) -> HealthMonitor:
        return HealthMonitor(self.evaluator(rules_file, stale_after_s), interval_s=3600, max_age_s=60,
                             metrics=HealthMetrics.create())


def entity(snapshot, component: str, entity_id: str):
    state = snapshot.components[component]
    found = [e for e in state.entities if e.id == entity_id]
    assert found, f"{entity_id} not in {component}: {[e.id for e in state.entities]}"
    return found[0]


def reasons(snapshot, component: str, entity_id: str, rule: str) -> list:
    return [r for r in entity(snapshot, component, entity_id).reasons if r.rule == rule]
