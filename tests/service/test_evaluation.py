"""Evaluation as a whole: the status order, stale data, no data, evaluating the past after the
data changed, operator overrides, and a broken rule that costs only itself."""

from __future__ import annotations

import pytest

from omni_core.errors import ConfigError
from service import Status, load_rules, worst

from health_store import HealthStore, entity


@pytest.fixture
def store(tmp_path):
    return HealthStore(tmp_path / "store")


def test_worst_status_wins_and_unknown_ranks_above_ok():
    assert worst([Status.OK, Status.UNKNOWN]) is Status.UNKNOWN
    assert worst([Status.UNKNOWN, Status.DEGRADED, Status.OK]) is Status.DEGRADED
    assert worst([Status.DEGRADED, Status.CRITICAL]) is Status.CRITICAL
    assert worst([]) is Status.OK


def test_no_data_at_all_is_unknown_everywhere_never_ok(store):
    snapshot = store.evaluator().evaluate()
    assert snapshot.status is Status.UNKNOWN
    for component in snapshot.components.values():
        assert component.status is Status.UNKNOWN, component.name
        assert any("no data" in r.message for r in component.reasons), component.name
    assert all(run.outcome == "no data" for run in snapshot.components["mayastor"].rules)


def test_stale_data_is_unknown_with_stale_since(store):
    store.gauge_now("envoy_server_live", 1, job="envoy", instance="envoy-a", seconds_ago=120)
    snapshot = store.evaluator(stale_after_s=45).evaluate()
    proxy = entity(snapshot, "envoy", "proxy/envoy-a")
    assert proxy.status is Status.UNKNOWN
    assert proxy.reasons[0].message.startswith(f"stale since {store.ago(120).isoformat(timespec='seconds')}")
    assert snapshot.components["envoy"].status is Status.UNKNOWN


def test_at_evaluates_the_past_after_the_data_changed(store):
    labels = {"name": "pool-a", "node": "n1"}
    for seconds, state in ((600, "faulted"), (570, "faulted"), (540, "faulted"), (30, "online"), (5, "online")):
        store.gauge("diskpool_status", [(store.ago(seconds), 1)], {**labels, "state": state})
    evaluator = store.evaluator()
    assert entity(evaluator.evaluate(), "mayastor", "pool/pool-a").status is Status.OK
    past = evaluator.evaluate(store.ago(550))
    pool = entity(past, "mayastor", "pool/pool-a")
    assert pool.status is Status.CRITICAL
    assert pool.reasons[0].since == store.ago(600)
    assert past.at == store.ago(550)


def test_operator_file_overrides_a_threshold_and_disables_a_component(store, tmp_path):
    labels = {"name": "pool-a", "node": "n1"}
    store.gauge_now("diskpool_total_size_bytes", 1000, labels)
    store.gauge_now("diskpool_used_size_bytes", 850, labels)
    assert entity(store.evaluator().evaluate(), "mayastor", "pool/pool-a").status is Status.DEGRADED
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "components:\n"
        "  mayastor:\n"
        "    rules:\n"
        "      mayastor.pool_usage:\n"
        "        thresholds: [{status: degraded, op: '>', value: 0.9}, {status: critical, op: '>', value: 0.95}]\n"
        "  kubevirt:\n"
        "    enabled: false\n"
    )
    snapshot = store.evaluator(rules).evaluate()
    assert entity(snapshot, "mayastor", "pool/pool-a").status is Status.OK
    assert "kubevirt" not in snapshot.components


def test_a_broken_rule_is_unknown_and_the_others_still_evaluate(store, tmp_path):
    store.gauge_now("envoy_server_live", 0, job="envoy", instance="envoy-a")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "components:\n  envoy:\n    rules:\n      envoy.broken:\n        thresholds: [{status: critical, op: '<', value: 1}]\n"
        "        sql: SELECT no_such_column FROM $gauge\n"
    )
    snapshot = store.evaluator(rules).evaluate()
    assert snapshot.rule_errors == 1
    broken = entity(snapshot, "envoy", "rule/envoy.broken")
    assert broken.status is Status.UNKNOWN and "failed" in broken.reasons[0].message
    assert entity(snapshot, "envoy", "proxy/envoy-a").status is Status.CRITICAL


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("components: {nginx: {}}", "unknown component 'nginx'"),
        ("components: {envoy: {rules: {envoy.server_live: {thresholds: [{status: bad, op: '<', value: 1}]}}}}", "status"),
        ("components: {envoy: {rules: {envoy.new: {thresholds: [{status: critical, op: '<', value: 1}]}}}}", "sql"),
        ("components: {envoy: {rules: {envoy.new: {sql: 'SELECT $nope', thresholds: [{status: critical, op: '<', value: 1}]}}}}", "$nope"),
        ("components: [", "not valid YAML"),
    ],
)
def test_bad_rules_files_are_config_errors_naming_the_problem(tmp_path, text, complaint):
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_rules(rules)
    assert complaint in str(raised.value)
    assert raised.value.field == "health_rules_file"


def test_every_shipped_rule_runs_on_an_empty_store(store):
    snapshot = store.evaluator().evaluate()
    runs = [run for component in snapshot.components.values() for run in component.rules]
    assert len(runs) == sum(len(c.rules) for c in load_rules().components)
    assert all(not run.outcome.startswith("failed") for run in runs), [r for r in runs if r.outcome != "no data"]
    assert snapshot.rule_errors == 0


def test_rules_read_the_v2_table_layout_too(tmp_path):
    from exporters.clickhouse import SchemaOptions

    store = HealthStore(tmp_path / "store", SchemaOptions(generation="v2"))
    labels = {"name": "pool-a", "node": "n1"}
    store.gauge_now("diskpool_total_size_bytes", 1000, labels)
    store.gauge_now("diskpool_used_size_bytes", 950, labels)
    store.gauge("diskpool_status", [(store.ago(s), 1) for s in (200, 100, 5)], {**labels, "state": "degraded"})
    times = [store.ago(s) for s in (190, 130, 70, 10)]
    for code_class, values in (("2", [1000, 1500, 100, 600]), ("5", [100, 130, 20, 50])):
        store.counter("envoy_http_downstream_rq_xx", list(zip(times, values)),
                      {"envoy_http_conn_manager_prefix": "ingress", "envoy_response_code_class": code_class},
                      job="envoy", instance="envoy-a")
    snapshot = store.evaluator().evaluate()
    assert snapshot.rule_errors == 0
    pool = entity(snapshot, "mayastor", "pool/pool-a")
    assert pool.status is Status.CRITICAL
    assert {r.rule for r in pool.reasons} == {"mayastor.pool_usage", "mayastor.pool_state"}
    assert [r.since for r in pool.reasons if r.rule == "mayastor.pool_state"] == [store.ago(200)]
    listener = entity(snapshot, "envoy", "listener/envoy-a/ingress")
    assert listener.reasons[0].observed == pytest.approx(80 / 1180)
