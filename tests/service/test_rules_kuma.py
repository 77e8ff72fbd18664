"""Kuma rules: control plane down (with the scrape's reason), dataplane and service states,
certificate expiry at its threshold."""

from __future__ import annotations

import pytest

from service import Status

from health_store import HealthStore, entity, reasons

DP_STATES = ("online", "partially_degraded", "offline")


@pytest.fixture
def store(tmp_path):
    return HealthStore(tmp_path / "store")


def _dataplane(store, name: str, service: str, state: str) -> None:
    store.states("kuma_dataplane_status", "status", state, DP_STATES,
                 {"mesh": "default", "name": name, "service": service, "zone": "z1", "gateway": "false"}, job="kuma-api")


def test_dataplane_offline_or_partially_degraded_is_degraded_and_an_all_offline_service_critical(store):
    _dataplane(store, "backend-1", "backend", "offline")
    _dataplane(store, "web-1", "web", "partially_degraded")
    _dataplane(store, "web-2", "web", "online")
    for service, state in (("backend", "offline"), ("web", "partially_degraded")):
        store.states("kuma_service_status", "status", state, DP_STATES,
                     {"mesh": "default", "service": service, "origin": "dataplanes"}, job="kuma-api")
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "kuma", "dataplane/default/backend-1").status is Status.DEGRADED
    assert entity(snapshot, "kuma", "dataplane/default/web-1").status is Status.DEGRADED
    assert entity(snapshot, "kuma", "dataplane/default/web-2").status is Status.OK
    assert entity(snapshot, "kuma", "service/default/backend").status is Status.CRITICAL
    assert entity(snapshot, "kuma", "service/default/web").status is Status.DEGRADED
    component = snapshot.components["kuma"]
    assert component.status is Status.CRITICAL
    assert {r.entity for r in component.reasons} >= {"kuma/service/default/backend", "kuma/dataplane/default/backend-1"}


@pytest.mark.parametrize(("left_s", "expected"), [(86400, Status.OK), (86399, Status.DEGRADED)])
def test_certificate_expiring_within_24_hours_is_degraded(store, left_s, expected):
    sampled = store.ago(5)
    store.gauge("kuma_dataplane_cert_expiration_timestamp_seconds", [(sampled, sampled.timestamp() + left_s)],
                {"mesh": "default", "name": "web-1", "service": "web", "zone": "z1"}, job="kuma-api")
    snapshot = store.evaluator().evaluate()
    assert entity(snapshot, "kuma", "dataplane/default/web-1").status is expected
    if expected is Status.DEGRADED:
        [reason] = reasons(snapshot, "kuma", "dataplane/default/web-1", "kuma.dataplane_cert_expiry")
        assert reason.observed == left_s


def test_control_plane_down_is_critical_with_the_scrapes_reason(store):
    sampled = store.ago(5)
    store.gauge("up", [(sampled, 0)], job="kuma-cp", instance="kuma-control-plane-0")
    store.gauge("omni_scrape_error_info", [(sampled, 1)], {"reason": "connection refused"}, job="kuma-cp",
                instance="kuma-control-plane-0")
    snapshot = store.evaluator().evaluate()
    control_plane = entity(snapshot, "kuma", "control-plane/kuma-cp/kuma-control-plane-0")
    assert control_plane.status is Status.CRITICAL
    assert "connection refused" in control_plane.reasons[0].message
    assert entity(snapshot, "pipeline", "target/kuma-cp/kuma-control-plane-0").status is Status.CRITICAL
