"""Every panel's SQL, expanded as the ClickHouse plugin expands it, runs on data the demo's sources wrote.

Panels are read from the generated JSON (what Grafana receives), not from the Python that
built it. Each query runs twice: with every variable on "All" and with one real value
picked per variable (from the variable's own query), and must return the columns its
panel type draws.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from dashboards import (
    DASHBOARDS,
    ClickHouseTarget,
    context_for,
    dashboard_json,
    data_range,
    expand_query,
    panel_queries,
    run_panel,
)

DOCUMENTS = {uid: dashboard_json(uid) for uid in DASHBOARDS}
QUERIES = [q for document in DOCUMENTS.values() for q in panel_queries(document)]
_TABLE = re.compile(r"(?<![.\w`])(otel_metrics_\w+|otel_logs)\b")
_NUMERIC = re.compile(r"^(Nullable\()?(U?Int\d+|Float\d+|Decimal.*)\)?$")


def _columns(client: Any, sql: str) -> list[tuple[str, str]]:
    """Names and types of a query's result, also when it has no rows."""
    return [(row[0], row[1]) for row in client.query(f"DESCRIBE ({sql})").result_rows]


def _variable_values(client: Any, database: str, document: dict[str, Any], context: Any) -> dict[str, list[str]]:
    values = {}
    for variable in document["templating"]["list"]:
        if variable["type"] != "query":
            continue
        sql = _TABLE.sub(lambda m: f"{database}.{m.group(1)}", expand_query(variable["query"]["rawSql"], context))
        values[variable["name"]] = [row[0] for row in client.query(sql).result_rows]
    return values


@pytest.fixture(scope="module")
def outcomes(demo_store: Any) -> dict[str, Any]:
    """All panel results on "All" and on one picked value per variable, computed once."""
    client = demo_store.client()
    start, end = data_range(client, demo_store.database)
    results: dict[str, Any] = {"all": {}, "picked": {}, "columns": {}, "variables": {}}
    for uid, document in DOCUMENTS.items():
        everything = context_for(document, start, end)
        values = _variable_values(client, demo_store.database, document, everything)
        results["variables"][uid] = values
        picks = {name: [options[0]] for name, options in values.items() if options}
        picked = context_for(document, start, end, selections=picks)
        for query in panel_queries(document):
            key = (uid, query.title)
            result = run_panel(client, demo_store.database, query, everything)
            results["all"][key] = result
            results["columns"][key] = _columns(client, result.sql)
            results["picked"][key] = run_panel(client, demo_store.database, query, picked)
    results["cluster"] = demo_store.cluster
    return results


@pytest.mark.parametrize("query", QUERIES, ids=[f"{q.dashboard}:{q.title}" for q in QUERIES])
def test_panel_query_returns_the_columns_its_panel_draws(outcomes: dict[str, Any], query: Any) -> None:
    columns = outcomes["columns"][(query.dashboard, query.title)]
    names = [name for name, _ in columns]
    types = dict(columns)
    if query.format == 0:  # time series: time, legend, numeric value (long format the plugin widens)
        assert names[:3] == ["time", "legend", "value"], names
        assert types["time"].startswith("DateTime"), types
        assert "String" in types["legend"], types
        assert _NUMERIC.match(types["value"]), types
    elif query.format == 2:  # logs: the names the plugin's logs query builder gives its columns
        assert query.panel_type == "logs"
        assert names[:4] == ["timestamp", "body", "level", "labels"], names
        assert types["timestamp"].startswith("DateTime64"), types
        assert types["body"] == "String" and "String" in types["level"], types
        assert types["labels"].startswith("Map("), types
    else:
        assert len(names) == len(set(names)), names
        numeric = [n for n, t in columns if _NUMERIC.match(t)]
        if query.panel_type in ("stat", "gauge", "bargauge"):
            assert numeric, f"{query.panel_type} needs a numeric field: {columns}"
        else:
            assert query.panel_type == "table" and names, columns


def test_at_most_a_quarter_of_panels_are_empty_on_demo_data(outcomes: dict[str, Any]) -> None:
    empty = sorted(f"{uid}: {title}" for (uid, title), r in outcomes["all"].items() if not r.rows)
    assert len(empty) <= len(outcomes["all"]) // 4, empty


def test_time_series_panels_have_time_ordered_rows_with_numbers(outcomes: dict[str, Any]) -> None:
    for (uid, title), result in outcomes["all"].items():
        if result.query.format != 0 or not result.rows:
            continue
        times = [row[0] for row in result.rows]
        assert times == sorted(times), (uid, title)
        assert all(isinstance(row[2], (int, float)) and math.isfinite(row[2]) for row in result.rows), (uid, title)


def test_every_variable_query_reads_through_the_sort_key_and_finds_values(outcomes: dict[str, Any]) -> None:
    for uid, document in DOCUMENTS.items():
        for variable in document["templating"]["list"]:
            if variable["type"] != "query":
                continue
            sql = variable["query"]["rawSql"]
            if "otel_logs" in sql:  # the logs table's sort key is (ServiceName, TimestampTime)
                assert "$__timeFilter(TimestampTime)" in sql, (uid, variable["name"])
            else:
                assert "$__timeFilter(TimeUnix)" in sql and "MetricName" in sql, (uid, variable["name"])
            assert variable["refresh"] == 2 and variable["includeAll"] and variable["multi"]
            assert outcomes["variables"][uid][variable["name"]], f"{uid}: variable {variable['name']} has no values"
    assert outcomes["variables"]["omni-overview"]["cluster"] == [outcomes["cluster"]]


def test_picking_a_variable_value_narrows_the_panels_to_it(outcomes: dict[str, Any]) -> None:
    pool = outcomes["variables"]["omni-mayastor"]["pool"][0]
    everything = outcomes["all"][("omni-mayastor", "Pool usage")].rows
    picked = outcomes["picked"][("omni-mayastor", "Pool usage")].rows
    assert len(everything) > 1
    assert [row[0] for row in picked] == [pool]
    vm = outcomes["variables"]["omni-kubevirt"]["vm"][0]
    legends = {row[1] for row in outcomes["picked"][("omni-kubevirt", "VM CPU usage")].rows}
    assert legends and all(legend.endswith("/" + vm) for legend in legends), legends


def test_picked_values_never_break_a_query(outcomes: dict[str, Any]) -> None:
    for key, result in outcomes["picked"].items():
        leftover = re.search(r"\$(\{|\w)", result.sql)  # a variable or macro left unexpanded
        assert leftover is None, (key, result.sql[max(leftover.start() - 40, 0):leftover.end() + 40])


def test_demo_stories_show_up_in_their_panels(outcomes: dict[str, Any]) -> None:
    """The transitions the demo plays reach the panels that should show them."""
    share = outcomes["all"][("omni-envoy-contour", "Upstream 5xx share")].rows
    assert max(r[2] for r in share if r[1] == "shop_checkout-api_8443") > 10  # the 5xx burst
    statuses = {r[2] for r in outcomes["all"][("omni-kuma", "Dataplane status")].rows if r[1].endswith("backend-1")}
    assert 3 in statuses  # backend-1 went offline
    rebuild = outcomes["all"][("omni-mayastor", "Rebuild progress")].rows
    assert rebuild and 0 <= min(r[2] for r in rebuild) <= max(r[2] for r in rebuild) <= 100
    migrations = outcomes["all"][("omni-kubevirt", "Live migrations: memory remaining and processed")].rows
    assert any("web-02" in r[1] for r in migrations)
    unhealthy = outcomes["all"][("omni-overview", "Unhealthy objects")].rows
    assert ("Kuma dataplane", "default/backend-1", "offline") in unhealthy
    status = dict(outcomes["all"][("omni-overview", "Component status")].rows)
    assert status["kuma-api"] == 1 and status["envoy"] == 0  # degraded by its offline proxy; envoy all up
    assert set(status) >= {"mayastor", "envoy", "kuma-api", "kuma-dp", "kuma-cp", "kubevirt", "cdi", "contour", "omni"}
    rows_written = outcomes["all"][("omni-pipeline", "Rows written per second")].rows
    assert rows_written and max(r[2] for r in rows_written) > 0


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def test_rate_panels_match_the_rates_the_replay_targets_serve(outcomes: dict[str, Any]) -> None:
    """The replays' counters grow at known rates; the panels must show them (not per-metric mixes)."""
    per_time: dict[Any, float] = {}
    for time, _legend, value in outcomes["all"][("omni-envoy-contour", "Downstream requests by response class")].rows:
        per_time[time] = per_time.get(time, 0.0) + value
    # two Envoy pods, each serving 40 + 12 + 25 requests per second
    assert _median(list(per_time.values())) == pytest.approx(2 * 77, rel=0.1)
    throughput = outcomes["all"][("omni-mayastor", "Pool throughput")].rows
    reads = [v for _t, legend, v in throughput if legend == "pool-on-node-1 read"]
    assert _median(reads) == pytest.approx(850 * 0.6 * 4096, rel=0.1)  # read IOPS x 4 KiB
    cpu = outcomes["all"][("omni-kubevirt", "VM CPU usage")].rows
    assert _median([v for _t, legend, v in cpu if legend == "vms/web-01"]) == pytest.approx(0.25 * 2, rel=0.1)


def test_targets_are_plugin_v4_sql_queries() -> None:
    for document in DOCUMENTS.values():
        for panel in document["panels"]:
            for target in panel.get("targets", []):
                assert set(target) == set(ClickHouseTarget("x").to_json_data())
                assert target["datasource"] == {"type": "grafana-clickhouse-datasource", "uid": "${datasource}"}
                assert target["editorType"] == "sql" and target["format"] in (0, 1, 2)
                assert (target["format"] == 2) == (panel["type"] == "logs"), panel["title"]
                if "otel_logs" in target["rawSql"]:
                    assert target["rawSql"].count("$__timeFilter(TimestampTime)") == target["rawSql"].count("FROM otel_logs")
                else:
                    assert "Flags = 0" in target["rawSql"] or "count()" in target["rawSql"], panel["title"]


def _rows(outcomes: dict[str, Any], uid: str, title: str, which: str = "all") -> list[tuple[Any, ...]]:
    return outcomes[which][(uid, title)].rows


def test_argocd_panels_show_the_drifting_application(outcomes: dict[str, Any]) -> None:
    """The demo's kubevirt application goes OutOfSync, its sync fails, it ends Degraded; the rest stay healthy."""
    health = dict(_rows(outcomes, "omni-argocd", "Applications by health"))
    assert health == {"Healthy": 4, "Degraded": 1}
    assert dict(_rows(outcomes, "omni-argocd", "Applications by sync status")) == {"Synced": 4, "OutOfSync": 1}
    apps = {r[0]: r for r in _rows(outcomes, "omni-argocd", "Applications")}
    assert set(apps) == {"contour", "kubevirt", "kuma", "mayastor", "shop-checkout"}
    assert apps["kubevirt"][2:4] == ("Degraded", "OutOfSync")
    assert _rows(outcomes, "omni-argocd", "Applications")[0][0] == "kubevirt"  # unhealthy first
    assert apps["shop-checkout"][4] == "https://10.20.0.1:6443 shop"
    # the timelines pass through Healthy (1) to Degraded (4), Synced (1) to OutOfSync (2)
    kubevirt_health = [r[2] for r in _rows(outcomes, "omni-argocd", "Application health") if r[1] == "argocd/kubevirt"]
    assert kubevirt_health[0] == 1 and kubevirt_health[-1] == 4
    kubevirt_sync = [r[2] for r in _rows(outcomes, "omni-argocd", "Application sync status") if r[1] == "argocd/kubevirt"]
    assert kubevirt_sync[0] == 1 and kubevirt_sync[-1] == 2
    syncs = {(r[0], r[1]): r[2] for r in _rows(outcomes, "omni-argocd", "Syncs in range by application and phase")}
    assert syncs[("argocd/kubevirt", "Failed")] == 1 and syncs[("argocd/kubevirt", "Succeeded")] == 0
    failed = _rows(outcomes, "omni-argocd", "Failed syncs per hour by application")
    assert max(r[2] for r in failed if r[1] == "argocd/kubevirt") > 0
    assert max(r[2] for r in failed if r[1] == "argocd/shop-checkout") == 0


def test_argocd_reconciliation_quantiles_stay_ordered_within_the_served_buckets(outcomes: dict[str, Any]) -> None:
    """The replay adds about 2 reconciliations a second on the in-cluster destination, 27% under
    0.25 s, 53% under 0.5 s and 79% under 1 s (the shares of Argo CD's metric test); the highest
    finite bound is 16 s. A one-second bucket holds only a couple of observations, so each
    quantile is checked against the buckets, not to a decimal."""
    rows = _rows(outcomes, "omni-argocd", "Reconciliation time p50 / p90 / p99")
    per_time: dict[Any, dict[str, float]] = {}
    for time, legend, value in rows:
        server, quantile = legend.rsplit(" ", 1)
        if server == "https://kubernetes.default.svc":
            per_time.setdefault(time, {})[quantile] = value
    assert len(per_time) >= 5
    for values in per_time.values():
        assert 0 < values["p50"] <= values["p90"] <= values["p99"] <= 16, values
    assert 0.25 <= _median([v["p50"] for v in per_time.values()]) <= 1


def test_argocd_clusters_table_joins_info_and_connection(outcomes: dict[str, Any]) -> None:
    clusters = {r[0]: r for r in _rows(outcomes, "omni-argocd", "Clusters")}
    assert clusters["https://10.20.0.1:6443"][1:4] == ("shop-eu1", "1.30", 1.0)
    assert clusters["https://kubernetes.default.svc"][1:3] == ("in-cluster", "1.31")
    assert clusters["https://kubernetes.default.svc"][6] == 5873


def test_picking_an_argocd_project_and_application_narrows_to_it(demo_store: Any) -> None:
    client = demo_store.client()
    start, end = data_range(client, demo_store.database)
    document = DOCUMENTS["omni-argocd"]
    context = context_for(document, start, end, selections={"project": ["platform"], "application": ["kubevirt"]})
    results = {q.title: run_panel(client, demo_store.database, q, context) for q in panel_queries(document)}
    assert [r[0] for r in results["Applications"].rows] == ["kubevirt"]
    assert {r[1] for r in results["Application health"].rows} == {"argocd/kubevirt"}
    assert {r[0] for r in results["Syncs in range by application and phase"].rows} == {"argocd/kubevirt"}
    # the per-cluster panels are not narrowed by project or application
    assert len(results["Clusters"].rows) == 2
    apps = context_for(document, start, end, selections={"project": ["apps"]})
    assert [r[0] for r in run_panel(client, demo_store.database, next(
        q for q in panel_queries(document) if q.title == "Applications"), apps).rows] == ["shop-checkout"]


def test_logs_dashboard_shows_the_replayed_events(outcomes: dict[str, Any]) -> None:
    warnings = {(r[0], r[1]): r for r in _rows(outcomes, "omni-logs", "Latest warning events")}
    assert set(warnings) == {
        ("FailedCreate", "vms/virtualmachineinstance/db-01"),
        ("Degraded", "mayastor/diskpool/pool-on-node-2"),
        ("OperationCompleted", "argocd/application/kubevirt"),
    }
    assert "exceeded quota" in warnings[("FailedCreate", "vms/virtualmachineinstance/db-01")][2]
    assert all(r[3] == 1 for r in warnings.values())  # each happened once in the run
    lines = _rows(outcomes, "omni-logs", "Logs")
    assert len(lines) == 4 and [r[0] for r in lines] == sorted((r[0] for r in lines), reverse=True)
    scheduled = next(r for r in lines if r[3]["k8s.event.reason"] == "Scheduled")
    assert scheduled[2] == "INFO" and scheduled[3]["service.name"] == "default-scheduler"
    assert scheduled[3]["k8s.namespace.name"] == "vms" and scheduled[3]["k8s.object.kind"] == "Pod"
    per_severity: dict[str, int] = {}
    for _time, legend, value in _rows(outcomes, "omni-logs", "Log records per severity"):
        per_severity[legend] = per_severity.get(legend, 0) + value
    assert per_severity == {"INFO": 1, "WARN": 3} == dict(_rows(outcomes, "omni-logs", "Records by severity"))


def test_logs_variables_filter_the_log_lines(outcomes: dict[str, Any]) -> None:
    values = outcomes["variables"]["omni-logs"]
    assert values["namespace"] == ["argocd", "mayastor", "vms"]
    assert values["severity"] == ["INFO", "WARN"]
    # the first of each: namespace argocd, service argocd-application-controller, severity INFO -> nothing left
    picked = _rows(outcomes, "omni-logs", "Logs", "picked")
    assert picked == []
    sql = outcomes["picked"][("omni-logs", "Logs")].sql
    assert "k8s.namespace.name'] IN ('argocd')" in sql and "SeverityText IN ('INFO')" in sql


def test_store_panels_read_the_store_state(outcomes: dict[str, Any], demo_store: Any) -> None:
    client = demo_store.client()
    # Free disk moves between readings (anything on the machine writes), so the panel's value
    # must be the free share of one of the stored readings, not of whichever came last.
    readings = client.query(
        f"SELECT TimeUnix, sumIf(Value, MetricName = 'omni_store_disk_free_bytes'), "
        f"sumIf(Value, MetricName = 'omni_store_disk_total_bytes') FROM {demo_store.database}.otel_metrics_gauge "
        "WHERE ServiceName = 'clickhouse' AND MetricName LIKE 'omni_store_disk_%' GROUP BY TimeUnix"
    ).result_rows
    shares = [100 * free / total for _time, free, total in readings if total]
    disks = dict(_rows(outcomes, "omni-pipeline", "Store free disk"))
    assert list(disks) == ["default"]
    assert 0 < disks["default"] < 100
    assert any(disks["default"] == pytest.approx(share) for share in shares), (disks, shares[-3:])
    tables = {r[0]: r for r in _rows(outcomes, "omni-pipeline", "Store tables: rows and bytes")}
    assert "otel.otel_metrics_gauge" in tables and tables["otel.otel_metrics_gauge"][1] > 100
    parts = _rows(outcomes, "omni-pipeline", "Store active parts per partition (max)")
    assert parts and all(1 <= r[2] < 300 for r in parts)
    errors = _rows(outcomes, "omni-pipeline", "Store errors and failed inserts per second")
    assert {r[1] for r in errors} >= {"failed inserts"}


def test_active_parts_panel_draws_the_insert_refusal_threshold() -> None:
    panel = next(p for p in DOCUMENTS["omni-pipeline"]["panels"] if p["title"] == "Store active parts per partition (max)")
    defaults = panel["fieldConfig"]["defaults"]
    assert defaults["custom"]["thresholdsStyle"]["mode"] != "off"
    assert [s["value"] for s in defaults["thresholds"]["steps"]] == [None, 300]
