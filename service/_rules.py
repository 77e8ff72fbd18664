"""Health rules: SQL evaluated in ClickHouse, thresholds and state mappings, from YAML.

The defaults ship in ``default_rules.yaml`` next to this module. An operator's file
(``--rules FILE``) is merged over them key by key: a file holding only
``components: {envoy: {rules: {envoy.downstream_5xx_share: {params: ..., thresholds: ...}}}}``
changes that rule alone, ``enabled: false`` switches a rule or a whole component off, and a
rule id the defaults do not know adds a rule (it then needs ``sql``).

Two rule modes:

* ``samples``: the SQL returns one row per entity and sample time (columns ``kind, name,
  labels, t, value, state, detail``); the evaluator aggregates in the database to the
  latest value, the newest time, when the current status began (``since``) and the most
  recent values.
* ``aggregate``: the SQL already aggregates a window to one row per entity (columns ``kind,
  name, labels, value, state, detail, seen``), e.g. a 5xx share from counter increases.

In the SQL, ``$gauge``, ``$sum`` and ``$histogram`` are the qualified table names, ``$at``
the evaluation time, ``$from`` the window start (``$at`` minus ``window_s``), ``$window_s``
the window, ``$fresh_from`` the staleness bound, and every ``params`` entry ``$name``.
Only numbers are substituted, so a rules file cannot smuggle text into a query.

An evaluation runs every enabled rule in ONE statement: each rule's SQL becomes a subquery
(so it must not end in ``SETTINGS`` or ``FORMAT``), every ``samples`` rule a branch of one
UNION ALL that a single GROUP BY aggregates, every ``aggregate`` rule a typed branch. If that
statement fails, the rules run one by one, so a broken rule costs only its own result. What a
rule costs is mostly what it reads: keep ``MetricName`` and the time range in its WHERE (the
sort key starts with them), and read each attribute map once per row (lookups of several keys
in one map are cheap; each extra map column is a full decode on the classic layout).
"""

from __future__ import annotations

import copy
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from omni_core.errors import ConfigError

from ._status import Status

__all__ = ["COMPONENTS", "ComponentRules", "Rule", "RuleSet", "StateRule", "Threshold", "load_rules"]

#: The components every answer lists, in this order.
COMPONENTS = ("mayastor", "envoy", "kuma", "kubevirt", "argocd", "pipeline")
_FIELD = "health_rules_file"
_PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_BUILTINS = {"gauge", "sum", "histogram", "summary", "at", "from", "window_s", "fresh_from"}


class Threshold(BaseModel):
    """``value <op> threshold`` gives ``status``; the worst matching threshold wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["unknown", "degraded", "critical"]
    op: Literal[">", ">=", "<", "<="]
    value: float

    def matches(self, observed: float) -> bool:
        return {
            ">": observed > self.value,
            ">=": observed >= self.value,
            "<": observed < self.value,
            "<=": observed <= self.value,
        }[self.op]

    def sql(self) -> str:
        return f"value {self.op} {self.value!r}"

    def text(self) -> str:
        return f"{self.op} {self.value:g}"


class StateRule(BaseModel):
    """What a state means. ``maintenance`` reads as ok with a note (a cordon is not an outage);
    ``after_s`` > 0 applies the status only once the state has lasted that long."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["ok", "unknown", "degraded", "critical", "maintenance"]
    after_s: float = Field(default=0.0, ge=0)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    component: str
    description: str = ""
    enabled: bool = True
    mode: Literal["samples", "aggregate"] = "samples"
    window_s: float = Field(default=900.0, gt=0)
    unit: Literal["", "ratio", "s", "count", "state"] = ""
    sql: str
    thresholds: tuple[Threshold, ...] = ()
    states: dict[str, StateRule] = Field(default_factory=dict)
    params: dict[str, float] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ValueError(f"rule id {value!r} may only contain letters, digits, '_', '.' and '-'")
        return value

    @field_validator("states", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """``faulted: critical`` is short for ``faulted: {status: critical}``."""
        if isinstance(value, dict):
            return {k: ({"status": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Rule":
        if not self.thresholds and not self.states:
            raise ValueError("needs thresholds or states, otherwise it can never be anything but ok")
        unknown = {name for name in _PLACEHOLDER.findall(self.sql)} - _BUILTINS - set(self.params)
        if unknown:
            raise ValueError(f"sql uses ${', $'.join(sorted(unknown))}, which is neither built in nor in params")
        return self

    def status_for_value(self, value: float) -> tuple[Status, Threshold | None]:
        matched = [t for t in self.thresholds if t.matches(value)]
        if not matched:
            return Status.OK, None
        best = max(matched, key=lambda t: Status(t.status).rank)
        return Status(best.status), best

    def level_sql(self) -> str:
        """A SQL expression naming a sample's status, so the database can find when it began."""
        if self.states:
            return "state"
        ordered = sorted(self.thresholds, key=lambda t: -Status(t.status).rank)
        branches = ", ".join(f"{t.sql()}, '{t.status}'" for t in ordered)
        return f"multiIf({branches}, 'ok')"


class ComponentRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    enabled: bool = True
    rules: tuple[Rule, ...] = ()


class RuleSet(BaseModel):
    model_config = ConfigDict(frozen=True)

    components: tuple[ComponentRules, ...]

    def component(self, name: str) -> ComponentRules | None:
        return next((c for c in self.components if c.name == name), None)

    @property
    def enabled_components(self) -> list[ComponentRules]:
        return [c for c in self.components if c.enabled]

    @property
    def enabled_rules(self) -> list[Rule]:
        """Every rule an evaluation runs: enabled, in an enabled component."""
        return [rule for component in self.enabled_components for rule in component.rules if rule.enabled]


def default_rules_text() -> str:
    return resources.files(__package__).joinpath("default_rules.yaml").read_text()


def load_rules(path: Path | str | None = None) -> RuleSet:
    """The shipped defaults, with the operator's file at ``path`` merged over them."""
    document = _parse(default_rules_text(), "the shipped default_rules.yaml")
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read rules file {str(path)!r}: {exc.strerror or exc}", field=_FIELD) from None
        document = _merge(document, _parse(text, str(path)))
    return _build(document, str(path) if path else "default_rules.yaml")


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {exc}", field=_FIELD) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("components", {}), dict):
        raise ConfigError(f"{where} must be a mapping with a 'components' mapping", field=_FIELD)
    return data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _build(document: dict[str, Any], where: str) -> RuleSet:
    components: list[ComponentRules] = []
    extra = set(document) - {"components"}
    if extra:
        raise ConfigError(f"{where}: unknown top-level keys {sorted(extra)}; only 'components' is read", field=_FIELD)
    for name, body in (document.get("components") or {}).items():
        if name not in COMPONENTS:
            raise ConfigError(f"{where}: unknown component {name!r}; known: {', '.join(COMPONENTS)}", field=_FIELD)
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: component {name!r} must be a mapping", field=_FIELD)
        rules: list[Rule] = []
        for rule_id, rule_body in (body.get("rules") or {}).items():
            if not isinstance(rule_body, dict):
                raise ConfigError(f"{where}: rule {rule_id!r} must be a mapping", field=_FIELD)
            try:
                rules.append(Rule(id=str(rule_id), component=name, **rule_body))
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'rule'}: {e['msg'].removeprefix('Value error, ')}"
                    for e in exc.errors()
                )
                raise ConfigError(f"{where}: rule {rule_id!r} ({name}): {problems}", field=_FIELD) from None
            except TypeError as exc:
                raise ConfigError(f"{where}: rule {rule_id!r} ({name}): {exc}", field=_FIELD) from None
        components.append(ComponentRules(name=name, enabled=bool(body.get("enabled", True)), rules=tuple(rules)))
    order = {name: i for i, name in enumerate(COMPONENTS)}
    return RuleSet(components=tuple(sorted(components, key=lambda c: order[c.name])))
