"""IrsaRole: an IAM role that exactly one Kubernetes service account can assume."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.common import policy_document
from config.naming import ServiceAccount

STS_AUDIENCE = "sts.amazonaws.com"


def irsa_trust_policy(oidc_provider_arn: str, oidc_issuer: str, subject: str) -> dict[str, Any]:
    """Trust policy pinned to one service account of one cluster (StringEquals, no wildcards)."""
    issuer = oidc_issuer.removeprefix("https://")
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
    """Inputs of an IrsaRole."""

    service_account: ServiceAccount
    role_name: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    permissions_boundary_arn: str | None = None
    extra_statements: Sequence[Mapping[str, Any]] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class IrsaRole(pulumi.ComponentResource):
    """IAM role for one Kubernetes service account (IRSA). Permissions are added as inline
    policies by intent methods such as `AirflowBucket.grant_read(role)`."""

    arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: IrsaRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:iam:IrsaRole", name, None, opts)
        self._name = name
        self.service_account = args.service_account
        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
            lambda v: policy_document(irsa_trust_policy(v[0], v[1], args.service_account.subject)["Statement"])
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            description=f"Airflow {args.service_account.workload.value} ({args.service_account.subject})",
            assume_role_policy=trust,
            permissions_boundary=args.permissions_boundary_arn,
            max_session_duration=3600,
            tags={**args.tags, "kubernetes-service-account": args.service_account.subject.split(":", 2)[2]},
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
