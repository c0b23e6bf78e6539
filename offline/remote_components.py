"""What pulumi-eks's remote components create inside, for the plan (they have no children under mocks).

`eks:index:Cluster` and `eks:index:ManagedNodeGroup` run in the pulumi-eks provider plugin, so the mock engine
records each as one `custom=False` resource with no children. This table says what the real provider
registers inside them for the inputs this program passes; `plan.py` lists those resources.

Source, pulumi-eks 4.4.0 (the version pinned in requirements.txt; a test holds the two together), read in
pulumi/pulumi-eks `nodejs/eks/`: `cluster/cluster.ts` (createCore, createCluster), `cluster/authenticationMode.ts`
(createAccessEntries), `servicerole.ts`, `addons/cni-addon.ts`, `nodes/securitygroup.ts` and `nodes/nodegroup.ts`
(createManagedNodeGroup). An input that would change the set in a way not written down here raises
`UnmodelledInputError` instead of printing a plan that leaves resources out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PULUMI_EKS_VERSION = "4.4.0"
REMOTE_COMPONENTS = ("eks:index:Cluster", "eks:index:ManagedNodeGroup")

# Cluster inputs that do not change which resources exist (they only shape their inputs).
_CLUSTER_NEUTRAL = frozenset(
    {
        "name", "version", "vpcId", "subnetIds", "privateSubnetIds", "publicSubnetIds", "endpointPrivateAccess",
        "endpointPublicAccess", "publicAccessCidrs", "enabledClusterLogTypes", "encryptionConfigKeyArn", "tags",
        "clusterTags", "clusterSecurityGroupTags", "nodeSecurityGroupTags", "providerCredentialOpts",
        "deletionProtection", "upgradePolicy", "kubernetesServiceIpAddressRange", "ipFamily",
        "bootstrapSelfManagedAddons", "enableConfigMapMutable", "proxy", "vpcCniOptions",
    }
)  # fmt: skip
# Cluster inputs this table models (see cluster_resources).
_CLUSTER_MODELLED = frozenset(
    {"skipDefaultNodeGroup", "skipDefaultSecurityGroups", "createOidcProvider", "authenticationMode", "accessEntries"}
)
# Node-group inputs passed straight to aws.eks.NodeGroup.
_NODE_GROUP_NEUTRAL = frozenset(
    {
        "cluster", "clusterName", "nodeRole", "nodeRoleArn", "subnetIds", "instanceTypes", "capacityType", "diskSize",
        "scalingConfig", "tags", "labels", "taints", "amiType", "releaseVersion", "version", "nodeGroupName",
        "nodeGroupNamePrefix", "remoteAccess", "updateConfig", "forceUpdateVersion", "operatingSystem",
    }
)  # fmt: skip
# Node-group inputs that make pulumi-eks create a custom launch template.
_LAUNCH_TEMPLATE_INPUTS = frozenset(
    {"kubeletExtraArgs", "bootstrapExtraArgs", "bottlerocketSettings", "enableIMDSv2", "userData", "amiId"}
)
CLUSTER_POLICY_ID = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"


class UnmodelledInputError(ValueError):
    """A remote component input changes what it creates in a way this table does not describe."""


@dataclass(frozen=True)
class InnerResource:
    """One resource a remote component registers inside itself."""

    type: str
    name: str
    parent: str  # name of the component it is registered under
    what: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def custom(self) -> bool:
        """False for the nested pulumi-eks components (ServiceRole, VpcCniAddon)."""
        return not self.type.startswith("eks:index:")


def partition(region: str) -> str:
    """AWS partition of a region (pulumi-eks reads it with aws.getPartition)."""
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _given(inputs: Mapping[str, Any]) -> set[str]:
    return {key for key, value in inputs.items() if value is not None}


def _refuse_unmodelled(component: str, name: str, inputs: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(_given(inputs) - known)
    if unknown:
        raise UnmodelledInputError(
            f"{component} {name}: input {', '.join(unknown)} changes what pulumi-eks {PULUMI_EKS_VERSION} creates "
            "and offline/remote_components.py does not model it; read the pulumi-eks source and extend the table"
        )


def _sha8(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]  # pulumi-eks names attachments by this hash


def _security_groups(name: str) -> list[InnerResource]:
    """createCore's cluster security group and createNodeGroupSecurityGroup's node group and rules."""
    rule = "aws:ec2/securityGroupRule:SecurityGroupRule"
    return [
        InnerResource(
            "aws:ec2/securityGroup:SecurityGroup",
            f"{name}-eksClusterSecurityGroup",
            name,
            "security group of the control plane",
        ),
        InnerResource(rule, f"{name}-eksClusterInternetEgressRule", name, "control plane egress to 0.0.0.0/0"),
        InnerResource(
            "aws:ec2/securityGroup:SecurityGroup", f"{name}-nodeSecurityGroup", name, "security group of the nodes"
        ),
        InnerResource(rule, f"{name}-eksNodeIngressRule", name, "nodes to nodes, all traffic"),
        InnerResource(rule, f"{name}-eksNodeClusterIngressRule", name, "control plane to nodes, tcp 1025-65535"),
        InnerResource(rule, f"{name}-eksExtApiServerClusterIngressRule", name, "control plane to nodes, tcp 443"),
        InnerResource(rule, f"{name}-eksNodeInternetEgressRule", name, "node egress to 0.0.0.0/0"),
        InnerResource(rule, f"{name}-eksClusterIngressRule", name, "nodes to the API server, tcp 443"),
    ]


def _access_entries(name: str, entries: Mapping[str, Any]) -> list[InnerResource]:
    """createAccessEntries: one entry per key, one policy association per access policy."""
    found: list[InnerResource] = []
    for key in sorted(entries):
        entry = entries[key]
        found.append(
            InnerResource(
                "aws:eks/accessEntry:AccessEntry",
                f"{name}-{key}",
                name,
                "EKS access entry",
                {"principalArn": entry.get("principalArn")},
            )
        )
        for policy in sorted(entry.get("accessPolicies") or {}):
            association = entry["accessPolicies"][policy]
            found.append(
                InnerResource(
                    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                    f"{name}-{key}-{policy}",
                    f"{name}-{key}",
                    "access policy of the entry",
                    {"policyArn": association.get("policyArn"), "accessScope": association.get("accessScope")},
                )
            )
    return found


def cluster_resources(name: str, inputs: Mapping[str, Any], region: str) -> list[InnerResource]:
    """What `eks:index:Cluster` creates for these inputs (no default node group, no Fargate, no Auto Mode)."""
    _refuse_unmodelled("eks:index:Cluster", name, inputs, _CLUSTER_NEUTRAL | _CLUSTER_MODELLED)
    if inputs.get("skipDefaultNodeGroup") is not True:
        raise UnmodelledInputError(
            f"eks:index:Cluster {name}: the default node group (skipDefaultNodeGroup not true) is not modelled "
            "in offline/remote_components.py"
        )
    role = f"{name}-eksRole"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Effect": "Allow",
                "Principal": {"Service": ["eks.amazonaws.com"]},
            }
        ],
    }
    found = [
        InnerResource("eks:index:ServiceRole", role, name, "component: the EKS service role and its policy"),
        InnerResource(
            "aws:iam/role:Role",
            f"{role}-role",
            role,
            "EKS cluster service role",
            {"assumeRolePolicy": json.dumps(trust)},
        ),
        InnerResource(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            f"{role}-{_sha8(CLUSTER_POLICY_ID)}",
            role,
            "managed policy of the service role",
            {"policyArn": f"arn:{partition(region)}:iam::aws:policy/AmazonEKSClusterPolicy"},
        ),
    ]
    if not inputs.get("skipDefaultSecurityGroups"):
        found += _security_groups(name)
    mode = inputs.get("authenticationMode")
    found += [
        InnerResource(
            "aws:eks/cluster:Cluster",
            f"{name}-eksCluster",
            name,
            "the EKS control plane (creator gets cluster-admin: bootstrapClusterCreatorAdminPermissions)",
            {"name": inputs.get("name"), "version": inputs.get("version"), "authenticationMode": mode or "CONFIG_MAP"},
        ),
        InnerResource(
            "aws:eks/addon:Addon",
            f"{name}-kube-proxy",
            name,
            "EKS add-on kube-proxy, newest version for the cluster version (looked up at deploy time)",
        ),
        InnerResource(
            "pulumi:providers:kubernetes",
            f"{name}-eks-k8s",
            name,
            "Kubernetes provider of the component (kubeconfig runs aws eks get-token)",
        ),
    ]
    if mode in (None, "CONFIG_MAP", "API_AND_CONFIG_MAP"):
        found.append(
            InnerResource("kubernetes:core/v1:ConfigMap", f"{name}-nodeAccess", name, "aws-auth in kube-system")
        )
    if mode in ("API", "API_AND_CONFIG_MAP"):
        found += _access_entries(name, inputs.get("accessEntries") or {})
    elif inputs.get("accessEntries"):
        raise UnmodelledInputError(f"eks:index:Cluster {name}: accessEntries need authenticationMode API")
    found += [
        InnerResource("eks:index:VpcCniAddon", f"{name}-vpc-cni", name, "component: the VPC CNI add-on"),
        InnerResource(
            "aws:eks/addon:Addon",
            f"{name}-vpc-cni",
            f"{name}-vpc-cni",
            "EKS add-on vpc-cni, newest version"
            + (
                " with network-policy enforcement"
                if (inputs.get("vpcCniOptions") or {}).get("enableNetworkPolicy")
                else ""
            ),
        ),
    ]
    if inputs.get("createOidcProvider"):
        found.append(
            InnerResource(
                "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
                f"{name}-oidcProvider",
                name,
                "IAM OIDC provider of the cluster issuer (for IRSA)",
                {"clientIdLists": ["sts.amazonaws.com"]},
            )
        )
    return found


def node_group_resources(name: str, inputs: Mapping[str, Any], region: str) -> list[InnerResource]:
    """What `eks:index:ManagedNodeGroup` creates: the node group, plus a launch template when asked for."""
    del region  # same resources in every partition
    _refuse_unmodelled("eks:index:ManagedNodeGroup", name, inputs, _NODE_GROUP_NEUTRAL | _LAUNCH_TEMPLATE_INPUTS)
    found = []
    if _given(inputs) & _LAUNCH_TEMPLATE_INPUTS:
        found.append(
            InnerResource(
                "aws:ec2/launchTemplate:LaunchTemplate",
                f"{name}-launchTemplate",
                name,
                "custom launch template (user data, IMDS or AMI settings)",
            )
        )
    found.append(
        InnerResource(
            "aws:eks/nodeGroup:NodeGroup",
            name,
            name,
            "EKS managed node group (EKS adds the node role's access entry itself)",
            {
                key: inputs[key]
                for key in ("instanceTypes", "capacityType", "diskSize", "scalingConfig")
                if inputs.get(key) is not None
            },
        )
    )
    return found


INNER_RESOURCES: dict[str, Callable[[str, Mapping[str, Any], str], list[InnerResource]]] = {
    "eks:index:Cluster": cluster_resources,
    "eks:index:ManagedNodeGroup": node_group_resources,
}


def inner_resources(component_type: str, name: str, inputs: Mapping[str, Any], region: str) -> list[InnerResource]:
    """The resources a remote component creates inside itself; empty for any other type."""
    build = INNER_RESOURCES.get(component_type)
    return build(name, inputs, region) if build else []
