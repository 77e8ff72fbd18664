"""The one statement an evaluation runs: every rule's answer must be the answer the same rule
gives alone (the rule-by-rule path after a failure), and settings that only tune how the
statement runs must never cost an answer on a store that refuses them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from exporters.clickhouse import SchemaOptions, apply_schema, connect
from service import QueryFailed, StoreReader

from health_store import HealthStore


@pytest.fixture
def store(tmp_path):
    return HealthStore(tmp_path / "store")


def _fill(store: HealthStore) -> None:
    """Data for samples rules (states, thresholds, a join, a status that changed) and aggregate
    rules (counter increases with a reset, latest per replica)."""
    pool = {"name": "pool-a", "node": "n1"}
    for seconds, state in ((800, "online"), (600, "degraded"), (400, "degraded"), (200, "faulted"), (5, "faulted")):
        store.gauge("diskpool_status", [(store.ago(seconds), 1)], {**pool, "state": state})
    store.gauge("diskpool_total_size_bytes", [(store.ago(s), 1000) for s in (300, 150, 5)], pool)
    store.gauge("diskpool_used_size_bytes", [(store.ago(s), v) for s, v in ((300, 700), (150, 850), (5, 950))], pool)
    store.gauge("mayastor_node_status", [(store.ago(s), 1) for s in (60, 5)], {"node": "n1", "status": "offline"})
    store.gauge("envoy_server_live", [(store.ago(s), v) for s, v in ((90, 1), (50, 0), (5, 0))], job="envoy",
                instance="envoy-a")
    times = [store.ago(s) for s in (190, 130, 70, 10)]
    for code_class, values in (("2", [1000, 1500, 100, 600]), ("5", [100, 130, 20, 50])):
        store.counter("envoy_http_downstream_rq_xx", list(zip(times, values)),
                      {"envoy_http_conn_manager_prefix": "ingress", "envoy_response_code_class": code_class},
                      job="envoy", instance="envoy-a")
    store.gauge("up", [(store.ago(s), v) for s, v in ((40, 1), (5, 0))], job="kuma-cp", instance="cp-1")


def _answers(snapshot) -> dict:
    """Everything a client sees of each entity, recent values included."""
    found = {}
    for name, component in snapshot.components.items():
        for health in component.entities:
            if health.kind == "rule":
                continue
            found[(name, health.id)] = (health.status, health.maintenance, health.labels,
                                        [(r.rule, r.status, r.message, r.since, r.observed) for r in health.reasons],
                                        [(v.rule, v.time, v.value, v.state) for v in component.recent_values(health.id)])
    return found


def test_the_combined_statement_answers_what_each_rule_answers_alone(store, tmp_path):
    _fill(store)
    combined = store.evaluator().evaluate()
    assert combined.rule_errors == 0
    # a rule that cannot run makes the evaluation fall back to one statement per rule
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "components:\n  pipeline:\n    rules:\n      pipeline.broken:\n"
        "        thresholds: [{status: critical, op: '<', value: 1}]\n"
        "        sql: SELECT no_such_column FROM $gauge\n"
    )
    alone = store.evaluator(rules).evaluate(combined.at)
    assert alone.rule_errors == 1
    answers = _answers(combined)
    assert answers == _answers(alone)
    # the comparison covers what it claims: states with a since, thresholds, a join and aggregates
    assert {entity for _, entity in answers} >= {"pool/pool-a", "node/n1", "proxy/envoy-a",
                                                 "listener/envoy-a/ingress", "control-plane/kuma-cp/cp-1"}
    pool_state = [r for r in answers[("mayastor", "pool/pool-a")][3] if r[0] == "mayastor.pool_state"]
    assert pool_state and pool_state[0][3] == store.ago(200)


def test_the_combined_statement_answers_the_same_on_the_v2_layout(store):
    _fill(store)
    v2 = HealthStore(Path(store.dsn.removeprefix("chdb://")),
                     SchemaOptions(database="otel_v2", generation="v2"))
    v2.now = store.now
    _fill(v2)
    expected = _answers(store.evaluator().evaluate(store.now))
    assert _answers(v2.evaluator().evaluate(store.now)) == expected


def test_a_setting_the_store_refuses_is_dropped_and_the_query_still_answers(tmp_path, caplog):
    reader = StoreReader(lambda: connect(f"chdb://{tmp_path / 'store'}"), SchemaOptions(), where="test store")
    with caplog.at_level(logging.WARNING, logger="service._store"):
        columns, rows = reader.query("SELECT 41 + 1 AS answer", {"omni_setting_no_server_knows": 1})
    assert (columns, rows) == (["answer"], [(42,)])
    assert "omni_setting_no_server_knows" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="service._store"):
        assert reader.query("SELECT 2 AS two", {"omni_setting_no_server_knows": 1}) == (["two"], [(2,)])
    assert caplog.text == ""  # not sent again, so nothing to refuse


def test_a_known_setting_is_applied(tmp_path):
    reader = StoreReader(lambda: connect(f"chdb://{tmp_path / 'store'}"), SchemaOptions(), where="test store")
    _, rows = reader.query("SELECT getSetting('optimize_functions_to_subcolumns') AS s",
                           {"optimize_functions_to_subcolumns": 0})
    assert rows == [(False,)] or rows == [(0,)]


class _CountingClient:
    """A real chDB client that counts the statements sent through it."""

    def __init__(self, client) -> None:
        self._client = client
        self.queries: list[str] = []

    def query(self, sql, settings=None):
        self.queries.append(sql)
        return self._client.query(sql, settings=settings)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_broken_statement_is_sent_once_not_retried_without_its_settings(tmp_path):
    client = connect(f"chdb://{tmp_path / 'store'}")
    apply_schema(client, SchemaOptions())  # the tables exist: the failure is the statement's own
    counting = _CountingClient(client)
    reader = StoreReader(lambda: counting, SchemaOptions(), where="test store")
    with pytest.raises(QueryFailed, match="no_such_column"):
        reader.query("SELECT no_such_column FROM system.one", {"optimize_functions_to_subcolumns": 0})
    assert [q for q in counting.queries if "no_such_column" in q] == ["SELECT no_such_column FROM system.one"]
    # the setting was not blamed: the next statement still gets it
    _, rows = reader.query("SELECT getSetting('optimize_functions_to_subcolumns') AS s", {"optimize_functions_to_subcolumns": 0})
    assert rows in ([(False,)], [(0,)])


def test_a_setting_the_store_forbids_changing_is_dropped_too(tmp_path):
    reader = StoreReader(lambda: connect(f"chdb://{tmp_path / 'store'}"), SchemaOptions(), where="test store")
    # the engine refuses to turn the analyzer off (a settings constraint, not an unknown name)
    assert reader.query("SELECT 3 AS three", {"enable_analyzer": 0}) == (["three"], [(3,)])
