"""The physical names one stack claims, read from what it registers (the plan lists them; tests compare stacks).

A physical name is one a second stack in the same account, region or cluster could also ask for: AWS refuses
the second (or, for Kubernetes, the second stack takes the first one's object over). Auto-named resources
(Pulumi adds a random suffix) are left out: they never collide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from offline.engine import Inventory, Registration, unwrap

# Where a name must be unique.
GLOBAL = "all AWS accounts"
ACCOUNT = "the account"
REGION = "account and region"
VPC = "the VPC"
ZONE = "the hosted zone"
CLUSTER = "the cluster"

# type -> (what it is, input key holding the name, where the name must be unique)
_AWS_NAMES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "aws:iam/role:Role": (("IAM role", "name", ACCOUNT),),
    "aws:iam/policy:Policy": (("IAM policy", "name", ACCOUNT),),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (("IAM OIDC provider", "url", ACCOUNT),),
    "aws:s3/bucket:Bucket": (("S3 bucket", "bucket", GLOBAL),),
    "aws:rds/instance:Instance": (
        ("RDS instance", "identifier", REGION),
        ("RDS final snapshot", "finalSnapshotIdentifier", REGION),
    ),
    "aws:rds/subnetGroup:SubnetGroup": (("RDS subnet group", "name", REGION),),
    "aws:rds/parameterGroup:ParameterGroup": (("RDS parameter group", "name", REGION),),
    "aws:ec2/securityGroup:SecurityGroup": (("security group", "name", VPC),),
    "aws:lb/loadBalancer:LoadBalancer": (("load balancer", "name", REGION),),
    "aws:lb/targetGroup:TargetGroup": (("target group", "name", REGION),),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (("CloudWatch alarm", "name", REGION),),
    "eks:index:Cluster": (("EKS cluster", "name", REGION),),
}
NAMESPACE = "kubernetes:core/v1:Namespace"
RELEASE = "kubernetes:helm.sh/v3:Release"
RECORD = "aws:route53/record:Record"


@dataclass(frozen=True, order=True)
class PhysicalName:
    """One name a stack claims, what carries it and where it must be unique."""

    kind: str
    name: str
    scope: str

    @property
    def shown(self) -> str:
        """`kind name` (what the plan prints and tests compare)."""
        return f"{self.kind} {self.name}"


def _kubernetes_name(resource: Registration, inputs: dict[str, Any]) -> PhysicalName | None:
    if resource.type == RELEASE:
        return PhysicalName("Helm release", f"{inputs.get('namespace')}/{inputs.get('name')}", CLUSTER)
    metadata = inputs.get("metadata") or {}
    name = metadata.get("name")
    if not isinstance(name, str):
        return None
    kind = resource.type.rsplit(":", 1)[-1]
    if resource.type == NAMESPACE:
        return PhysicalName("namespace", name, CLUSTER)
    namespace = metadata.get("namespace")
    return PhysicalName(f"Kubernetes {kind}", f"{namespace}/{name}" if namespace else name, CLUSTER)


def _names_of(resource: Registration) -> Iterable[PhysicalName]:
    inputs = unwrap(resource.inputs)
    if resource.type.startswith("kubernetes:") and not resource.type.startswith("kubernetes:index"):
        found = _kubernetes_name(resource, inputs)
        return [found] if found else []
    if resource.type == RECORD:
        return [PhysicalName("Route 53 record", f"{inputs.get('name')} {inputs.get('type')}", ZONE)]
    return [
        PhysicalName(kind, value, scope)
        for kind, key, scope in _AWS_NAMES.get(resource.type, ())
        if isinstance(value := inputs.get(key), str) and value
    ]


def physical_names(inventory: Inventory) -> list[PhysicalName]:
    """Every name the stack claims, sorted; each once."""
    return sorted({name for resource in inventory.resources for name in _names_of(resource)})


def is_headline(name: PhysicalName) -> bool:
    """Names worth listing in the plan: everything but objects inside a namespace (the namespace says it)."""
    return not name.kind.startswith("Kubernetes ")
