"""API contract: schemathesis generates requests from the OpenAPI schema against a real server
on 127.0.0.1 with stored data; no request may get a 500 or an answer outside the schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from service import create_app

from api_server import served
from health_store import HealthStore



ANSWERED: list[tuple[str, int]] = []


@schemathesis.check
def no_internal_error(ctx, response, case) -> bool | None:
    """503 is a documented answer (overall critical, store down); 500 never is."""
    ANSWERED.append((case.operation.label, response.status_code))
    if response.status_code == 500:
        raise AssertionError(f"500 for {case.method} {case.formatted_path}: {response.text[:300]}")
    return None


CHECKS = [no_internal_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_no_generated_request_gets_a_500_or_an_answer_outside_the_schema(tmp_path):
    store = HealthStore(tmp_path / "store")
    store.gauge_now("diskpool_status", 1, {"name": "pool-a", "node": "n1", "state": "faulted"}, job="mayastor")
    store.gauge_now("envoy_server_live", 1, job="envoy", instance="envoy-a")
    store.gauge_now("up", 0, job="kuma-cp", instance="cp-0")
    store.gauge_now("argocd_app_info", 1, {"name": "kubevirt", "namespace": "argocd", "project": "platform",
                                           "health_status": "Degraded", "sync_status": "OutOfSync"}, job="argocd")
    store.event(30, "Application", "kubevirt", "argocd", "OperationCompleted", "Sync operation failed")
    ANSWERED.clear()
    with served(create_app(store.monitor(), background=False)) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.label for op in operations} >= {
            "GET /health", "GET /health/{component}", "GET /health/{component}/{entity}", "GET /readyz",
        }
        entity_op = next(op for op in operations if op.label == "GET /health/{component}/{entity}")
        component = entity_op.path_parameters.get("component").definition
        assert component["schema"]["enum"] == ["mayastor", "envoy", "kuma", "kubevirt", "argocd", "pipeline"]
        for operation in operations:
            strategies = [operation.as_strategy(), *operation.get_strategies_from_examples()]
            for strategy in strategies:

                @given(case=strategy)
                @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
                def exercise(case) -> None:
                    case.call_and_validate(checks=CHECKS)

                exercise()
    # generated requests reached real components and real entities, not only the 404s
    codes = {code for label, code in ANSWERED if label == "GET /health/{component}"}
    assert 200 in codes
    assert 200 in {code for label, code in ANSWERED if label == "GET /health/{component}/{entity}"}
