"""Every SQL block in docs/queries.md runs on chDB against the demo's data and finds rows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dashboards import ALL, context_for, data_range, expand_query

DOC = Path(__file__).resolve().parents[2] / "docs" / "queries.md"
BLOCKS = re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.S)
_TABLE = re.compile(r"(?<![.\w`])(otel_metrics_\w+|otel_logs)\b")


def test_the_cookbook_covers_what_operators_ask_for() -> None:
    text = DOC.read_text()
    for topic in ("Latest value per series", "across resets", "Increase over a window", "Histogram quantiles",
                  "Summary quantiles", "Top-k", "variable queries", "otel_logs", "warning events"):
        assert topic in text, topic
    assert len(BLOCKS) >= 10


@pytest.fixture(scope="module")
def results(demo_store: Any) -> list[tuple[str, list[tuple[Any, ...]]]]:
    client = demo_store.client()
    start, end = data_range(client, demo_store.database)
    context = context_for({"templating": {"list": [{"type": "query", "name": "pool"}]}}, start, end)
    assert context.variables == {"pool": [ALL]}
    out = []
    for sql in BLOCKS:
        expanded = _TABLE.sub(lambda m: f"{demo_store.database}.{m.group(1)}", expand_query(sql, context))
        out.append((sql, client.query(expanded).result_rows))
    return out


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_cookbook_query_runs_and_returns_rows(results: list[tuple[str, list[tuple[Any, ...]]]], index: int) -> None:
    sql, rows = results[index]
    assert rows, f"no rows for:\n{sql}"


def test_cookbook_rate_is_positive_and_the_p99_lies_within_the_bounds(results: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
    rate = next(rows for sql, rows in results if "requests_per_second" in sql)
    assert all(r[2] >= 0 for r in rate) and any(r[2] > 0 for r in rate)
    p99 = next(rows for sql, rows in results if "p99_ms" in sql)
    assert all(0 < r[3] <= 3_600_000 for r in p99 if r[3] == r[3])


def test_cookbook_warning_events_name_the_replayed_objects(results: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
    rows = next(rows for sql, rows in results if "k8s.event.reason" in sql and "GROUP BY reason" in sql)
    assert {(r[0], r[1]) for r in rows} == {
        ("FailedCreate", "vms/virtualmachineinstance/db-01"),
        ("Degraded", "mayastor/diskpool/pool-on-node-2"),
        ("OperationCompleted", "argocd/application/kubevirt"),
    }
    lines = next(rows for sql, rows in results if "Body AS body" in sql)
    assert {r[2] for r in lines} == {"INFO", "WARN"} and len(lines) == 4
