"""Both overlays build, stay in their namespace, carry every cluster value, and pass the
platform's policy gate (manifest_policy); each policy check fires on a manifest that breaks it."""

from __future__ import annotations

import copy
from typing import Callable

import pytest

from manifest_policy import CHECKS, findings
from manifest_rendering import (
    KUBECTL,
    NAMESPACE,
    OVERLAYS,
    Doc,
    Docs,
    by_prefix,
    kustomizations,
    of_kind,
    one,
    render,
    render_with_components,
)

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed; `make install` adds it")


def test_layout_has_both_overlays_named_for_their_difference_and_the_application() -> None:
    expected = {"base", "collector", "clickhouse/base", "clickhouse/replicated", *OVERLAYS, "argocd"}
    assert expected <= set(kustomizations())


@pytest.mark.parametrize("kustomization", kustomizations())
def test_every_kustomization_builds(kustomization: str) -> None:
    docs = render(kustomization)
    assert docs, f"{kustomization} renders nothing"
    for doc in docs:
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_namespaced_objects_stay_in_observability_except_the_kubevirt_ca_role(overlay: str) -> None:
    docs = render(overlay)
    cluster_ns = configmap_values(docs)
    for doc in docs:
        if doc["kind"] in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
            assert "namespace" not in doc["metadata"]
            continue
        expected = cluster_ns["KUBEVIRT_NAMESPACE"] if doc["kind"] in ("Role", "RoleBinding") else NAMESPACE
        assert doc["metadata"].get("namespace") == expected, f"{doc['kind']}/{doc['metadata']['name']}"


def configmap_values(docs: Docs) -> dict[str, str]:
    return by_prefix(docs, "ConfigMap", "omni-cluster")["data"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_cluster_value_reaches_the_manifests(overlay: str) -> None:
    """No placeholder survives: the overlay includes components/cluster-values."""
    docs = render(overlay)
    values = configmap_values(docs)
    text = repr([d for d in docs if d["kind"] != "ConfigMap"])
    assert "unset-" not in text and "set-by-omni-cluster" not in text and "example.invalid" not in text
    cert = one(docs, "Certificate")
    assert cert["spec"]["issuerRef"]["name"] == values["CERT_ISSUER"]
    assert cert["spec"]["dnsNames"] == [values["HEALTH_HOST"]]
    assert one(docs, "HTTPProxy")["spec"]["virtualhost"]["fqdn"] == values["HEALTH_HOST"]
    for kind in ("ClickHouseInstallation", "ClickHouseKeeperInstallation"):
        for resource in of_kind(docs, kind):
            for template in resource["spec"]["templates"]["volumeClaimTemplates"]:
                assert template["spec"]["storageClassName"] == values["STORAGE_CLASS"]


def test_the_single_node_overlay_is_small_on_mayastor_and_the_replicated_one_is_not() -> None:
    small, big = render("overlays/single-node"), render("overlays/replicated")
    assert configmap_values(small)["STORAGE_CLASS"] == "mayastor"
    assert all(d["spec"].get("replicas", 1) == 1 for d in of_kind(small, "Deployment", "StatefulSet"))
    assert not of_kind(small, "ClickHouseKeeperInstallation")
    assert [c["layout"]["replicasCount"] for c in one(small, "ClickHouseInstallation")["spec"]["configuration"]["clusters"]] == [1]
    assert [c["layout"]["replicasCount"] for c in one(big, "ClickHouseInstallation")["spec"]["configuration"]["clusters"]] == [2]
    assert len(of_kind(big, "ClickHouseKeeperInstallation")) == 1

    def limit(docs: Docs) -> str:
        pod = one(docs, "ClickHouseInstallation")["spec"]["templates"]["podTemplates"][0]["spec"]
        return pod["containers"][0]["resources"]["limits"]["memory"]

    assert limit(small) != limit(big)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_pass_the_platform_policy_gate(overlay: str) -> None:
    assert findings(render(overlay)) == []


def test_the_kuma_component_meshes_the_deployments_but_not_the_schema_job() -> None:
    plain = render("overlays/single-node")
    assert one(plain, "Namespace")["metadata"]["labels"]["kuma.io/sidecar-injection"] == "disabled"
    assert {d["spec"]["template"]["metadata"]["labels"]["kuma.io/sidecar-injection"] for d in of_kind(plain, "Deployment", "StatefulSet", "Job")} == {"disabled"}

    meshed = render_with_components("overlays/single-node", "components/kuma-mesh")
    namespace = one(meshed, "Namespace")["metadata"]["labels"]
    assert namespace["kuma.io/sidecar-injection"] == "enabled"
    assert namespace["pod-security.kubernetes.io/enforce"] == "privileged"
    assert {d["spec"]["template"]["metadata"]["labels"]["kuma.io/sidecar-injection"] for d in of_kind(meshed, "Deployment", "StatefulSet")} == {"enabled"}
    assert one(meshed, "Job")["spec"]["template"]["metadata"]["labels"]["kuma.io/sidecar-injection"] == "disabled"
    assert one(meshed, "NetworkPolicy", "kuma-dataplane")
    assert findings(meshed) == []


# ---- every check can fail ---------------------------------------------------------------------


def _deployment(docs: list[Doc], name: str = "omni-health") -> Doc:
    return next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name)


def _container(docs: list[Doc], name: str = "omni-health") -> Doc:
    return _deployment(docs, name)["spec"]["template"]["spec"]["containers"][0]


def _drop_probe(docs: list[Doc]) -> None:
    del _container(docs)["livenessProbe"]


def _same_probes(docs: list[Doc]) -> None:
    c = _container(docs)
    c["livenessProbe"] = copy.deepcopy(c["readinessProbe"])


def _no_ephemeral_limit(docs: list[Doc]) -> None:
    del _container(docs)["resources"]["limits"]["ephemeral-storage"]


def _latest(docs: list[Doc]) -> None:
    _container(docs)["image"] = "ghcr.io/omni-telemetry/omni-telemetry:latest"


def _untagged(docs: list[Doc]) -> None:
    _container(docs)["image"] = "ghcr.io/omni-telemetry/omni-telemetry"


def _writable_root(docs: list[Doc]) -> None:
    _container(docs)["securityContext"]["readOnlyRootFilesystem"] = False


def _low_uid(docs: list[Doc]) -> None:
    _container(docs)["securityContext"]["runAsUser"] = 1000


def _escalation(docs: list[Doc]) -> None:
    del _container(docs)["securityContext"]["allowPrivilegeEscalation"]


def _no_seccomp(docs: list[Doc]) -> None:
    del _container(docs)["securityContext"]["seccompProfile"]
    del _deployment(docs)["spec"]["template"]["spec"]["securityContext"]["seccompProfile"]


def _tmp_on_root(docs: list[Doc]) -> None:
    c = _container(docs)
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["mountPath"] != "/tmp"]


def _no_network_policy(docs: list[Doc]) -> None:
    docs[:] = [d for d in docs if d["kind"] != "NetworkPolicy"]


def _no_pdb(docs: list[Doc]) -> None:
    docs[:] = [d for d in docs if not (d["kind"] == "PodDisruptionBudget" and d["metadata"]["name"] == "omni-health")]


def _no_spread(docs: list[Doc]) -> None:
    del _deployment(docs)["spec"]["template"]["spec"]["topologySpreadConstraints"]


def _node_port(docs: list[Doc]) -> None:
    next(d for d in docs if d["kind"] == "Service")["spec"]["type"] = "NodePort"


def _secret_literal(docs: list[Doc]) -> None:
    docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "clickhouse-users", "namespace": NAMESPACE},
                 "stringData": {"writer-password": "hunter2"}})


BREAKAGES: dict[str, tuple[str, Callable[[list[Doc]], None]]] = {
    "missing liveness probe": ("probes", _drop_probe),
    "identical probes": ("probes", _same_probes),
    "no ephemeral-storage limit": ("resources", _no_ephemeral_limit),
    "latest tag": ("images", _latest),
    "no tag": ("images", _untagged),
    "writable root filesystem": ("security_context", _writable_root),
    "low uid": ("security_context", _low_uid),
    "privilege escalation allowed": ("security_context", _escalation),
    "no seccomp profile": ("security_context", _no_seccomp),
    "/tmp on the root filesystem": ("scratch_volumes", _tmp_on_root),
    "no NetworkPolicy": ("network_policies", _no_network_policy),
    "replicas without a PodDisruptionBudget": ("disruption_and_spread", _no_pdb),
    "replicas without topology spread": ("disruption_and_spread", _no_spread),
    "NodePort Service": ("services", _node_port),
    "Secret with a literal value": ("secrets", _secret_literal),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_each_policy_check_rejects_a_manifest_that_breaks_it(breakage: str) -> None:
    check, breaker = BREAKAGES[breakage]
    docs = copy.deepcopy(list(render("overlays/replicated")))
    breaker(docs)
    assert CHECKS[check](tuple(docs)), f"{check} did not notice: {breakage}"


def test_every_policy_check_has_a_breakage_that_proves_it_can_fail() -> None:
    assert {check for check, _ in BREAKAGES.values()} == set(CHECKS)
