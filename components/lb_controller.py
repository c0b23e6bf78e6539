"""LoadBalancerController: the AWS Load Balancer Controller Helm chart with its own IRSA role.

The controller only reconciles TargetGroupBindings here (the load balancer itself is a Pulumi
resource); its IAM policy is the one the project publishes for the pinned chart version, kept
in components/data with its source noted beside it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common import partition
from components.irsa import IrsaRole, IrsaRoleArgs

CHART = "aws-load-balancer-controller"
CHART_REPOSITORY = "https://aws.github.io/eks-charts"
# The chart version the IAM policy data file was taken for (chart and app version are equal since 3.0.0).
CHART_VERSION = "3.5.0"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
POLICY_FILE = Path(__file__).parent / "data" / "aws-load-balancer-controller-iam-policy.json"


def controller_policy_statements(aws_partition: str) -> list[dict[str, Any]]:
    """The controller's documented IAM policy, with its resource ARNs in ``aws_partition``."""
    text = POLICY_FILE.read_text()
    if aws_partition != "aws":
        text = text.replace('"arn:aws:', f'"arn:{aws_partition}:')
    return list(json.loads(text)["Statement"])


@dataclass(frozen=True)
class LoadBalancerControllerArgs:
    """Inputs of a LoadBalancerController: the cluster it runs in and its IAM identity."""

    cluster_name: str
    """EKS cluster name (the chart's required `clusterName`)."""
    region: str
    """AWS region of the cluster (set, so the controller never asks the instance metadata service)."""
    vpc_id: pulumi.Input[str]
    """VPC of the cluster (set for the same reason)."""
    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider (the IRSA trust)."""
    oidc_issuer: pulumi.Input[str]
    """The cluster's OIDC issuer, with or without `https://`."""
    role_name: str
    """IAM role name of the controller (64 characters at most)."""
    chart_version: str = CHART_VERSION
    """Chart version; must be the one the IAM policy data file is for. Default: `CHART_VERSION`."""
    replicas: int = 2
    """Controller pods (one leader, the rest stand by; a PodDisruptionBudget keeps one). Default: 2."""
    service_mutator_webhook: bool = False
    """Make the controller the default for new `type: LoadBalancer` Services. Default: off (shared clusters)."""
    role_permissions_boundary_arn: str | None = None
    """Permissions boundary of the role. Default: none."""
    helm_timeout_seconds: int = 600
    """How long the install may take to become ready. Default: 600."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the IAM role. Default: none."""

    def __post_init__(self) -> None:
        if self.chart_version != CHART_VERSION:
            raise ValueError(
                f"chart_version {self.chart_version}: components/data carries the IAM policy of chart "
                f"{CHART_VERSION} only; update the data file together with the version"
            )
        if self.replicas < 1:
            raise ValueError("replicas: at least 1")


def controller_values(args: LoadBalancerControllerArgs, role_arn: str, vpc_id: str) -> dict[str, Any]:
    """The chart values: cluster facts, the IRSA service account, a webhook certificate that survives upgrades."""
    values: dict[str, Any] = {
        "clusterName": args.cluster_name,
        "region": args.region,
        "vpcId": vpc_id,
        "replicaCount": args.replicas,
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT,
            "annotations": {IRSA_ANNOTATION: role_arn},
        },
        # Reuse the webhook's TLS Secret on upgrades (the chart looks it up in the cluster, which a
        # helm.v3.Release lets it do); without it every upgrade makes a new CA.
        "keepTLSSecret": True,
        "enableServiceMutatorWebhook": args.service_mutator_webhook,
    }
    if args.replicas > 1:
        values["podDisruptionBudget"] = {"maxUnavailable": 1}
    return values


class LoadBalancerController(pulumi.ComponentResource):
    """The AWS Load Balancer Controller in kube-system, assuming its own IRSA role.

    Put `ready` in the `depends_on` of every TargetGroupBinding: the Release waits until the
    controller's pods are ready, so its CRDs exist and its admission webhooks answer, and the
    policy is attached, so the webhook's calls to AWS succeed.
    """

    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:network:LoadBalancerController", name, None, opts)
        self.namespace = NAMESPACE
        self.service_account_name = SERVICE_ACCOUNT
        self.role = IrsaRole(
            f"{name}-irsa",
            IrsaRoleArgs(
                namespace=NAMESPACE,
                service_account_name=SERVICE_ACCOUNT,
                role_name=args.role_name,
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_issuer=args.oidc_issuer,
                role_permissions_boundary_arn=args.role_permissions_boundary_arn,
                description=f"AWS Load Balancer Controller of cluster {args.cluster_name}",
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_arn = self.role.arn
        self.policy = self.role.add_policy(
            "aws-load-balancer-controller", controller_policy_statements(partition(args.region))
        )
        values = pulumi.Output.all(self.role.arn, args.vpc_id).apply(lambda v: controller_values(args, v[0], v[1]))
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            k8s.helm.v3.ReleaseArgs(
                name=CHART,
                chart=CHART,
                version=args.chart_version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
                namespace=NAMESPACE,
                create_namespace=False,
                values=values,
                atomic=True,
                cleanup_on_fail=True,
                timeout=args.helm_timeout_seconds,
                max_history=5,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]),
        )
        # What a TargetGroupBinding must wait for (see the class docstring).
        self.ready: list[pulumi.Resource] = [self.release, self.policy]
        self.register_outputs({"roleArn": self.role_arn, "releaseName": self.release.name})
