"""The latest-snapshot /health body is encoded once per snapshot with only age_s written per
request: the bytes must still be exactly the model's JSON, in the model's field order, and
change when the snapshot (or its staleness) does."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings, strategies as st
from starlette.responses import Response

from service import Status, create_app
from service._encoded import EncodedAnswer
from service._model import ComponentHealth, HealthAnswer, Reason

from api_server import served
from health_store import HealthStore

WHEN = datetime(2026, 11, 29, 3, 12, tzinfo=timezone.utc)


def _answer(summary: str, message: str, *, components: int = 1) -> HealthAnswer:
    reason = Reason(rule="envoy.server_live", status=Status.CRITICAL, message=message, observed=0.0,
                    threshold="< 1", window_s=45.0, since=WHEN, entity="envoy/proxy/e-1")
    return HealthAnswer(
        status=Status.CRITICAL, summary=summary, evaluated_at=WHEN, at=WHEN, age_s=0.0,
        components=[ComponentHealth(name=f"c{i}", status=Status.CRITICAL, summary=summary,
                                    counts={Status.CRITICAL: 1, Status.OK: 3}, entities=[], reasons=[reason])
                    for i in range(components)],
        reasons=[reason],
    )


# summaries and messages that would break a splice done by searching the text: the field name
# itself, quotes, backslashes, braces and characters outside ASCII
AWKWARD = ['"age_s":0.0,', 'x","age_s":1}', "\\\"", "{}", "größe ✓ 🚦", ""]


@pytest.mark.parametrize("text", AWKWARD)
@pytest.mark.parametrize("components", [0, 2])
def test_encoded_body_is_the_models_json_with_the_given_age(text, components):
    answer = _answer(text, text, components=components)
    body = EncodedAnswer.of(answer, 503).body(12.34567)
    expected = answer.model_copy(update={"age_s": 12.346}).model_dump(mode="json")
    parsed = json.loads(body)
    assert parsed == expected
    assert list(parsed) == list(HealthAnswer.model_fields)  # the model's field order, age_s in its place


@settings(max_examples=200, deadline=None)
@given(age=st.floats(min_value=0.0, max_value=1e12, allow_nan=False), summary=st.text())
def test_any_age_and_summary_round_trip_through_the_model(age, summary):
    answer = _answer(summary, summary)
    body = EncodedAnswer.of(answer, 200).body(age)
    assert HealthAnswer.model_validate_json(body) == answer.model_copy(update={"age_s": round(age, 3)})


@pytest.fixture
def store(tmp_path):
    return HealthStore(tmp_path / "store")


def _all_ok(store: HealthStore) -> None:
    """One ok entity in every component, so the overall status is ok."""
    store.gauge_now("diskpool_status", 1, {"name": "pool-a", "node": "n1", "state": "online"}, job="mayastor")
    store.gauge_now("envoy_server_live", 1, job="envoy", instance="envoy-a")
    store.states("kuma_dataplane_status", "status", "online", ("online", "partially_degraded", "offline"),
                 {"mesh": "default", "name": "web-1", "service": "web", "zone": "z1"}, job="kuma-api")
    store.gauge_now("kubevirt_vmi_info", 1, {"name": "db-01", "namespace": "vms", "phase": "running"}, job="kubevirt")
    store.gauge_now("up", 1, job="envoy", instance="envoy-a")
    store.gauge_now("argocd_app_info", 1, {"name": "kuma", "namespace": "argocd", "project": "platform",
                                           "health_status": "Healthy", "sync_status": "Synced"}, job="argocd")


def _expected_from(snapshot, age_s: float) -> dict:
    """What the model gives for the snapshot's rollup, built here from its public parts."""
    return HealthAnswer(
        status=snapshot.status, summary=snapshot.summary, evaluated_at=snapshot.evaluated_at, at=snapshot.at,
        age_s=age_s, components=[c.rollup() for c in snapshot.components.values()], reasons=snapshot.reasons,
    ).model_dump(mode="json")


def test_served_health_bytes_are_the_models_json_plus_age_s(store):
    store.gauge_now("envoy_server_live", 1, job="envoy", instance="envoy-a")
    store.gauge_now("envoy_server_live", 0, job="envoy", instance="envoy-b")
    monitor = store.monitor()
    with served(create_app(monitor, background=False)) as url:
        first = httpx.get(f"{url}/health")
        again = httpx.get(f"{url}/health")
    snapshot = monitor.latest()
    assert first.status_code == 503 and first.headers["content-type"] == "application/json"
    assert int(first.headers["content-length"]) == len(first.content)
    for answer in (first, again):
        body = answer.json()
        assert body["status"] == "critical"
        assert 0.0 <= body["age_s"] < 3600
        assert body == _expected_from(snapshot, body["age_s"])
        assert list(body) == list(HealthAnswer.model_fields)


def test_a_new_snapshot_changes_the_served_body(store):
    _all_ok(store)
    monitor = store.monitor()
    with served(create_app(monitor, background=False)) as url:
        before = httpx.get(f"{url}/health")
        store.gauge_now("envoy_server_live", 0, job="envoy", instance="envoy-b", seconds_ago=1)
        monitor.evaluate()  # what the background thread does every interval
        after = httpx.get(f"{url}/health")
    assert before.status_code == 200 and before.json()["status"] == "ok"
    assert after.status_code == 503 and after.json()["status"] == "critical"
    assert after.json()["evaluated_at"] > before.json()["evaluated_at"]
    assert after.json() == _expected_from(monitor.latest(), after.json()["age_s"])


def test_a_snapshot_turning_stale_changes_the_body_and_stays_valid(store):
    _all_ok(store)
    monitor = store.monitor()
    with served(create_app(monitor, background=False)) as url:
        fresh = httpx.get(f"{url}/health").json()
        monitor.max_age_s = 0.0  # the same snapshot is now older than its bound
        stale = httpx.get(f"{url}/health")
        past = httpx.get(f"{url}/health", params={"at": str(store.ago(1).timestamp())})
    assert fresh["status"] == "ok" and fresh["reasons"] == []
    body = stale.json()
    assert stale.status_code == 200 and body["status"] == "unknown"
    assert body["reasons"][0]["rule"] == "service.snapshot_age"
    assert body["evaluated_at"] == fresh["evaluated_at"]
    assert body == HealthAnswer.model_validate_json(stale.content).model_dump(mode="json")
    # ?at= answers the evaluation it asked for, never the stale-snapshot reason
    assert past.json()["status"] == "ok"
    assert all(r["rule"] != "service.snapshot_age" for r in past.json()["reasons"])


@pytest.mark.parametrize("components", [1, 400])  # a small body, and one far above the size sent in two parts
def test_served_encoded_answer_arrives_whole_with_its_length(components):
    answer = _answer("größe ✓ " * 20, 'a "quoted" message ' * 10, components=components)
    app = FastAPI()

    @app.get("/answer")
    async def serve_answer() -> Response:
        return EncodedAnswer.of(answer, 503).response(7.25)

    with served(app) as url:
        got = httpx.get(f"{url}/answer")
    assert got.status_code == 503 and got.headers["content-type"] == "application/json"
    assert int(got.headers["content-length"]) == len(got.content)
    assert got.json() == answer.model_copy(update={"age_s": 7.25}).model_dump(mode="json")
    assert (len(got.content) > 100_000) == (components == 400)
