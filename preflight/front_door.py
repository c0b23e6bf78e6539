"""The certificate (ISSUED, in the region, covering the hostname) and the hosted zone that holds the hostname."""

from __future__ import annotations

from botocore.exceptions import ClientError

from preflight.context import Context
from preflight.result import Check, failed, not_found, passed


def covers(names: list[str], hostname: str) -> bool:
    """Whether one of a certificate's names matches the hostname (a wildcard covers exactly one label)."""
    host = hostname.lower().rstrip(".")
    for name in (n.lower().rstrip(".") for n in names):
        if name == host or (name.startswith("*.") and host.split(".", 1)[-1] == name[2:] and "." in host):
            return True
    return False


def check_certificate(ctx: Context) -> list[Check]:
    door = ctx.settings.front_door
    arn = door.certificate_arn
    if not arn:
        return []
    region = arn.split(":")[3]
    if region != ctx.settings.aws_region:
        return [
            failed(
                f"certificate is in {ctx.settings.aws_region} (it is in {region})",
                "request or import it in the stack's region",
            )
        ]
    acm = ctx.client("acm")
    try:
        certificate = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    except ClientError as error:
        if not not_found(error):
            raise
        return [
            failed(
                f"certificate {arn} exists",
                "request one in ACM (aws acm request-certificate) and set frontDoor.certificateArn",
            )
        ]
    status = certificate.get("Status")
    checks = [
        passed(f"certificate for {certificate.get('DomainName')} is ISSUED in {region}")
        if status == "ISSUED"
        else failed(f"certificate is ISSUED (it is {status})", "complete its DNS validation in ACM")
    ]
    if door.hostname:
        names = [certificate.get("DomainName", ""), *certificate.get("SubjectAlternativeNames", [])]
        checks.append(
            passed(f"certificate covers {door.hostname}")
            if covers(names, door.hostname)
            else failed(
                f"certificate covers {door.hostname} (it names {', '.join(sorted(set(names)))})",
                "use a certificate for the hostname",
            )
        )
    return checks


def check_hosted_zone(ctx: Context) -> list[Check]:
    door = ctx.settings.front_door
    if not door.hosted_zone_id or not door.hostname:
        return []
    route53 = ctx.client("route53")
    try:
        zone = route53.get_hosted_zone(Id=door.hosted_zone_id)["HostedZone"]
    except ClientError as error:
        if not not_found(error):
            raise
        return [
            failed(f"hosted zone {door.hosted_zone_id} exists", "set frontDoor.hostedZoneId to a zone of this account")
        ]
    domain = zone["Name"].rstrip(".").lower()
    host = door.hostname.lower().rstrip(".")
    if host == domain or host.endswith("." + domain):
        return [passed(f"hosted zone {domain} holds {door.hostname}")]
    return [
        failed(
            f"hosted zone {door.hosted_zone_id} holds {door.hostname} (it is {domain})",
            "set frontDoor.hostedZoneId to the zone of the hostname's domain",
        )
    ]


def check_front_door_subnets(ctx: Context) -> list[Check]:
    """The load balancer's own subnets (`frontDoor.subnetIds`): they exist in the VPC, span 2 AZs, and share none
    with the cluster (the API server admits the load balancer by their CIDRs, which would admit those pods too)."""
    subnet_ids = ctx.settings.front_door.subnet_ids
    if not subnet_ids:
        return []
    ec2, vpc_id = ctx.client("ec2"), ctx.settings.network.vpc_id
    found = {
        s["SubnetId"]: s for s in ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": subnet_ids}])["Subnets"]
    }
    missing = [s for s in subnet_ids if s not in found]
    if missing:
        return [failed(f"frontDoor.subnetIds exist (missing: {', '.join(missing)})", "list subnets of network.vpcId")]
    outside = [s for s in subnet_ids if found[s]["VpcId"] != vpc_id]
    if outside:
        return [
            failed(
                f"frontDoor.subnetIds are in VPC {vpc_id} ({', '.join(outside)} are not)",
                "list subnets of network.vpcId",
            )
        ]
    zones = sorted({found[s]["AvailabilityZone"] for s in subnet_ids})
    checks = [
        passed(f"frontDoor.subnetIds span {len(zones)} AZs ({', '.join(zones)})")
        if len(zones) >= 2
        else failed(
            f"frontDoor.subnetIds span 2 AZs (only {', '.join(zones)})", "add a subnet of a second AZ (ELB needs two)"
        )
    ]
    cluster = ctx.cluster if ctx.settings.cluster.mode == "existing" else None
    workload = set(ctx.settings.network.private_subnet_ids)
    workload |= set((cluster or {}).get("resourcesVpcConfig", {}).get("subnetIds", []))
    shared = sorted(workload & set(subnet_ids))
    checks.append(
        failed(
            f"frontDoor.subnetIds share no subnet with the cluster (shared: {', '.join(shared)})",
            "give the load balancer subnets of its own, with no nodes or pods",
        )
        if shared
        else passed("frontDoor.subnetIds share no subnet with the cluster or network.privateSubnetIds")
    )
    return checks
