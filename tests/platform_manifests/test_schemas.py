"""Every rendered object against a schema: built-in kinds against Kubernetes' own OpenAPI
schemas (kubernetes-validate, strict, pinned to the platform's version), custom resources
against their CRD's schema (crds/, provenance in crds/README.md), and the pods that the
ClickHouse operator renders from our templates against the core PodSpec.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from manifest_rendering import CUSTOM_KINDS, KUBECTL, OPERATOR_KINDS, OVERLAYS, Doc, kustomizations, one, render, render_with_components

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed; `make install` adds it")

#: The Kubernetes version the platform's CI gate validates against (kubeconform -kubernetes-version).
PLATFORM_KUBERNETES = "1.30.0"
CRDS = Path(__file__).parent / "crds"
SCHEMA_FILES = {
    "ClickHouseInstallation": "clickhouseinstallation.yaml",
    "ClickHouseKeeperInstallation": "clickhousekeeperinstallation.yaml",
    "HTTPProxy": "httpproxy.yaml",
    "Certificate": "certificate.yaml",
    "Application": "application.yaml",
}


def _registry() -> Registry:
    resources = []
    for path in CRDS.glob("*.yaml"):
        schema = yaml.safe_load(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def crd_validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = yaml.safe_load((CRDS / SCHEMA_FILES[kind]).read_text())
    return jsonschema.Draft202012Validator(schema, registry=REGISTRY)


def crd_errors(doc: Doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in crd_validator(doc["kind"]).iter_errors(doc)]


def core_errors(doc: Doc) -> list[str]:
    try:
        kubernetes_validate.validate(doc, PLATFORM_KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [str(exc)]
    return []


def test_schemas_are_valid_json_schemas() -> None:
    for kind in SCHEMA_FILES:
        validator = crd_validator(kind)
        jsonschema.Draft202012Validator.check_schema(validator.schema)


@pytest.mark.parametrize("kustomization", kustomizations())
def test_every_built_in_object_matches_the_platforms_kubernetes_schema_strictly(kustomization: str) -> None:
    for doc in render(kustomization):
        if doc["kind"] in CUSTOM_KINDS:
            continue
        assert core_errors(doc) == [], f"{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("kustomization", kustomizations())
def test_every_custom_resource_matches_its_crd_schema(kustomization: str) -> None:
    docs = render(kustomization)
    for doc in docs:
        assert doc["kind"] in CUSTOM_KINDS or doc["apiVersion"].split("/")[0] in {"v1", "apps", "batch", "policy", "rbac.authorization.k8s.io", "networking.k8s.io"}, (
            f"{doc['kind']} has no schema here: add its CRD to crds/"
        )
        if doc["kind"] in CUSTOM_KINDS:
            assert crd_errors(doc) == [], f"{doc['kind']}/{doc['metadata']['name']}"


def test_every_custom_kind_we_render_is_covered() -> None:
    rendered = {d["kind"] for k in (*OVERLAYS, "argocd") for d in render(k)}
    assert CUSTOM_KINDS <= rendered
    assert set(SCHEMA_FILES) == CUSTOM_KINDS


def test_the_meshed_variant_validates_too() -> None:
    for doc in render_with_components("overlays/replicated", "components/kuma-mesh"):
        errors = crd_errors(doc) if doc["kind"] in CUSTOM_KINDS else core_errors(doc)
        assert errors == [], f"{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_operator_pod_templates_are_valid_pod_specs(overlay: str) -> None:
    """The CRDs keep pod templates as free-form objects; the operator copies them into its
    StatefulSets, so they must be valid PodSpecs."""
    for doc in render(overlay):
        if doc["kind"] not in OPERATOR_KINDS:
            continue
        for template in doc["spec"]["templates"]["podTemplates"]:
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": template["name"]}, "spec": template["spec"]}
            assert core_errors(pod) == [], f"{doc['kind']}/{doc['metadata']['name']} podTemplate {template['name']}"


# ---- the validators reject what they must -----------------------------------------------------


def _set(doc: Doc, path: tuple[Any, ...], value: Any) -> Doc:
    changed = copy.deepcopy(doc)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def test_strict_kubernetes_validation_rejects_an_unknown_field_and_a_wrong_type() -> None:
    deployment = one(render("overlays/replicated"), "Deployment", "omni-health")
    assert core_errors(_set(deployment, ("spec", "replica"), 2))
    assert core_errors(_set(deployment, ("spec", "replicas"), "two"))
    policy = one(render("overlays/replicated"), "NetworkPolicy", "default-deny")
    assert core_errors(_set(policy, ("spec", "egres"), []))


CRD_BREAKAGES = {
    "ClickHouseInstallation": [(("spec", "configuration", "clusterz"), []), (("spec", "configuration", "clusters", 0, "name"), "a_cluster_name_too_long")],
    "ClickHouseKeeperInstallation": [(("spec", "defaults", "templates", "podTemplatez"), "x"), (("spec", "configuration", "clusters", 0, "layout", "replicasCount"), 9)],
    "HTTPProxy": [(("spec", "virtualhost", "tls", "secret"), "x"), (("spec", "routes", 0, "services", 0, "port"), "8080")],
    "Certificate": [(("spec", "issuerRef", "nam"), "x"), (("spec", "privateKey", "algorithm"), "DSA")],
    "Application": [(("spec", "syncPolicy", "automated", "prune"), "yes"), (("spec", "destinaton"), {})],
}


@pytest.mark.parametrize("kind", sorted(CRD_BREAKAGES))
def test_each_crd_schema_rejects_unknown_fields_and_wrong_types(kind: str) -> None:
    source = "argocd" if kind == "Application" else "overlays/replicated"
    doc = one(render(source), kind)
    assert crd_errors(doc) == []
    for path, value in CRD_BREAKAGES[kind]:
        assert crd_errors(_set(doc, path, value)), f"{kind}: {'.'.join(map(str, path))} = {value!r} was accepted"
