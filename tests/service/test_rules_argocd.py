"""Argo CD rules at their thresholds: application health, sync status, failed syncs."""

from __future__ import annotations

import pytest

from service import Status

from health_store import HealthStore, entity, reasons

APP = "application/argocd/kubevirt"


@pytest.fixture
def store(tmp_path):
    return HealthStore(tmp_path / "store")


def app_info(store: HealthStore, seconds_ago: float, health: str, sync: str, name: str = "kubevirt") -> None:
    store.gauge("argocd_app_info", [(store.ago(seconds_ago), 1)],
                {"name": name, "namespace": "argocd", "project": "platform", "health_status": health,
                 "sync_status": sync, "dest_server": "https://kubernetes.default.svc", "dest_namespace": "kubevirt",
                 "operation": "", "repo": "https://github.com/example/platform-gitops", "autosync_enabled": "true"},
                job="argocd", instance="argocd-application-controller-0")


def history(store: HealthStore, states: list[tuple[float, str, str]]) -> None:
    for seconds_ago, health, sync in states:
        app_info(store, seconds_ago, health, sync)


def syncs(store: HealthStore, phase: str, points: list[tuple[float, float]], name: str = "kubevirt") -> None:
    store.counter("argocd_app_sync_total", [(store.ago(s), v) for s, v in points],
                  {"name": name, "namespace": "argocd", "project": "platform", "phase": phase, "dry_run": "false",
                   "dest_server": "https://kubernetes.default.svc"},
                  job="argocd", instance="argocd-application-controller-0")


@pytest.mark.parametrize("health", ["Degraded", "Missing"])
def test_a_degraded_or_missing_application_is_critical_with_project_and_destination(store, health):
    history(store, [(60, "Healthy", "Synced"), (30, health, "Synced"), (5, health, "Synced")])
    app_info(store, 5, "Healthy", "Synced", name="contour")
    snapshot = store.evaluator().evaluate()
    app = entity(snapshot, "argocd", APP)
    assert app.status is Status.CRITICAL
    assert app.labels == {"project": "platform", "dest_server": "https://kubernetes.default.svc",
                          "dest_namespace": "kubevirt"}
    found = reasons(snapshot, "argocd", APP, "argocd.app_health")
    assert found[0].observed == health and found[0].since == store.ago(30)
    assert entity(snapshot, "argocd", "application/argocd/contour").status is Status.OK
    assert snapshot.components["argocd"].status is Status.CRITICAL


@pytest.mark.parametrize(("lasted_s", "expected"), [(599, Status.OK), (600, Status.DEGRADED)])
def test_progressing_is_degraded_once_it_lasted_ten_minutes(store, lasted_s, expected):
    history(store, [(lasted_s + 30, "Healthy", "Synced"), *((s, "Progressing", "Synced") for s in range(lasted_s, 4, -15)),
                    (5, "Progressing", "Synced")])
    app = entity(store.evaluator().evaluate(store.now), "argocd", APP)
    assert app.status is expected


@pytest.mark.parametrize(("lasted_s", "expected"), [(1799, Status.OK), (1800, Status.DEGRADED)])
def test_out_of_sync_is_degraded_once_it_lasted_thirty_minutes(store, lasted_s, expected):
    history(store, [(lasted_s + 60, "Healthy", "Synced"), *((s, "Healthy", "OutOfSync") for s in range(lasted_s, 4, -60)),
                    (5, "Healthy", "OutOfSync")])
    snapshot = store.evaluator().evaluate(store.now)
    app = entity(snapshot, "argocd", APP)
    assert app.status is expected
    if expected is Status.DEGRADED:
        assert reasons(snapshot, "argocd", APP, "argocd.app_sync")[0].since == store.ago(lasted_s)


def test_a_failed_sync_within_the_window_is_degraded_and_a_reset_is_not_a_failure(store):
    history(store, [(5, "Healthy", "OutOfSync")])
    # the controller restarted (counter reset 4 -> 0) and then one sync failed: increase 1, not -4
    syncs(store, "Failed", [(600, 3), (300, 4), (200, 0), (20, 1)])
    syncs(store, "Succeeded", [(600, 9), (20, 9)])
    snapshot = store.evaluator().evaluate()
    app = entity(snapshot, "argocd", APP)
    assert app.status is Status.DEGRADED
    found = reasons(snapshot, "argocd", APP, "argocd.sync_failed")
    assert found[0].observed == 2  # 3 -> 4 and 0 -> 1 (the reset itself counts nothing)
    assert "Failed" in found[0].message


def test_an_error_phase_counts_as_a_failed_sync(store):
    history(store, [(5, "Healthy", "Synced")])
    syncs(store, "Error", [(300, 0), (20, 1)])
    assert entity(store.evaluator().evaluate(), "argocd", APP).status is Status.DEGRADED


def test_a_success_after_the_failure_clears_it_and_no_increase_is_ok(store):
    history(store, [(5, "Healthy", "Synced")])
    syncs(store, "Failed", [(600, 3), (300, 4), (20, 4)])
    syncs(store, "Succeeded", [(600, 9), (300, 9), (100, 10), (20, 10)])
    syncs(store, "Error", [(600, 1), (20, 1)], name="contour")
    app_info(store, 5, "Healthy", "Synced", name="contour")
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "argocd", APP).status is Status.OK
    assert entity(snapshot, "argocd", "application/argocd/contour").status is Status.OK


def test_a_failure_before_the_window_is_forgotten(store):
    history(store, [(5, "Healthy", "Synced")])
    syncs(store, "Failed", [(1200, 3), (1000, 4), (20, 4)])  # window 900 s: the 3 -> 4 step lies before it
    assert entity(store.evaluator().evaluate(), "argocd", APP).status is Status.OK
