"""What to look for in Kubernetes, per source, and the defaults of each project's standard install.

A rule names a source and where its targets live. Three roles, because the projects differ:

* ``pods``: every running pod matching a label selector (and optionally annotations).
  Needed where each pod reports only about itself (Mayastor's io-engine exporter: each
  reports its own node, so scraping through the Service would see a random one) or where
  no Service exposes the metrics port (Contour's Envoy :8002, kuma-dp :5670).
* ``endpoints``: the addresses behind a Service (EndpointSlices, or the older Endpoints):
  KubeVirt's ``kubevirt-prometheus-metrics`` and CDI's ``cdi-prometheus-metrics`` select
  exactly the pods that serve metrics.
* ``service``: the Service itself, one target per install, for cluster-wide APIs whose
  replicas all answer the same (Kuma's API, Mayastor's REST API).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, Mapping, Sequence

__all__ = ["DEFAULT_RULES", "DiscoveryRule", "default_rules"]

Role = Literal["pods", "endpoints", "service"]

#: Where a pod's own service account credentials are mounted.
SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


@dataclass(frozen=True)
class DiscoveryRule:
    """One kind of target to find.

    ``port`` is a number, or a name (a container port name for ``pods``, an endpoint port
    name for ``endpoints``). ``namespaces`` empty means all namespaces. ``services`` lists
    candidate Service names (the first that exists in a namespace is used for ``service``;
    every one listed is read for ``endpoints``). ``option_annotations`` maps a target option
    to a pod annotation it is read from (kuma-dp's mesh). ``ca_config_map`` is ``(name, key)``
    of a ConfigMap in the target's namespace holding the CA bundle that signed the targets'
    certificates (``kubevirt-ca``/``ca-bundle``); discovery writes it to a file for ``ca_file``.
    """

    source: str
    role: Role
    namespaces: tuple[str, ...] = ()
    label_selector: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)
    services: tuple[str, ...] = ()
    port: int | str = 0
    scheme: str = "http"
    path: str = "/metrics"
    job: str = ""
    timeout_s: float = 10.0
    bearer_token_file: str | None = None
    ca_file: str | None = None
    ca_config_map: tuple[str, str] | None = None
    insecure_skip_verify: bool = False
    options: Mapping[str, str] = field(default_factory=dict)
    option_annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in ("pods", "endpoints", "service"):
            raise ValueError(f"role must be pods, endpoints or service, not {self.role!r}")
        if self.role != "pods" and not (self.services and self.namespaces):
            raise ValueError(f"a {self.role} rule for {self.source} needs Service names and namespaces")
        if not self.port:
            raise ValueError(f"the rule for {self.source} needs a port (number or name)")


#: Each project's standard install (namespaces, labels, ports as their charts/manifests set them).
DEFAULT_RULES: tuple[DiscoveryRule, ...] = (
    DiscoveryRule(
        source="mayastor",
        role="pods",
        namespaces=("mayastor", "openebs"),
        label_selector="app=io-engine",
        port=9502,
    ),
    DiscoveryRule(
        source="mayastor-api",
        role="service",
        namespaces=("mayastor", "openebs"),
        services=("mayastor-api-rest", "openebs-api-rest"),
        port=8081,
        path="",
    ),
    DiscoveryRule(
        source="envoy",
        role="pods",
        namespaces=("projectcontour",),
        label_selector="app=envoy",
        port=8002,
        path="/stats/prometheus",
    ),
    DiscoveryRule(
        source="contour",
        role="pods",
        namespaces=("projectcontour",),
        label_selector="app=contour",
        port=8000,
    ),
    DiscoveryRule(
        source="kuma-cp",
        role="pods",
        namespaces=("kuma-system",),
        label_selector="app=kuma-control-plane",
        port=5680,
    ),
    DiscoveryRule(
        source="kuma-api",
        role="service",
        namespaces=("kuma-system",),
        services=("kuma-control-plane",),
        port=5681,
        path="",
    ),
    DiscoveryRule(
        source="kuma-dp",
        role="pods",
        annotations={"kuma.io/sidecar-injected": "true"},
        port=5670,
        options={"mesh": "default"},
        option_annotations={"mesh": "kuma.io/mesh"},
    ),
    DiscoveryRule(
        source="kubevirt",
        role="endpoints",
        namespaces=("kubevirt",),
        services=("kubevirt-prometheus-metrics",),
        port="metrics",
        scheme="https",
        ca_config_map=("kubevirt-ca", "ca-bundle"),
    ),
    DiscoveryRule(
        source="cdi",
        role="endpoints",
        namespaces=("cdi",),
        services=("cdi-prometheus-metrics",),
        port=8080,
    ),
    # Every application-controller replica behind the metrics Service: a sharded controller
    # reports only the applications of its own clusters. ``argocd-metrics`` is the name in
    # Argo CD's manifests, ``argocd-application-controller-metrics`` the argo-cd Helm chart's.
    DiscoveryRule(
        source="argocd",
        role="endpoints",
        namespaces=("argocd",),
        services=("argocd-metrics", "argocd-application-controller-metrics"),
        port=8082,
    ),
)


def default_rules(
    sources: Sequence[str] | None = None,
    *,
    namespaces: Mapping[str, Sequence[str]] | None = None,
    bearer_token_file: str | None = None,
    kubevirt_ca_file: str | None = None,
    insecure_skip_verify: Sequence[str] = (),
) -> list[DiscoveryRule]:
    """The default rules, narrowed to ``sources`` and adjusted by the operator's settings.

    ``namespaces`` overrides a source's namespaces; ``bearer_token_file`` is sent to the
    HTTPS targets (KubeVirt); ``kubevirt_ca_file`` replaces reading the ``kubevirt-ca``
    ConfigMap; sources in ``insecure_skip_verify`` skip certificate verification (explicit
    only: the default verifies).
    """
    wanted = set(sources) if sources is not None else None
    unknown = (wanted or set()) - {r.source for r in DEFAULT_RULES}
    if unknown:
        known = ", ".join(sorted({r.source for r in DEFAULT_RULES}))
        raise ValueError(f"no discovery rule for {', '.join(sorted(unknown))}; known: {known}")
    rules = []
    for rule in DEFAULT_RULES:
        if wanted is not None and rule.source not in wanted:
            continue
        if namespaces and rule.source in namespaces:
            rule = replace(rule, namespaces=tuple(namespaces[rule.source]))
        if rule.scheme == "https":
            rule = replace(rule, bearer_token_file=bearer_token_file or rule.bearer_token_file)
            if rule.source == "kubevirt" and kubevirt_ca_file:
                rule = replace(rule, ca_file=kubevirt_ca_file, ca_config_map=None)
        if rule.source in insecure_skip_verify:
            rule = replace(rule, insecure_skip_verify=True)
        rules.append(rule)
    return rules
