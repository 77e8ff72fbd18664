"""Finding scrape targets in Kubernetes (pods, Service endpoints, Services), refreshed periodically."""

from ._client import KubernetesAccess, kubernetes_api_client
from ._kubernetes import DiscoveryResult, KubernetesDiscovery
from ._refresh import DiscoveredTargets
from ._rules import DEFAULT_RULES, DiscoveryRule, default_rules

__all__ = [
    "DEFAULT_RULES",
    "DiscoveredTargets",
    "DiscoveryResult",
    "DiscoveryRule",
    "KubernetesAccess",
    "KubernetesDiscovery",
    "default_rules",
    "kubernetes_api_client",
]
