"""The VPC and the private subnets: they exist, belong together, have no route to an internet gateway, span 2 AZs."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from preflight.context import Context
from preflight.result import Check, failed, not_found, passed


def _route_tables(ec2: Any, vpc_id: str) -> list[dict[str, Any]]:
    return ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]


def _table_of(subnet_id: str, tables: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The subnet's route table: its explicit association, else the VPC's main table."""
    for table in tables:
        if any(a.get("SubnetId") == subnet_id for a in table.get("Associations", [])):
            return table
    return next((t for t in tables if any(a.get("Main") for a in t.get("Associations", []))), None)


def _public(table: dict[str, Any] | None) -> bool:
    routes = table.get("Routes", []) if table else []
    return any(str(route.get("GatewayId", "")).startswith("igw-") for route in routes)


def check_network(ctx: Context) -> list[Check]:
    """VPC exists; every private subnet exists in it, is private, and together they span at least 2 AZs."""
    ec2 = ctx.client("ec2")
    vpc_id = ctx.settings.network.vpc_id
    subnet_ids = list(ctx.settings.network.private_subnet_ids)
    try:
        ec2.describe_vpcs(VpcIds=[vpc_id])
    except ClientError as error:
        if not not_found(error):
            raise
        return [
            failed(f"VPC {vpc_id} exists in {ctx.settings.aws_region}", "set network.vpcId to a VPC of this region")
        ]
    checks = [passed(f"VPC {vpc_id} exists in {ctx.settings.aws_region}")]
    try:
        subnets = ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    except ClientError as error:
        if not not_found(error):
            raise
        found = {
            s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        }
        missing = ", ".join(s for s in subnet_ids if s not in found)
        return [
            *checks,
            failed(
                f"private subnets exist (missing: {missing})", "list subnets of the VPC in network.privateSubnetIds"
            ),
        ]
    outside = [s["SubnetId"] for s in subnets if s["VpcId"] != vpc_id]
    checks.append(
        failed(f"subnets {', '.join(outside)} are in VPC {vpc_id}", "list only subnets of network.vpcId")
        if outside
        else passed(f"{len(subnets)} subnets exist in VPC {vpc_id}")
    )
    tables = _route_tables(ec2, vpc_id)
    public = [
        s["SubnetId"] for s in subnets if s.get("MapPublicIpOnLaunch") or _public(_table_of(s["SubnetId"], tables))
    ]
    checks.append(
        failed(
            f"subnets are private (public: {', '.join(public)})",
            "use subnets whose route table has no internet-gateway route (egress through a NAT gateway)",
        )
        if public
        else passed("subnets are private (no route to an internet gateway)")
    )
    zones = sorted({s["AvailabilityZone"] for s in subnets})
    checks.append(
        passed(f"subnets span {len(zones)} AZs ({', '.join(zones)})")
        if len(zones) >= 2
        else failed(
            f"subnets span 2 AZs (only {', '.join(zones)})",
            "add a private subnet of a second AZ (RDS and EKS need two)",
        )
    )
    return checks
