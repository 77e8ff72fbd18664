"""A small NetworkPolicy evaluator (the subset of the API our manifests use), so that tests
can ask "may A reach B on port P" instead of restating the YAML."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from manifest_rendering import Doc, Docs, of_kind


@dataclass(frozen=True)
class Peer:
    """A pod (namespace + labels) or a plain address outside the pod network (``ip``)."""

    namespace: str | None
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    ip: str | None = None
    name: str = ""

    def __str__(self) -> str:
        return self.name or (self.ip or f"{self.namespace}/{self.labels}")


def _matches(selector: Doc | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    if selector.get("matchExpressions"):
        raise NotImplementedError("matchExpressions")
    return selector.get("matchLabels", {}).items() <= labels.items()


def _peer_matches(rule_peer: Doc, policy_namespace: str, peer: Peer) -> bool:
    if "ipBlock" in rule_peer:
        if peer.ip is None:
            return False
        block = rule_peer["ipBlock"]
        address = ipaddress.ip_address(peer.ip)
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if peer.namespace is None:
        return False
    if "namespaceSelector" in rule_peer:
        if not _matches(rule_peer["namespaceSelector"], {"kubernetes.io/metadata.name": peer.namespace}):
            return False
    elif peer.namespace != policy_namespace:
        return False
    return _matches(rule_peer.get("podSelector"), peer.labels)


def _port_matches(ports: list[Doc] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    return any(p.get("port") == port and p.get("protocol", "TCP") == protocol for p in ports)


def _side_allows(policies: list[Doc], direction: str, subject: Peer, other: Peer, port: int, protocol: str) -> bool:
    kind, key, peers_key = ("Egress", "egress", "to") if direction == "egress" else ("Ingress", "ingress", "from")
    governing = [
        p for p in policies
        if p["metadata"]["namespace"] == subject.namespace
        and _matches(p["spec"]["podSelector"], subject.labels)
        and kind in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not governing:
        return True  # not isolated in this direction
    for policy in governing:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peers_key)
            if (not peers or any(_peer_matches(rp, policy["metadata"]["namespace"], other) for rp in peers)) and _port_matches(
                rule.get("ports"), port, protocol
            ):
                return True
    return False


def allowed(docs: Docs, source: Peer, target: Peer, port: int, protocol: str = "TCP") -> bool:
    policies = of_kind(docs, "NetworkPolicy")
    return _side_allows(policies, "egress", source, target, port, protocol) and _side_allows(
        policies, "ingress", target, source, port, protocol
    )
