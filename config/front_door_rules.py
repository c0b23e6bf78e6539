"""Cross-field and per-environment rules of `frontDoor` that one field cannot express.

`front_door_problems` takes plain values (the section, the environment, the stack's region)
so it can be registered next to the rules in config/rules.py without importing Settings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from config.errors import Problem
from config.front_door import FrontDoorConfig
from config.types import world_open

# What chart 1.19.0 gives the API server (Airflow 3) and the webserver (Airflow 2):
# no terminationGracePeriodSeconds on the api-server pod (the Kubernetes default), 30 s on the webserver.
API_TERMINATION_GRACE_SECONDS = 30
# A leaving API pod keeps serving this long (a preStop sleep) before it gets SIGTERM, while the load
# balancer controller deregisters its target and the load balancer stops sending it new requests.
API_DRAIN_SECONDS = 15


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _certificate(fd: FrontDoorConfig, region: str, key: str) -> list[Problem]:
    arn = fd.certificate_arn
    if arn is None:
        return []
    arn_partition, arn_region = arn.split(":")[1], arn.split(":")[3]
    if arn_region != region or arn_partition != _partition(region):
        return [
            Problem(
                f"{key}.certificateArn",
                f"must be an ACM certificate of the stack's region {region} (aws:region), such as "
                f"arn:{_partition(region)}:acm:{region}:111122223333:certificate/<certificate id>: "
                "a load balancer can only use certificates of its own region",
                arn,
            )
        ]
    return []


def _dns(fd: FrontDoorConfig, key: str) -> list[Problem]:
    if fd.hostname and not fd.hosted_zone_id:
        return [Problem(f"{key}.hostedZoneId", f"required with hostname {fd.hostname}: the zone that holds the record")]
    if fd.hosted_zone_id and not fd.hostname:
        return [Problem(f"{key}.hostname", f"required with hostedZoneId {fd.hosted_zone_id}: the name to publish")]
    return []


def _listener_choices(fd: FrontDoorConfig, key: str, termination_grace_seconds: int) -> list[Problem]:
    problems = []
    if fd.preserve_client_ip and fd.type == "alb":
        problems.append(
            Problem(
                f"{key}.preserveClientIp",
                "applies to type nlb only: an ALB always connects to the pods from its own addresses "
                "(the client's is in X-Forwarded-For)",
                True,
            )
        )
    if fd.access_logs.enabled and fd.type == "nlb" and not fd.tls:
        problems.append(
            Problem(
                f"{key}.accessLogs.enabled",
                "an NLB writes access logs for TLS listeners only: set certificateArn, or use type alb",
                True,
            )
        )
    if fd.tls and fd.port == 80 and fd.type == "alb":
        problems.append(
            Problem(f"{key}.port", "port 80 carries the ALB's HTTP-to-HTTPS redirect; use another, such as 443", 80)
        )
    if fd.deregistration_delay_seconds >= termination_grace_seconds:
        problems.append(
            Problem(
                f"{key}.deregistrationDelaySeconds",
                f"must be shorter than the API pods' termination grace period ({termination_grace_seconds} s) "
                "so connections drain before the pod stops, such as 20",
                fd.deregistration_delay_seconds,
            )
        )
    ipv6 = [c for c in fd.client_cidrs if ipaddress.ip_network(c, strict=False).version == 6]
    if ipv6 and fd.ip_address_type == "ipv4":
        problems.append(
            Problem(
                f"{key}.clientCidrs",
                "IPv6 blocks need ipAddressType dualstack (an ipv4 load balancer has no IPv6 address)",
                ipv6,
            )
        )
    return problems


def _exposure(fd: FrontDoorConfig, key: str, auth_type: str) -> list[Problem]:
    """What an internet-facing load balancer must not carry: clear text, or password login open to everyone."""
    if not fd.internet_facing:
        return []
    problems = []
    if not fd.tls:
        problems.append(
            Problem(
                f"{key}.certificateArn",
                "required with internetFacing true: without TLS, passwords, session cookies and API tokens cross "
                "the internet in clear; give an ACM certificate ARN of the stack's region",
            )
        )
    everything = world_open(fd.client_cidrs)
    if everything and auth_type == "password":
        problems.append(
            Problem(
                f"{key}.clientCidrs",
                f"an internet-facing front door open to the whole internet ({everything}) offers Airflow's "
                "password login to everyone; list the client ranges, such as 203.0.113.0/24, or use "
                "airflow.auth.type oidc",
                list(fd.client_cidrs),
            )
        )
    return problems


def _prod(fd: FrontDoorConfig, key: str, workload_subnet_ids: Sequence[str]) -> list[Problem]:
    problems = []
    if not fd.tls:
        problems.append(
            Problem(
                f"{key}.certificateArn",
                "prod requires TLS: an ACM certificate ARN such as "
                "arn:aws:acm:eu-west-1:111122223333:certificate/<certificate id>",
            )
        )
    if fd.internet_facing:
        problems.append(Problem(f"{key}.internetFacing", "prod requires false (an internal load balancer)", True))
    everything = world_open(fd.client_cidrs)
    if everything:
        problems.append(
            Problem(
                f"{key}.clientCidrs",
                f"prod must not admit the whole internet ({everything}, alone or together); "
                "list the corporate ranges, such as 10.60.0.0/16",
                list(fd.client_cidrs),
            )
        )
    if not fd.access_logs.enabled:
        problems.append(Problem(f"{key}.accessLogs.enabled", "prod requires true", False))
    if not fd.deletion_protection:
        problems.append(Problem(f"{key}.deletionProtection", "prod requires true", False))
    return problems + _own_subnets(fd, key, workload_subnet_ids)


def _own_subnets(fd: FrontDoorConfig, key: str, workload_subnet_ids: Sequence[str]) -> list[Problem]:
    """Prod's API server admits the load balancer by its subnets' CIDRs: those must hold nothing else."""
    why = (
        "the API server's network policy admits the load balancer by the CIDRs of its subnets, and with the "
        "VPC CNI every pod and node in a shared subnet has an address there"
    )
    if fd.subnet_ids is None:
        return [
            Problem(
                f"{key}.subnetIds",
                "prod requires subnets of the load balancer's own (two or more AZs, none of "
                f"network.privateSubnetIds or the cluster's node and pod subnets): {why}",
            )
        ]
    shared = sorted(set(fd.subnet_ids) & set(workload_subnet_ids))
    if shared:
        return [
            Problem(
                f"{key}.subnetIds",
                f"prod requires subnets disjoint from network.privateSubnetIds, which also has {', '.join(shared)}: "
                f"{why}",
                list(fd.subnet_ids),
            )
        ]
    return []


def front_door_problems(
    front_door: FrontDoorConfig,
    environment: str,
    region: str,
    *,
    termination_grace_seconds: int = API_TERMINATION_GRACE_SECONDS,
    workload_subnet_ids: Sequence[str] = (),
    auth_type: str = "password",
    key: str = "frontDoor",
) -> list[Problem]:
    """Every problem of the front-door section for one stack, in a stable order.

    ``workload_subnet_ids``: the subnets of the stack's pods and nodes (`network.privateSubnetIds`);
    ``auth_type``: how people log in to the UI behind it (`airflow.auth.type`).
    """
    problems = [
        *_certificate(front_door, region, key),
        *_dns(front_door, key),
        *_listener_choices(front_door, key, termination_grace_seconds),
    ]
    if environment == "prod":  # prod refuses an internet-facing front door outright
        problems += _prod(front_door, key, workload_subnet_ids)
    else:
        problems += _exposure(front_door, key, auth_type)
    return problems
