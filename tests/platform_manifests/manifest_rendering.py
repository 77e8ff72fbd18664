"""Rendering the Kustomize layout with the real ``kubectl kustomize`` and reading the result.

Why a real kubectl: the layout relies on Kustomize semantics (components running after the
overlay's generators, replacements, name suffixes, generated-name references) that only the
real tool reproduces. The machine's kubectl is used when there is one, else the pinned wheel
that `make install` puts into the venv.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "platform_manifests"
DASHBOARDS = REPO / "dashboards" / "generated"
NAMESPACE = "observability"
OMNI_IMAGE = "ghcr.io/omni-telemetry/omni-telemetry"
OVERLAYS = ("overlays/single-node", "overlays/replicated")
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job"})
LONG_RUNNING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
OPERATOR_KINDS = frozenset({"ClickHouseInstallation", "ClickHouseKeeperInstallation"})
CUSTOM_KINDS = frozenset({*OPERATOR_KINDS, "HTTPProxy", "Certificate", "Application"})

Doc = dict[str, Any]
Docs = tuple[Doc, ...]


def find_kubectl() -> str | None:
    return shutil.which("kubectl") or shutil.which("kubectl", path=str(Path(sys.executable).parent))


KUBECTL = find_kubectl()


def kustomizations() -> list[str]:
    """Every kustomization directory (not Components, which only build inside an overlay)."""
    found = []
    for path in MANIFESTS.rglob("kustomization.yaml"):
        if yaml.safe_load(path.read_text()).get("kind") == "Component":
            continue
        found.append(str(path.parent.relative_to(MANIFESTS)))
    return sorted(found)


def _build(directory: Path) -> Docs:
    assert KUBECTL, "kubectl is not installed (make install adds it to the venv)"
    proc = subprocess.run(
        [KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0 and not (DASHBOARDS / "kustomization.yaml").is_file() and "dashboards/generated" in proc.stderr:
        # The dashboards are generated and committed by `omni-telemetry dashboards build`; a tree
        # without them cannot render the Grafana part, which says nothing about the rest.
        pytest.skip("dashboards/generated/kustomization.yaml is missing: run `omni-telemetry dashboards build`")
    assert proc.returncode == 0, f"kubectl kustomize {directory} failed:\n{proc.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(proc.stdout) if doc)


@functools.cache
def render(kustomization: str) -> Docs:
    return _build(MANIFESTS / kustomization)


@functools.cache
def render_with_components(kustomization: str, *components: str) -> Docs:
    """An overlay plus Components, as an operator's own overlay on top of ours would include them."""
    with tempfile.TemporaryDirectory() as tmp:
        here = Path(tmp)
        rel = lambda p: os.path.relpath(MANIFESTS / p, here)  # noqa: E731
        (here / "kustomization.yaml").write_text(yaml.safe_dump({
            "resources": [rel(kustomization)],
            "components": [rel(c) for c in components],
        }))
        return _build(here)


def of_kind(docs: Docs, *kinds: str) -> list[Doc]:
    return [d for d in docs if d["kind"] in kinds]


def one(docs: Docs, kind: str, name: str | None = None) -> Doc:
    found = [d for d in of_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def by_prefix(docs: Docs, kind: str, name: str) -> Doc:
    """A generated object by its base name (kustomize appends a content hash)."""
    found = [d for d in of_kind(docs, kind) if re.fullmatch(rf"{re.escape(name)}(-[a-z0-9]{{10}})?", d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs(docs: Docs) -> Iterator[tuple[Doc, Doc]]:
    """(owner, pod spec) for workloads and for the operator-managed pod templates."""
    for doc in docs:
        if doc["kind"] in WORKLOAD_KINDS:
            yield doc, doc["spec"]["template"]["spec"]
        elif doc["kind"] in OPERATOR_KINDS:
            for template in doc["spec"].get("templates", {}).get("podTemplates", []):
                yield doc, template["spec"]


def pod_labels(doc: Doc) -> dict[str, str]:
    """The labels the pods of a workload carry (operator pods: the operator's own labels)."""
    if doc["kind"] == "ClickHouseInstallation":
        return {"clickhouse.altinity.com/chi": doc["metadata"]["name"]}
    if doc["kind"] == "ClickHouseKeeperInstallation":
        return {"clickhouse-keeper.altinity.com/chk": doc["metadata"]["name"]}
    return dict(doc["spec"]["template"]["metadata"].get("labels", {}))


def replicas(doc: Doc) -> int:
    if doc["kind"] == "ClickHouseInstallation":
        return max(c["layout"]["shardsCount"] * c["layout"]["replicasCount"] for c in doc["spec"]["configuration"]["clusters"])
    if doc["kind"] == "ClickHouseKeeperInstallation":
        return max(c["layout"]["replicasCount"] for c in doc["spec"]["configuration"]["clusters"])
    return int(doc["spec"].get("replicas", 1))


def containers(docs: Docs) -> Iterator[tuple[Doc, Doc, Doc]]:
    for owner, spec in pod_specs(docs):
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            yield owner, spec, container


def label(owner: Doc, container: Doc | None = None) -> str:
    where = f"{owner['kind']}/{owner['metadata']['name']}"
    return f"{where} container {container['name']}" if container else where


def configmap(docs: Docs, name: str) -> dict[str, str]:
    found = [d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"] == name]
    assert found, f"ConfigMap {name} is referenced but not rendered"
    return found[0].get("data", {})


def chi(docs: Docs) -> Doc:
    return one(docs, "ClickHouseInstallation")


def chi_service_template(installation: Doc) -> Doc:
    templates = {t["name"]: t for t in installation["spec"]["templates"]["serviceTemplates"]}
    return templates[installation["spec"]["defaults"]["templates"]["serviceTemplate"]]


def chi_service_host(installation: Doc) -> str:
    """The CR-level Service the operator creates, per the service template's generateName."""
    name = installation["metadata"]["name"]
    template = chi_service_template(installation)
    return f"{template['generateName'].replace('{chi}', name)}.{installation['metadata']['namespace']}.svc"


def chi_ports(installation: Doc) -> dict[str, int]:
    return {p["name"]: p["port"] for p in chi_service_template(installation)["spec"]["ports"]}


def chi_users(installation: Doc) -> dict[str, dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    for key, value in installation["spec"]["configuration"]["users"].items():
        user, _, setting = key.partition("/")
        users.setdefault(user, {})[setting] = value
    return users


def _expand(value: str, env: dict[str, str]) -> str:
    """The kubelet's $(VAR) expansion of env values and args (unknown names stay as written)."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), value)


def container_env(docs: Docs, container: Doc, secrets: dict[tuple[str, str], str], *, pod_name: str = "") -> dict[str, str]:
    """The environment the kubelet would give the container. Secrets are never in git, so
    their values come from ``secrets`` ((name, key) -> value), as the operator creates them;
    the downward API's ``metadata.name`` is ``pod_name`` (see :func:`pod_name`)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(configmap(docs, source["configMapRef"]["name"]))
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = _expand(item["value"], env)
            continue
        if "fieldRef" in item["valueFrom"]:
            path = item["valueFrom"]["fieldRef"]["fieldPath"]
            if path != "metadata.name":
                raise NotImplementedError(f"downward API field {path}")
            env[item["name"]] = pod_name
            continue
        ref = item["valueFrom"]["secretKeyRef"]
        env[item["name"]] = secrets[(ref["name"], ref["key"])]
    return env


def pod_name(owner: Doc, ordinal: int = 0) -> str:
    """The name of one of ``owner``'s pods as Kubernetes names it: ``<name>-<ordinal>`` for a
    StatefulSet, a generated suffix for the others."""
    name = owner["metadata"]["name"]
    if owner["kind"] == "StatefulSet":
        return f"{name}-{ordinal}"
    return f"{name}-5d9c7b8f4d-x2k7q" if owner["kind"] == "Deployment" else f"{name}-x2k7q"


def container_args(container: Doc, env: dict[str, str]) -> list[str]:
    return [_expand(a, env) for a in container.get("args", [])]


def secret_value_of(doc: Doc, key: str) -> str:
    if key in doc.get("stringData", {}):
        return doc["stringData"][key]
    return base64.b64decode(doc["data"][key]).decode()
