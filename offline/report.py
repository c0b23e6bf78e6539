"""Render an Inventory as a readable plan or as deterministic JSON (secrets masked).

Text: AWS resources first, then Kubernetes, then what only lives in the Pulumi state, then the stack
outputs; the Helm values last, only when asked for. IAM policies are printed in full as indented JSON,
sizes and durations also in human units.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import yaml

from offline.engine import Inventory
from offline.physical_names import is_headline, physical_names
from offline.plan_items import MASK, SECTIONS, PlanItem, build_plan, mask
from offline.remote_components import PULUMI_EKS_VERSION
from offline.units import human

__all__ = ["MASK", "mask", "plan_document", "render_json", "render_json_all", "render_text"]

RELEASE = "kubernetes:helm.sh/v3:Release"
# The inputs worth a glance per resource type; --json has everything.
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:rds/instance:Instance": (
        "identifier", "engine", "engineVersion", "instanceClass", "multiAz", "storageType", "allocatedStorage",
        "maxAllocatedStorage", "storageEncrypted", "kmsKeyId", "publiclyAccessible", "backupRetentionPeriod",
        "deletionProtection", "skipFinalSnapshot", "finalSnapshotIdentifier", "performanceInsightsEnabled",
        "performanceInsightsRetentionPeriod", "monitoringInterval", "enabledCloudwatchLogsExports", "password",
    ),
    "aws:rds/parameterGroup:ParameterGroup": ("family", "parameters"),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "subnetIds"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "vpcId"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "ipProtocol", "fromPort", "toPort", "referencedSecurityGroupId", "cidrIpv4", "cidrIpv6",
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (
        "ipProtocol", "fromPort", "toPort", "referencedSecurityGroupId", "cidrIpv4", "cidrIpv6",
    ),
    "aws:lb/loadBalancer:LoadBalancer": (
        "name", "loadBalancerType", "internal", "ipAddressType", "subnets", "enableDeletionProtection",
        "dropInvalidHeaderFields", "desyncMitigationMode", "accessLogs",
    ),
    "aws:lb/listener:Listener": ("port", "protocol", "sslPolicy", "certificateArn", "defaultActions"),
    "aws:lb/targetGroup:TargetGroup": (
        "port", "protocol", "targetType", "deregistrationDelay", "preserveClientIp", "healthCheck",
    ),
    "aws:route53/record:Record": ("name", "type", "aliases"),
    "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding": ("metadata", "spec"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        "metricName", "statistic", "comparisonOperator", "threshold", "period", "evaluationPeriods", "alarmActions",
    ),
    "aws:s3/bucket:Bucket": ("bucket", "forceDestroy"),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": ("role", "rules"),
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": (
        "sourceDbInstanceArn", "retentionPeriod", "kmsKeyId",
    ),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays", "kmsKeyId"),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": ("logGroupName", "pattern", "metricTransformation"),
    "pulumi:providers:aws": ("region",),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets",
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("rule",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ("rules",),
    "aws:s3/bucketVersioning:BucketVersioning": ("versioningConfiguration",),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("rules",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:iam/role:Role": ("name", "assumeRolePolicy", "permissionsBoundary"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "policy"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn",),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url", "clientIdLists", "thumbprintLists"),
    "eks:index:Cluster": (
        "name", "version", "authenticationMode", "endpointPrivateAccess", "endpointPublicAccess", "publicAccessCidrs",
        "enabledClusterLogTypes", "encryptionConfigKeyArn", "createOidcProvider", "skipDefaultSecurityGroups",
        "accessEntries",
    ),
    "eks:index:ManagedNodeGroup": ("instanceTypes", "capacityType", "scalingConfig", "diskSize", "subnetIds"),
    "random:index/randomPassword:RandomPassword": ("length", "special"),
    "kubernetes:core/v1:Namespace": ("metadata",),
    "kubernetes:core/v1:Secret": ("metadata", "stringData"),
    "kubernetes:core/v1:ResourceQuota": ("metadata", "spec"),
    "kubernetes:core/v1:LimitRange": ("metadata", "spec"),
    "kubernetes:core/v1:ServiceAccount": ("metadata", "automountServiceAccountToken"),
    "kubernetes:rbac.authorization.k8s.io/v1:Role": ("metadata", "rules"),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ("metadata", "roleRef", "subjects"),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": ("metadata", "spec"),
    RELEASE: (
        "chart", "version", "repositoryOpts", "namespace", "atomic", "cleanupOnFail", "timeout", "maxHistory", "values",
    ),
}  # fmt: skip
POLICY_KEYS = frozenset({"assumeRolePolicy", "policy"})
INLINE_LIMIT = 100  # longer structured values are printed as indented blocks
INDENT = "      "


def _policy(value: Any) -> Any | None:
    """The parsed IAM policy document, if the value is one."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) and "Statement" in value else None


def _block(key: str, text: str) -> list[str]:
    return [f"{INDENT}{key}:"] + [f"{INDENT}  {line}" for line in text.splitlines()]


def setting_lines(resource_type: str, key: str, value: Any, inputs: Mapping[str, Any]) -> list[str]:
    """One setting: scalars inline (with human units), policies and long structures as indented JSON."""
    policy = _policy(value) if key in POLICY_KEYS else None
    if policy is not None:
        return _block(key, json.dumps(policy, indent=2))
    compact = json.dumps(value, sort_keys=True)
    if isinstance(value, dict | list) and len(compact) > INLINE_LIMIT:
        return _block(key, json.dumps(value, indent=2, sort_keys=True))
    unit = human(resource_type, key, value, inputs)
    return [f"{INDENT}{key}: {compact}" + (f"  ({unit})" if unit else "")]


def _values_digest(values: Any) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]


def _item_lines(item: PlanItem, with_values: bool) -> list[str]:
    flags = f"  [{', '.join(item.flags)}]" if item.flags else ""
    inside = f"  (inside {item.inside})" if item.inside else ""
    lines = [f"  + {item.type}  {item.name}{flags}{inside}"]
    if item.what:
        lines.append(f"{INDENT}# {item.what}")
    keys = KEY_SETTINGS.get(item.type, ()) if not item.inside else tuple(item.inputs)
    for key in keys:
        value = item.inputs.get(key)
        if value in (None, [], {}):
            continue
        if item.type == RELEASE and key == "values":
            where = "printed in full at the end" if with_values else "plan.py --values prints them in full"
            lines.append(f"{INDENT}values: {len(value)} top-level keys, sha256 {_values_digest(value)} ({where})")
            continue
        lines.extend(setting_lines(item.type, key, value, item.inputs))
    return lines


def _section_lines(heading: str, items: list[PlanItem], with_values: bool) -> list[str]:
    count = sum(1 for item in items if item.custom)
    lines = [f"## {heading}: {count} resource{'' if count == 1 else 's'}", ""]
    groups: dict[str, list[PlanItem]] = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    for group in sorted(groups):
        lines.append(f"== {group}")
        for item in groups[group]:
            lines.extend(_item_lines(item, with_values))
        lines.append("")
    return lines


def _helm_values_lines(inventory: Inventory) -> list[str]:
    lines = ["## Helm values", ""]
    for release in sorted(inventory.of_type(RELEASE), key=lambda r: r.urn):
        values = mask(release.inputs.get("values") or {})
        lines.append(f"== {release.name} ({RELEASE}), sha256 {_values_digest(values)}")
        block = yaml.safe_dump(values, sort_keys=True, default_flow_style=False, width=200)
        lines.extend(f"  {line}" for line in block.splitlines())
        lines.append("")
    return lines


def _names_lines(inventory: Inventory) -> list[str]:
    """The names a second stack must not share (every Kubernetes object is inside the namespace listed)."""
    names = [name for name in physical_names(inventory) if is_headline(name)]
    if not names:
        return []
    width = max(len(name.kind) for name in names)
    lines = ["## Physical names (no other stack may claim them; a config rule compares the stack files here)", ""]
    lines += [f"  {name.kind:<{width}}  {name.name}  (unique in {name.scope})" for name in names]
    return [*lines, ""]


def render_text(stack: str, inventory: Inventory, values: bool = False) -> str:
    """Human-readable plan: AWS, Kubernetes, state-only resources, outputs, then (optionally) the Helm values."""
    plan = build_plan(inventory)
    inner = f", {plan.inner} of them inside pulumi-eks {PULUMI_EKS_VERSION} components" if plan.inner else ""
    lines = [
        f"Offline plan for stack {stack}: {plan.registered + plan.inner} resources to create{inner} "
        "(mock engine, no credentials)",
        "",
    ]
    for heading, _ in SECTIONS:
        items = [item for item in plan.items if item.section == heading]
        if items:
            lines.extend(_section_lines(heading, items, values))
    lines.extend(_names_lines(inventory))
    lines.append("== stack outputs")
    for name in sorted(inventory.outputs):
        if name in inventory.secret_outputs:
            lines.append(f"  {name}: {MASK}")
            continue
        shown = setting_lines("", name, mask(inventory.outputs[name]), {})
        lines.extend(line.removeprefix(INDENT[:-2]) for line in shown)
    if values:
        lines += ["", *_helm_values_lines(inventory)]
    return "\n".join(lines).rstrip("\n") + "\n"


def plan_document(stack: str, inventory: Inventory) -> dict[str, Any]:
    """The full inventory of one stack as plain data (secrets masked)."""
    resources = [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "custom": r.custom,
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
            "provider": r.provider,
            "dependsOn": r.dependencies,
            "inputs": mask(r.inputs),
        }
        for r in sorted(inventory.resources, key=lambda r: r.urn)
    ]
    outputs = {
        name: MASK if name in inventory.secret_outputs else mask(value) for name, value in inventory.outputs.items()
    }
    return {"stack": stack, "resources": resources, "outputs": outputs}


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def render_json(stack: str, inventory: Inventory) -> str:
    """The full inventory as stable JSON (byte-identical for the same config)."""
    return _dump(plan_document(stack, inventory))


def render_json_all(inventories: Mapping[str, Inventory]) -> str:
    """Several stacks in one document: {"stacks": {<stack>: <the render_json document>}}."""
    return _dump({"stacks": {stack: plan_document(stack, inv) for stack, inv in inventories.items()}})
