"""The platform's policy gate as project checks: what kube-score (the club-wide CI's CRITICAL
gate) and the `restricted` Pod Security level would reject, plus the rules this project adds
(sized scratch volumes, no Secret in git, spread replicas).

Why our own: kube-score is a Go binary that cannot be installed from the registries CI
reaches. Each check returns findings (strings naming the object and the fix) instead of
asserting, so the tests can show both that the rendered overlays have none and that every
check fires on a manifest that breaks it.
"""

from __future__ import annotations

from typing import Any, Callable

from manifest_rendering import (
    LONG_RUNNING_KINDS,
    OPERATOR_KINDS,
    Doc,
    Docs,
    containers,
    label,
    of_kind,
    pod_labels,
    pod_specs,
    replicas,
)

MIN_ID = 10000
RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _effective(container: Doc, spec: Doc, key: str) -> Any:
    return container.get("securityContext", {}).get(key, spec.get("securityContext", {}).get(key))


def resources(docs: Docs) -> list[str]:
    out = []
    for owner, _spec, c in containers(docs):
        res = c.get("resources", {})
        for bound in ("requests", "limits"):
            missing = [r for r in RESOURCES if r not in res.get(bound, {})]
            if missing:
                out.append(f"{label(owner, c)}: no {bound} for {', '.join(missing)}")
    return out


def images(docs: Docs) -> list[str]:
    out = []
    for owner, _spec, c in containers(docs):
        image = c.get("image", "")
        if c.get("imagePullPolicy") != "Always":
            out.append(f"{label(owner, c)}: imagePullPolicy must be Always")
        if "@sha256:" in image:
            continue
        name, _, tag = image.rpartition(":")
        if not name or "/" in tag:
            out.append(f"{label(owner, c)}: {image} has no tag")
        elif tag == "latest":
            out.append(f"{label(owner, c)}: {image} floats (latest)")
    return out


def security_context(docs: Docs) -> list[str]:
    out = []
    for owner, spec, c in containers(docs):
        where = label(owner, c)
        sc = c.get("securityContext", {})
        if _effective(c, spec, "runAsNonRoot") is not True:
            out.append(f"{where}: runAsNonRoot must be true")
        for key in ("runAsUser", "runAsGroup"):
            value = _effective(c, spec, key)
            if not isinstance(value, int) or value < MIN_ID:
                out.append(f"{where}: {key} must be >= {MIN_ID}, is {value}")
        if sc.get("readOnlyRootFilesystem") is not True:
            out.append(f"{where}: readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where}: allowPrivilegeEscalation must be false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc.get("capabilities", {}).get("add"):
            out.append(f"{where}: capabilities must drop ALL and add none")
        if sc.get("privileged"):
            out.append(f"{where}: privileged")
        if (_effective(c, spec, "seccompProfile") or {}).get("type") != "RuntimeDefault":
            out.append(f"{where}: seccompProfile must be RuntimeDefault")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            out.append(f"{where}: host namespaces")
    return out


def scratch_volumes(docs: Docs) -> list[str]:
    out = []
    for owner, spec, c in containers(docs):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        if "emptyDir" not in volumes.get(mounts.get("/tmp", ""), {}):
            out.append(f"{label(owner, c)}: /tmp must be an emptyDir (the root is read-only)")
        for volume in volumes.values():
            if "emptyDir" in volume and not volume["emptyDir"].get("sizeLimit"):
                out.append(f"{label(owner, c)}: emptyDir {volume['name']} has no sizeLimit")
    return out


def probes(docs: Docs) -> list[str]:
    out = []
    for owner, _spec, c in containers(docs):
        if owner["kind"] not in LONG_RUNNING_KINDS | OPERATOR_KINDS:
            continue
        where = label(owner, c)
        readiness, liveness = c.get("readinessProbe"), c.get("livenessProbe")
        if not readiness or not liveness:
            out.append(f"{where}: needs a readiness and a liveness probe")
            continue
        if readiness == liveness:
            out.append(f"{where}: identical readiness and liveness probes restart pods that are merely busy")
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        for probe in (readiness, liveness):
            handler = probe.get("httpGet") or probe.get("tcpSocket") or {}
            port = handler.get("port")
            if port is not None and port not in ports and port not in ports.values():
                out.append(f"{where}: probe port {port} is not a declared container port")
    return out


def _selects(selector: Doc, labels: dict[str, str]) -> bool:
    if selector.get("matchExpressions"):
        raise NotImplementedError("matchExpressions in our own selectors")
    return selector.get("matchLabels", {}).items() <= labels.items()


def network_policies(docs: Docs) -> list[str]:
    out = []
    policies = of_kind(docs, "NetworkPolicy")
    for owner, _spec in pod_specs(docs):
        labels = pod_labels(owner)
        namespace = owner["metadata"].get("namespace")
        types = {
            t for p in policies if p["metadata"].get("namespace") == namespace and _selects(p["spec"]["podSelector"], labels)
            for t in p["spec"].get("policyTypes", ["Ingress"])
        }
        for kind in ("Ingress", "Egress"):
            if kind not in types:
                out.append(f"{label(owner)}: no NetworkPolicy governs its {kind.lower()}")
    return out


def disruption_and_spread(docs: Docs) -> list[str]:
    out = []
    budgets = of_kind(docs, "PodDisruptionBudget")
    for owner, spec in pod_specs(docs):
        if owner["kind"] not in LONG_RUNNING_KINDS | OPERATOR_KINDS or replicas(owner) < 2:
            continue
        labels = pod_labels(owner)
        # The Altinity operator creates the PodDisruptionBudgets of its clusters itself.
        if owner["kind"] not in OPERATOR_KINDS and not any(_selects(b["spec"]["selector"], labels) for b in budgets):
            out.append(f"{label(owner)}: {replicas(owner)} replicas and no PodDisruptionBudget")
        if not spec.get("topologySpreadConstraints") and not spec.get("affinity", {}).get("podAntiAffinity"):
            out.append(f"{label(owner)}: {replicas(owner)} replicas and no topology spread")
    return out


def services(docs: Docs) -> list[str]:
    return [
        f"Service/{s['metadata']['name']}: type {s['spec'].get('type')} exposes nodes; use ClusterIP behind Contour"
        for s in of_kind(docs, "Service") if s["spec"].get("type", "ClusterIP") != "ClusterIP"
    ]


def secrets(docs: Docs) -> list[str]:
    return [
        f"Secret/{s['metadata']['name']}: a Secret in git holds literal values; reference one created at install time"
        for s in of_kind(docs, "Secret") if s.get("data") or s.get("stringData")
    ]


CHECKS: dict[str, Callable[[Docs], list[str]]] = {
    "resources": resources,
    "images": images,
    "security_context": security_context,
    "scratch_volumes": scratch_volumes,
    "probes": probes,
    "network_policies": network_policies,
    "disruption_and_spread": disruption_and_spread,
    "services": services,
    "secrets": secrets,
}


def findings(docs: Docs) -> list[str]:
    return [finding for check in CHECKS.values() for finding in check(docs)]
