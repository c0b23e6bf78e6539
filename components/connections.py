"""Network intents on a security group: `connections.allow_from(peer, port)` (CDK's Connections idea)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def cidr_label(cidr: str) -> str:
    """A resource-name-safe spelling of a CIDR: `10.0.0.0/16` -> `10.0.0.0-16`, `2001:db8::/32` -> `2001.db8..-32`."""
    return cidr.replace(":", ".").replace("/", "-")


class Connections:
    """Who may reach the resources behind one security group, and on which TCP port.

    Owned by a component (the database, the cluster's workloads, a load balancer); each
    `allow_from` adds one ingress rule to that group, registered under the owner.
    """

    def __init__(
        self,
        owner: pulumi.Resource,
        name: str,
        security_group_id: pulumi.Input[str],
        tags: Mapping[str, str] | None = None,
        protection: pulumi.ResourceOptions | None = None,
    ):
        self._owner = owner
        self._name = name
        self.security_group_id = pulumi.Output.from_input(security_group_id)
        self._tags = dict(tags or {})
        self._protection = protection

    def allow_from(
        self, rule_name: str, peer_security_group_id: pulumi.Input[str], port: int, description: str
    ) -> aws.vpc.SecurityGroupIngressRule:
        """Admit TCP ``port`` from members of ``peer_security_group_id`` (never a CIDR)."""
        return self._rule(rule_name, port, description, referenced_security_group_id=peer_security_group_id)

    def allow_from_cidrs(
        self, rule_name: str, cidrs: list[str], port: int, description: str
    ) -> list[aws.vpc.SecurityGroupIngressRule]:
        """Admit TCP ``port`` from each CIDR (IPv4 or IPv6): for clients outside AWS security groups.

        Each rule is named after its CIDR, not its position: removing or reordering CIDRs then only
        creates and deletes rules, never rewrites one into a duplicate of another (which AWS refuses).
        """
        return [
            self._rule(
                f"{rule_name}-{cidr_label(cidr)}",
                port,
                description,
                **{"cidr_ipv6" if ":" in cidr else "cidr_ipv4": cidr},
            )
            for cidr in cidrs
        ]

    def _rule(
        self, rule_name: str, port: int, description: str, **peer: pulumi.Input[str]
    ) -> aws.vpc.SecurityGroupIngressRule:
        return aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-{rule_name}",
            security_group_id=self.security_group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=description,
            tags=self._tags or None,
            opts=pulumi.ResourceOptions.merge(self._protection, pulumi.ResourceOptions(parent=self._owner)),
            **peer,
        )
