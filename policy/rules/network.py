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

from .common import Deferred, as_list, is_prod, of_types, referenced, world_open

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_COMPONENT = "eks:index:Cluster"  # pulumi-eks: endpointPublicAccess defaults to true, publicAccessCidrs to everyone
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
ALLOW_INTERNET_FACING = "allowInternetFacing"
TLS13_EXAMPLE = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
# The exact families allowed: TLS 1.3 policies whose minimum is TLS 1.2 or 1.3 (TLS13-1-0 / TLS13-1-1
# still accept TLS 1.0 / 1.1). The program's own list: config/types.py ELB_TLS13_POLICY_PREFIXES.
TLS_POLICY_PREFIXES = ("ELBSecurityPolicy-TLS13-1-2-", "ELBSecurityPolicy-TLS13-1-3-")


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


def _cidrs(*values: object) -> list[str]:
    return [str(c) for value in values for c in as_list(value) if c]


def _ingress_entries(
    resources: list[PolicyResource], groups: list[PolicyResource], deferred: Deferred
) -> Iterator[OpenIngress]:
    """Every ingress entry with its CIDRs joined by spaces (not yet judged open or not)."""
    for rule in of_types(resources, [INGRESS_RULE]):
        with deferred.check():
            p = rule.props
            cidrs = _cidrs(p.get("cidrIpv4"), p.get("cidrIpv6"))
            group = next(iter(referenced(rule, "securityGroupId", groups)), None) if cidrs else None
            yield OpenIngress(
                rule, group, " ".join(cidrs), str(p.get("ipProtocol")), _port(p.get("fromPort")), _port(p.get("toPort"))
            )
    for rule in of_types(resources, [SECURITY_GROUP_RULE]):
        with deferred.check():
            p = rule.props
            if p.get("type") != "ingress":
                continue
            cidrs = _cidrs(p.get("cidrBlocks"), p.get("ipv6CidrBlocks"))
            group = next(iter(referenced(rule, "securityGroupId", groups)), None) if cidrs else None
            yield OpenIngress(
                rule, group, " ".join(cidrs), str(p.get("protocol")), _port(p.get("fromPort")), _port(p.get("toPort"))
            )
    for group in groups:
        with deferred.check():
            for entry in group.props.get("ingress") or []:
                cidrs = _cidrs(entry.get("cidrBlocks"), entry.get("ipv6CidrBlocks"))
                yield OpenIngress(
                    group,
                    group,
                    " ".join(cidrs),
                    str(entry.get("protocol")),
                    _port(entry.get("fromPort")),
                    _port(entry.get("toPort")),
                )


def _open_ingress(
    resources: list[PolicyResource], groups: list[PolicyResource], deferred: Deferred
) -> Iterator[OpenIngress]:
    """Entries whose CIDRs, together with the other entries of the same group and ports, admit everyone.

    0.0.0.0/0 alone, or 0.0.0.0/1 + 128.0.0.0/1 split over one list or several rules.
    """
    buckets: dict[tuple[str, str, int | None, int | None], list[OpenIngress]] = {}
    for entry in _ingress_entries(resources, groups, deferred):
        if entry.cidr:
            owner = entry.group.urn if entry.group is not None else entry.declared_by.urn
            buckets.setdefault((owner, entry.protocol, entry.from_port, entry.to_port), []).append(entry)
    for entries in buckets.values():
        cidrs = [c for entry in entries for c in entry.cidr.split()]
        everything = world_open(cidrs)
        if everything is None:
            continue
        together = everything if everything in cidrs else f"{' + '.join(cidrs)} (together {everything})"
        for entry in entries:
            yield OpenIngress(entry.declared_by, entry.group, together, entry.protocol, entry.from_port, entry.to_port)


def _in_prod(ingress: OpenIngress, stack_tags: Mapping[str, str]) -> bool:
    """Prod when the rule, its group or the stack says so."""
    if is_prod(ingress.declared_by.props, stack_tags):
        return True
    return ingress.group is not None and is_prod(ingress.group.props, stack_tags)


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
        for ingress in _open_ingress(args.resources, groups, deferred):
            where = ingress.declared_by.name
            with deferred.check():
                if _in_prod(ingress, args.stack_tags):
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
    if args.resource_type not in LISTENERS or not is_prod(args.props, args.stack_tags):
        return
    protocol = str(args.props.get("protocol") or "").upper()
    if protocol in ("HTTPS", "TLS"):
        ssl_policy = str(args.props.get("sslPolicy") or "")
        if not ssl_policy.startswith(TLS_POLICY_PREFIXES):
            report(
                f"Listener {args.name} (prod): set ssl_policy to a TLS 1.3 policy whose minimum is TLS 1.2 or 1.3, "
                f"named {' or '.join(p + '...' for p in TLS_POLICY_PREFIXES)}, such as {TLS13_EXAMPLE} "
                f"(given {ssl_policy or 'the provider default'})."
            )
    elif not (protocol == "HTTP" and _redirects_to_https(args.props)):
        report(
            f"Listener {args.name} (prod): use protocol HTTPS (ALB) or TLS (NLB) with a TLS 1.3 ssl_policy such as "
            f"{TLS13_EXAMPLE}; plain HTTP only for a redirect to HTTPS (given {protocol or 'no protocol'})."
        )


def _eks_endpoint_not_world_open(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The API endpoint is private, or public for listed ranges that do not add up to everyone."""
    if args.resource_type == EKS_COMPONENT:
        settings = args.props
    elif args.resource_type == EKS_CLUSTER:
        settings = args.props.get("vpcConfig") or {}
    else:
        return
    if settings.get("endpointPublicAccess") is False:
        return
    cidrs = [str(c) for c in as_list(settings.get("publicAccessCidrs"))]
    everything = world_open(cidrs) if cidrs else "0.0.0.0/0 (the default when no range is listed)"
    if everything:
        report(
            f"EKS cluster {args.name}: the public API endpoint admits {everything}; set endpointPublicAccess=False "
            "(private endpoint, reached from the VPC) or list the runner's and operators' ranges in "
            f"publicAccessCidrs (given {cidrs or 'none'})."
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
        name="eks-endpoint-not-world-open",
        description="An EKS API endpoint is private or public only to listed ranges that do not cover the internet.",
        validate=_eks_endpoint_not_world_open,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="lb-prod-tls-listeners",
        description="Prod load balancer listeners use TLS with a TLS 1.3 security policy.",
        validate=_prod_tls_listeners,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
