"""IrsaRole: an IAM role that exactly one Kubernetes service account can assume."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.common import issuer_host, policy_document

STS_AUDIENCE = "sts.amazonaws.com"


def irsa_trust_policy(oidc_provider_arn: str, oidc_issuer: str, subject: str) -> dict[str, Any]:
    """Trust policy pinned to one service account of one cluster (StringEquals, no wildcards)."""
    issuer = issuer_host(oidc_issuer)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{issuer}:sub": subject, f"{issuer}:aud": STS_AUDIENCE},
                },
            }
        ],
    }


@dataclass(frozen=True)
class IrsaRoleArgs:
    """Inputs of an IrsaRole: the one Kubernetes service account that may assume it, and its cluster."""

    namespace: str
    """Namespace of the service account."""
    service_account_name: str
    """Name of the service account; the trust's `sub` is `system:serviceaccount:<namespace>:<name>`."""
    role_name: str
    """IAM role name (64 characters at most)."""
    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider."""
    oidc_issuer: pulumi.Input[str]
    """The cluster's OIDC issuer, with or without `https://`."""
    role_permissions_boundary_arn: str | None = None
    """Permissions boundary of the role. Default: none."""
    description: str = ""
    """Role description. Default: names the service account."""
    extra_statements: Sequence[Mapping[str, Any]] = ()
    """Statements of an inline policy `extra`. Default: none (permissions come from intent methods)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the role. Default: none; `kubernetes-service-account` is always added."""

    @property
    def subject(self) -> str:
        """The OIDC `sub` claim of tokens issued to the service account."""
        return f"system:serviceaccount:{self.namespace}:{self.service_account_name}"


class IrsaRole(pulumi.ComponentResource):
    """IAM role for one Kubernetes service account (IRSA). Permissions are added as inline
    policies by intent methods such as `AirflowBucket.grant_read(role)`."""

    arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: IrsaRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:iam:IrsaRole", name, None, opts)
        self._name = name
        self.subject = args.subject
        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
            lambda v: policy_document(irsa_trust_policy(v[0], v[1], args.subject)["Statement"])
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            description=args.description or f"IRSA role of {args.subject}",
            assume_role_policy=trust,
            permissions_boundary=args.role_permissions_boundary_arn,
            max_session_duration=3600,
            tags={**args.tags, "kubernetes-service-account": f"{args.namespace}:{args.service_account_name}"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.role.arn
        self.role_name = self.role.name
        if args.extra_statements:
            self.add_policy("extra", list(args.extra_statements))
        self.register_outputs({"arn": self.arn, "roleName": self.role_name})

    def add_policy(self, policy_name: str, statements: pulumi.Input[Sequence[Mapping[str, Any]]]) -> aws.iam.RolePolicy:
        """Attach an inline policy; ``policy_name`` must be unique for this role."""
        document = pulumi.Output.from_input(statements).apply(policy_document)
        return aws.iam.RolePolicy(
            f"{self._name}-{policy_name}",
            role=self.role.id,
            name=policy_name,
            policy=document,
            opts=pulumi.ResourceOptions(parent=self),
        )
