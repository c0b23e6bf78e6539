"""A fake AWS account for Pulumi's mock engine: realistic, deterministic outputs.

Every id, ARN and endpoint is derived from resource names with a hash, so two runs of
the same config produce byte-identical state.
"""

from __future__ import annotations

import base64
import hashlib
import json
import string
from dataclasses import dataclass, field
from typing import Any

import pulumi

ACCOUNT_ID = "111122223333"
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def digest(seed: str, length: int, upper: bool = False) -> str:
    """Deterministic hex derived from ``seed``."""
    text = hashlib.sha256(seed.encode()).hexdigest()
    while len(text) < length:
        text += hashlib.sha256(text.encode()).hexdigest()
    return text[:length].upper() if upper else text[:length]


@dataclass
class FakeCluster:
    """An EKS cluster that already exists in the fake account."""

    name: str
    vpc_id: str
    subnet_ids: list[str] = field(default_factory=list)
    version: str = "1.34"


class OfflineCloud(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes the way AWS and the providers would."""

    def __init__(self, region: str, clusters: list[FakeCluster] | None = None):
        self.region = region
        self.clusters = {c.name: c for c in clusters or []}
        # AWS providers for other regions (a DR region): provider id -> the account seen from that region.
        self._regions: dict[str, OfflineCloud] = {}

    # -- resources -------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        state = dict(args.inputs)
        if args.typ == "pulumi:providers:aws":
            provider_id = f"{args.name}-{digest(args.name, 8)}"
            region = str(state.get("region") or self.region)
            self._regions[provider_id] = OfflineCloud(region, list(self.clusters.values()))
            return provider_id, state
        # A resource managed through another region's provider gets that region's ARNs and endpoints.
        cloud = self._regions.get(str(args.provider or "").rsplit("::", 1)[-1], self)
        handler = getattr(cloud, "_" + _handler_name(args.typ), None)
        resource_id = handler(args.name, state) if handler else f"{args.name}-{digest(args.name, 8)}"
        return resource_id, state

    def _aws_iam_role(self, name: str, state: dict) -> str:
        state.setdefault("name", _autoname(name))
        state["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:role{state.get('path', '/')}{state['name']}"
        state["uniqueId"] = "AROA" + digest(name, 17, upper=True)
        return state["name"]

    def _aws_iam_role_policy(self, name: str, state: dict) -> str:
        state.setdefault("name", _autoname(name))
        return f"{state.get('role')}:{state['name']}"

    def _aws_iam_open_id_connect_provider(self, name: str, state: dict) -> str:
        host = str(state["url"]).removeprefix("https://")
        state["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}"
        return state["arn"]

    def _aws_s3_bucket(self, name: str, state: dict) -> str:
        bucket = state.setdefault("bucket", _autoname(name))
        state["arn"] = f"arn:aws:s3:::{bucket}"
        state["bucketDomainName"] = f"{bucket}.s3.amazonaws.com"
        state["bucketRegionalDomainName"] = f"{bucket}.s3.{self.region}.amazonaws.com"
        state["region"] = self.region
        return bucket

    def _aws_rds_subnet_group(self, name: str, state: dict) -> str:
        state.setdefault("name", _autoname(name))
        state["arn"] = f"arn:aws:rds:{self.region}:{ACCOUNT_ID}:subgrp:{state['name']}"
        return state["name"]

    def _aws_rds_parameter_group(self, name: str, state: dict) -> str:
        state.setdefault("name", _autoname(name))
        state["arn"] = f"arn:aws:rds:{self.region}:{ACCOUNT_ID}:pg:{state['name']}"
        return state["name"]

    def _aws_rds_instance(self, name: str, state: dict) -> str:
        identifier = state.setdefault("identifier", _autoname(name))
        address = f"{identifier}.c{digest('account', 11)}.{self.region}.rds.amazonaws.com"
        port = int(state.get("port") or 5432)
        resource_id = "db-" + digest(identifier, 26, upper=True)
        state.update(
            address=address,
            endpoint=f"{address}:{port}",
            port=port,
            arn=f"arn:aws:rds:{self.region}:{ACCOUNT_ID}:db:{identifier}",
            resourceId=resource_id,
            engineVersionActual=_actual_version(str(state.get("engineVersion", "17"))),
            status="available",
        )
        return resource_id

    def _aws_ec2_security_group(self, name: str, state: dict) -> str:
        group_id = "sg-" + digest(name, 17)
        state["arn"] = f"arn:aws:ec2:{self.region}:{ACCOUNT_ID}:security-group/{group_id}"
        state.setdefault("name", _autoname(name))
        return group_id

    def _aws_vpc_security_group_ingress_rule(self, name: str, state: dict) -> str:
        rule_id = "sgr-" + digest(name, 17)
        state["arn"] = f"arn:aws:ec2:{self.region}:{ACCOUNT_ID}:security-group-rule/{rule_id}"
        return rule_id

    def _aws_vpc_security_group_egress_rule(self, name: str, state: dict) -> str:
        rule_id = "sgr-" + digest("egress" + name, 17)
        state["arn"] = f"arn:aws:ec2:{self.region}:{ACCOUNT_ID}:security-group-rule/{rule_id}"
        return rule_id

    def _aws_lb_load_balancer(self, name: str, state: dict) -> str:
        lb_name = state.setdefault("name", _autoname(name)[:32])
        kind = "net" if state.get("loadBalancerType") == "network" else "app"
        lb_id = digest("lb" + lb_name, 16)
        suffix = f"{kind}/{lb_name}/{lb_id}"
        if kind == "net":
            dns = f"{lb_name}-{lb_id}.elb.{self.region}.amazonaws.com"
        else:
            internal = "internal-" if state.get("internal", True) else ""
            dns = f"{internal}{lb_name}-{int(digest('dns' + lb_name, 8), 16)}.{self.region}.elb.amazonaws.com"
        state.update(
            arn=f"arn:aws:elasticloadbalancing:{self.region}:{ACCOUNT_ID}:loadbalancer/{suffix}",
            arnSuffix=suffix,
            dnsName=dns,
            zoneId="Z" + digest(f"elb-zone-{kind}-{self.region}", 13, upper=True),
        )
        return state["arn"]

    def _aws_lb_target_group(self, name: str, state: dict) -> str:
        group_name = state.setdefault("name", _autoname(name)[:32])
        suffix = f"targetgroup/{group_name}/{digest('tg' + group_name, 16)}"
        state.update(arn=f"arn:aws:elasticloadbalancing:{self.region}:{ACCOUNT_ID}:{suffix}", arnSuffix=suffix)
        return state["arn"]

    def _aws_lb_listener(self, name: str, state: dict) -> str:
        balancer = str(state.get("loadBalancerArn") or f"arn:aws:elasticloadbalancing:{self.region}:{ACCOUNT_ID}:")
        state["arn"] = f"{balancer.replace(':loadbalancer/', ':listener/')}/{digest('listener' + name, 16)}"
        return state["arn"]

    def _aws_route53_record(self, name: str, state: dict) -> str:
        state["fqdn"] = state.get("name", name)
        return f"{state.get('zoneId')}_{state['fqdn']}_{state.get('type')}"

    def _aws_cloudwatch_metric_alarm(self, name: str, state: dict) -> str:
        state.setdefault("name", _autoname(name))
        state["arn"] = f"arn:aws:cloudwatch:{self.region}:{ACCOUNT_ID}:alarm:{state['name']}"
        return state["name"]

    def _aws_cloudwatch_log_group(self, name: str, state: dict) -> str:
        group = state.setdefault("name", _autoname(name))
        # As the provider reports it: without the `:*` that DescribeLogGroups appends.
        state["arn"] = f"arn:aws:logs:{self.region}:{ACCOUNT_ID}:log-group:{group}"
        return group

    def _aws_cloudwatch_log_metric_filter(self, name: str, state: dict) -> str:
        return str(state.setdefault("name", _autoname(name)))

    def _aws_rds_instance_automated_backups_replication(self, name: str, state: dict) -> str:
        # The replicated backups' ARN, in the destination region (this provider's).
        return f"arn:aws:rds:{self.region}:{ACCOUNT_ID}:auto-backup:ab-{digest(name, 26)}"

    def _random_index_random_password(self, name: str, state: dict) -> str:
        length = int(state.get("length", 32))
        seed = digest("password:" + name, 2 * length)
        state["result"] = "".join(_PASSWORD_ALPHABET[int(seed[2 * i : 2 * i + 2], 16) % 62] for i in range(length))
        return "none"

    def _random_index_random_bytes(self, name: str, state: dict) -> str:
        raw = bytes.fromhex(digest("bytes:" + name, 2 * int(state.get("length", 32))))
        state["base64"] = base64.b64encode(raw).decode()
        state["hex"] = raw.hex()
        return "none"

    def _tls_index_private_key(self, name: str, state: dict) -> str:
        body = base64.b64encode(digest("key:" + name, 96).encode()).decode()
        state["privateKeyPem"] = f"-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----\n"
        state["publicKeyPem"] = f"-----BEGIN PUBLIC KEY-----\n{digest('pub:' + name, 64)}\n-----END PUBLIC KEY-----\n"
        return digest("key-id:" + name, 40)

    def _tls_index_self_signed_cert(self, name: str, state: dict) -> str:
        body = base64.b64encode(digest("cert:" + name, 96).encode()).decode()
        state["certPem"] = f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
        return str(int(digest("serial:" + name, 12), 16))

    def _eks_index_cluster(self, name: str, state: dict) -> str:
        cluster_name = state.get("name") or _autoname(name)
        issuer = f"oidc.eks.{self.region}.amazonaws.com/id/{digest(cluster_name, 32, upper=True)}"
        endpoint = f"https://{digest('api' + cluster_name, 32, upper=True)}.gr7.{self.region}.eks.amazonaws.com"
        state.update(
            oidcIssuer=issuer,
            oidcProviderUrl=f"https://{issuer}",
            oidcProviderArn=f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{issuer}",
            clusterSecurityGroupId="sg-" + digest("cluster-sg" + cluster_name, 17),
            nodeSecurityGroupId="sg-" + digest("node-sg" + cluster_name, 17),
            kubeconfigJson=_kubeconfig_json(cluster_name, endpoint),
        )
        return cluster_name

    # -- invokes ---------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:eks/getCluster:getCluster":
            return self.describe_cluster(args.args["name"])
        if args.token == "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
            url = args.args["url"]
            host = url.removeprefix("https://")
            return {
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}",
                "url": host,
                "clientIdLists": ["sts.amazonaws.com"],
            }
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline", "userId": "AIDAOFFLINE"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region}
        if args.token == "aws:ec2/getSubnet:getSubnet":
            return self.describe_subnet(args.args["id"])
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        raise NotImplementedError(f"the offline cloud has no answer for invoke {args.token}")

    def describe_subnet(self, subnet_id: str) -> dict[str, Any]:
        """What `aws.ec2.get_subnet` answers: a /24 of 10.0.0.0/8 derived from the subnet id (no IPv6 block)."""
        second, third = int(digest("subnet-b" + subnet_id, 2), 16), int(digest("subnet-c" + subnet_id, 2), 16)
        return {
            "id": subnet_id,
            "arn": f"arn:aws:ec2:{self.region}:{ACCOUNT_ID}:subnet/{subnet_id}",
            "cidrBlock": f"10.{second}.{third}.0/24",
            "ipv6CidrBlock": "",
            "ownerId": ACCOUNT_ID,
        }

    def describe_cluster(self, name: str) -> dict[str, Any]:
        """What `aws.eks.get_cluster` answers for a cluster of the fake account (raises when it does not exist)."""
        cluster = self.clusters.get(name)
        if cluster is None:
            raise LookupError(f"couldn't find resource: EKS cluster {name!r} not found")
        issuer = f"https://oidc.eks.{self.region}.amazonaws.com/id/{digest(name, 32, upper=True)}"
        return {
            "id": name,
            "name": name,
            "arn": f"arn:aws:eks:{self.region}:{ACCOUNT_ID}:cluster/{name}",
            "endpoint": f"https://{digest('api' + name, 32, upper=True)}.gr7.{self.region}.eks.amazonaws.com",
            "certificateAuthorities": [{"data": _fake_ca(name)}],
            "identities": [{"oidcs": [{"issuer": issuer}]}],
            "version": cluster.version,
            "status": "ACTIVE",
            "vpcConfig": {
                "vpcId": cluster.vpc_id,
                "subnetIds": cluster.subnet_ids,
                "clusterSecurityGroupId": "sg-" + digest("cluster-sg" + name, 17),
                "securityGroupIds": [],
                "endpointPrivateAccess": True,
                "endpointPublicAccess": False,
                "publicAccessCidrs": [],
            },
        }


def _handler_name(resource_type: str) -> str:
    """`aws:iam/rolePolicy:RolePolicy` -> `aws_iam_role_policy`."""
    package, _, rest = resource_type.partition(":")
    module, _, kind = rest.partition(":")
    module = module.split("/")[0].replace(".", "_")
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in kind).lstrip("_")
    return f"{package}_{module}_{snake}"


def _autoname(name: str) -> str:
    """What the engine's auto-naming would add: a suffix, here derived, not random."""
    return f"{name}-{digest(name, 7)}"


def _actual_version(requested: str) -> str:
    return requested if "." in requested else f"{requested}.6"


def _fake_ca(name: str) -> str:
    body = f"-----BEGIN CERTIFICATE-----\nOFFLINE{digest(name, 64)}\n-----END CERTIFICATE-----\n"
    return base64.b64encode(body.encode()).decode()


def _kubeconfig_json(name: str, endpoint: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": _fake_ca(name)}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [{"name": name, "user": {"exec": {"command": "aws", "args": ["eks", "get-token"]}}}],
        }
    )
