"""EC2 ingress and load balancers: nothing open to the internet in prod; elsewhere only a load
balancer's listener ports; load balancers internal unless allowed; TLS 1.3 listeners in prod."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import ENVIRONMENT_TAG, Deferred, as_list, is_prod, of_types, referenced

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
ALLOW_INTERNET_FACING = "allowInternetFacing"
TLS13_EXAMPLE = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"


@dataclass(frozen=True)
class OpenIngress:
    """One ingress entry open to the whole internet."""

    declared_by: PolicyResource
    group: PolicyResource | None
    cidr: str
    protocol: str
    from_port: int | None
    to_port: int | None

    @property
    def ports(self) -> str:
        if self.protocol in ("-1", "all") or self.from_port is None:
            return "all ports"
        return str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"


def _port(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _open(cidrs: list[object]) -> list[str]:
    return [str(c) for c in cidrs if str(c) in OPEN_CIDRS]


def _open_ingress(resources: list[PolicyResource], groups: list[PolicyResource]) -> Iterator[OpenIngress]:
    for rule in of_types(resources, [INGRESS_RULE]):
        p = rule.props
        for cidr in _open([p.get("cidrIpv4"), p.get("cidrIpv6")]):
            group = next(iter(referenced(rule, "securityGroupId", groups)), None)
            protocol = str(p.get("ipProtocol"))
            yield OpenIngress(rule, group, cidr, protocol, _port(p.get("fromPort")), _port(p.get("toPort")))
    for rule in of_types(resources, [SECURITY_GROUP_RULE]):
        p = rule.props
        if p.get("type") != "ingress":
            continue
        for cidr in _open(as_list(p.get("cidrBlocks")) + as_list(p.get("ipv6CidrBlocks"))):
            group = next(iter(referenced(rule, "securityGroupId", groups)), None)
            protocol = str(p.get("protocol"))
            yield OpenIngress(rule, group, cidr, protocol, _port(p.get("fromPort")), _port(p.get("toPort")))
    for group in groups:
        for entry in group.props.get("ingress") or []:
            for cidr in _open(as_list(entry.get("cidrBlocks")) + as_list(entry.get("ipv6CidrBlocks"))):
                protocol = str(entry.get("protocol"))
                yield OpenIngress(
                    group, group, cidr, protocol, _port(entry.get("fromPort")), _port(entry.get("toPort"))
                )


def _in_prod(ingress: OpenIngress) -> bool:
    tags = ingress.declared_by.props.get("tags")
    if (isinstance(tags, Mapping) and tags.get(ENVIRONMENT_TAG)) or ingress.group is None:
        return is_prod(ingress.declared_by.props)
    return is_prod(ingress.group.props)


def _listener_ports(group: PolicyResource | None, resources: list[PolicyResource]) -> set[int]:
    if group is None:
        return set()
    balancers = [lb for lb in of_types(resources, LOAD_BALANCERS) if referenced(lb, "securityGroups", [group])]
    if not balancers:
        return set()
    listeners = [li for li in of_types(resources, LISTENERS) if referenced(li, "loadBalancerArn", balancers)]
    return {port for port in (_port(li.props.get("port")) for li in listeners) if port is not None}


def _only_listener_ports(ingress: OpenIngress, ports: set[int]) -> bool:
    if ingress.protocol in ("-1", "all") or ingress.from_port is None or ingress.to_port is None:
        return False
    count = ingress.to_port - ingress.from_port + 1
    return 0 < count <= len(ports) and all(p in ports for p in range(ingress.from_port, ingress.to_port + 1))


def _no_open_ingress(args: StackValidationArgs, report: ReportViolation) -> None:
    groups = of_types(args.resources, [SECURITY_GROUP])
    deferred = Deferred()
    with deferred.check():
        for ingress in _open_ingress(args.resources, groups):
            where = ingress.declared_by.name
            with deferred.check():
                if _in_prod(ingress):
                    report(
                        f"{where} (prod): remove the ingress from {ingress.cidr} ({ingress.ports}); admit the load "
                        "balancer's security group or known CIDRs instead.",
                        ingress.declared_by.urn,
                    )
                    continue
                ports = _listener_ports(ingress.group, args.resources)
                if not _only_listener_ports(ingress, ports):
                    listed = ", ".join(map(str, sorted(ports))) or "none: the group is on no load balancer"
                    report(
                        f"{where}: ingress from {ingress.cidr} ({ingress.ports}) is allowed outside prod only on a "
                        f"load balancer's security group and its listener ports ({listed}); narrow the CIDR or the "
                        "ports.",
                        ingress.declared_by.urn,
                    )
    deferred.finish()


def _internal(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LOAD_BALANCERS or args.props.get("internal") is True:
        return
    if args.get_config().get(ALLOW_INTERNET_FACING) is True:
        return
    report(
        f"Load balancer {args.name}: set internal=True. To allow an internet-facing one in this stack, set "
        f'"lb-internal": {{"{ALLOW_INTERNET_FACING}": true}} in the stack\'s policy config (policy/config/<stack>.json).'
    )


def _redirects_to_https(props: Mapping[str, object]) -> bool:
    actions = as_list(props.get("defaultActions"))
    return bool(actions) and all(
        isinstance(a, Mapping)
        and a.get("type") == "redirect"
        and str((a.get("redirect") or {}).get("protocol", "")).upper() == "HTTPS"
        for a in actions
    )


def _prod_tls_listeners(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LISTENERS or not is_prod(args.props):
        return
    protocol = str(args.props.get("protocol") or "").upper()
    if protocol in ("HTTPS", "TLS"):
        ssl_policy = str(args.props.get("sslPolicy") or "")
        if "TLS13" not in ssl_policy:
            report(
                f"Listener {args.name} (prod): set ssl_policy to a TLS 1.3 policy such as {TLS13_EXAMPLE} "
                f"(given {ssl_policy or 'the provider default'})."
            )
    elif not (protocol == "HTTP" and _redirects_to_https(args.props)):
        report(
            f"Listener {args.name} (prod): use protocol HTTPS (ALB) or TLS (NLB) with a TLS 1.3 ssl_policy such as "
            f"{TLS13_EXAMPLE}; plain HTTP only for a redirect to HTTPS (given {protocol or 'no protocol'})."
        )


POLICIES = [
    StackValidationPolicy(
        name="ec2-no-open-ingress",
        description="No ingress from 0.0.0.0/0 or ::/0 in prod; elsewhere only to a load balancer's listener ports.",
        validate=_no_open_ingress,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="lb-internal",
        description="Load balancers are internal unless the stack's policy config allows internet-facing ones.",
        validate=_internal,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(properties={ALLOW_INTERNET_FACING: {"type": "boolean", "default": False}}),
    ),
    ResourceValidationPolicy(
        name="lb-prod-tls-listeners",
        description="Prod load balancer listeners use TLS with a TLS 1.3 security policy.",
        validate=_prod_tls_listeners,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
