"""Render an Inventory as a readable plan or as deterministic JSON (secrets masked)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from offline.engine import Inventory, Registration, is_secret_value

MASK = "[secret]"

# The inputs worth a glance per resource type; --json has everything.
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:rds/instance:Instance": (
        "identifier", "engine", "engineVersion", "instanceClass", "multiAz", "storageType", "allocatedStorage",
        "maxAllocatedStorage", "storageEncrypted", "kmsKeyId", "publiclyAccessible", "backupRetentionPeriod",
        "deletionProtection", "skipFinalSnapshot", "finalSnapshotIdentifier", "performanceInsightsEnabled",
        "monitoringInterval", "enabledCloudwatchLogsExports", "password",
    ),
    "aws:rds/parameterGroup:ParameterGroup": ("family", "parameters"),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "subnetIds"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "vpcId"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "ipProtocol", "fromPort", "toPort", "referencedSecurityGroupId", "cidrIpv4",
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("metricName", "comparisonOperator", "threshold", "alarmActions"),
    "aws:s3/bucket:Bucket": ("bucket", "forceDestroy"),
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
    "eks:index:Cluster": ("name", "version", "authenticationMode", "endpointPublicAccess", "createOidcProvider"),
    "eks:index:ManagedNodeGroup": ("instanceTypes", "scalingConfig", "capacityType"),
    "random:index/randomPassword:RandomPassword": ("length", "special"),
    "kubernetes:core/v1:Namespace": ("metadata",),
    "kubernetes:core/v1:Secret": ("metadata", "stringData"),
    "kubernetes:helm.sh/v3:Release": (
        "chart", "version", "repositoryOpts", "namespace", "atomic", "cleanupOnFail", "timeout", "maxHistory", "values",
    ),
}  # fmt: skip


def mask(value: Any) -> Any:
    """Replace every secret with a mask; normalise ints sent as floats."""
    if is_secret_value(value):
        return MASK
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _top_component(inventory: Inventory, resource: Registration) -> Registration | None:
    current = resource
    while True:
        parent = inventory.by_urn(current.parent)
        if parent is None:
            return current if not current.custom else None
        current = parent


def _flags(resource: Registration) -> str:
    flags = [f for f, on in (("protect", resource.protect), ("retainOnDelete", resource.retain_on_delete)) if on]
    return f"  [{', '.join(flags)}]" if flags else ""


def _setting_lines(key: str, value: Any) -> list[str]:
    """One line per setting; Helm values in full, as YAML."""
    if key == "values" and isinstance(value, dict):
        block = yaml.safe_dump(value, sort_keys=True, default_flow_style=False, width=200)
        return [f"      {key}:"] + [f"        {line}" for line in block.splitlines()]
    return [f"      {key}: {_setting(value)}"]


def _setting(value: Any) -> str:
    if isinstance(value, str) and value.startswith("{") and '"Statement"' in value:
        value = json.loads(value)
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 400 else text[:397] + "..."


def render_text(stack: str, inventory: Inventory) -> str:
    """Human-readable plan grouped by component."""
    custom = sorted((r for r in inventory.resources if r.custom), key=lambda r: r.urn)
    groups: dict[str, list[Registration]] = {}
    for resource in custom:
        top = _top_component(inventory, resource)
        groups.setdefault(f"{top.name} ({top.type})" if top else "(stack)", []).append(resource)
    lines = [f"Offline plan for stack {stack}: {len(custom)} resources (mock engine, no credentials)", ""]
    for group in sorted(groups):
        lines.append(f"== {group}")
        for resource in groups[group]:
            lines.append(f"  + {resource.type}  {resource.name}{_flags(resource)}")
            inputs = mask(resource.inputs)
            for key in KEY_SETTINGS.get(resource.type, ()):
                if key in inputs and inputs[key] not in (None, [], {}):
                    lines.extend(_setting_lines(key, inputs[key]))
        lines.append("")
    lines.append("== stack outputs")
    for name in sorted(inventory.outputs):
        shown = MASK if name in inventory.secret_outputs else _setting(mask(inventory.outputs[name]))
        lines.append(f"  {name}: {shown}")
    return "\n".join(lines) + "\n"


def render_json(stack: str, inventory: Inventory) -> str:
    """The full inventory as stable JSON (byte-identical for the same config)."""
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
    return json.dumps({"stack": stack, "resources": resources, "outputs": outputs}, indent=2, sort_keys=True) + "\n"
