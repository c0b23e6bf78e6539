"""Kubernetes admission semantics the rendered-manifest tests need: label selectors, NetworkPolicy ingress and
egress."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a label selector matches (an empty selector matches everything)."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


@dataclass(frozen=True)
class Pod:
    """A pod as a NetworkPolicy sees it: namespace, labels, the namespace's labels, named ports, its IP.

    No namespace: an address outside the cluster's pods (a node, a load balancer, the instance metadata
    service), which only an ipBlock can match."""

    namespace: str
    labels: Mapping[str, str]
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)
    ip: str | None = None


def _peer_matches(peer: Mapping[str, Any], policy_namespace: str, source: Pod) -> bool:
    if "ipBlock" in peer:
        if source.ip is None:
            return False
        address = ipaddress.ip_address(source.ip)
        block = peer["ipBlock"]
        inside = address in ipaddress.ip_network(block["cidr"])
        network = ipaddress.ip_network(block["cidr"])
        if address.version != network.version:
            return False
        inside = address in network
        return inside and not any(address in ipaddress.ip_network(e) for e in block.get("except") or [])
    if not source.namespace:
        return False
    if "namespaceSelector" in peer:
        namespace_ok = selects(peer["namespaceSelector"], source.namespace_labels)
    else:
        namespace_ok = source.namespace == policy_namespace
    return namespace_ok and selects(peer.get("podSelector"), source.labels)


def _port_matches(entry: Mapping[str, Any], target: Pod, port: int, protocol: str) -> bool:
    if entry.get("protocol", "TCP") != protocol:
        return False
    wanted = entry.get("port")
    if wanted is None:
        return True
    number = target.ports.get(wanted) if isinstance(wanted, str) else int(wanted)
    end = entry.get("endPort", number)
    return number is not None and number <= port <= end


def _policy_types(spec: Mapping[str, Any]) -> list[str]:
    """`policyTypes` as the API server defaults it: Ingress, plus Egress when the spec has egress rules."""
    return spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]


def _allowed(
    policies: Iterable[Mapping[str, Any]], direction: str, isolated: Pod, peer: Pod, port: int, protocol: str
) -> bool:
    """Whether the policies selecting `isolated` for `direction` (Ingress/Egress) admit `peer` on `port`."""
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    target = isolated if direction == "Ingress" else peer  # the pod whose named ports the rules may use
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace", isolated.namespace) == isolated.namespace
        and selects(p["spec"].get("podSelector"), isolated.labels)
        and direction in _policy_types(p["spec"])
    ]
    if not selecting:
        return True  # no policy isolates the pod in this direction: everything may connect
    for policy in selecting:
        namespace = policy["metadata"].get("namespace", isolated.namespace)
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            ports = rule.get("ports")
            peer_ok = not peers or any(_peer_matches(entry, namespace, peer) for entry in peers)
            port_ok = not ports or any(_port_matches(entry, target, port, protocol) for entry in ports)
            if peer_ok and port_ok:
                return True
    return False


def ingress_allowed(
    policies: Iterable[Mapping[str, Any]], target: Pod, source: Pod, port: int, protocol: str = "TCP"
) -> bool:
    """Whether `source` may open `port` on `target`, given every NetworkPolicy of the cluster."""
    return _allowed(policies, "Ingress", target, source, port, protocol)


def egress_allowed(
    policies: Iterable[Mapping[str, Any]], source: Pod, destination: Pod, port: int, protocol: str = "TCP"
) -> bool:
    """Whether `source` may open `port` on `destination` as far as the source's egress policies go."""
    return _allowed(policies, "Egress", source, destination, port, protocol)
