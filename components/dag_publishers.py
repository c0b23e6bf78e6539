"""DagPublishers: one IAM role per CI publisher of DAGs, assumable only from its GitHub repository.

Each role trusts GitHub's OIDC provider (`token.actions.githubusercontent.com`) with `StringEquals`
on the token's audience (`sts.amazonaws.com`) and its exact subject: `repo:ORG/REPO:ref:<git ref>`
or `repo:ORG/REPO:environment:<name>` (a job that names a GitHub environment always gets the
environment form, whatever its branch). Its only permissions: write and delete objects under its
own folder of the DAG prefix, list that folder, and use the bucket's customer key.

The GitHub OIDC provider is created here, or looked up when the account already has one (IAM allows
one provider per URL). No thumbprint is set: for GitHub, IAM validates with its own trusted CAs.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.common import policy_document
from components.irsa import STS_AUDIENCE

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
POLICY_NAME = "publish-dags"
_IAM_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
# GitHub owner and repository names, each optionally with its immutable numeric id (`name@123`).
_REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:@\d+)?/[A-Za-z0-9_.-]{1,100}(?:@\d+)?")


def github_subject(repository: str, *, ref: str | None = None, environment: str | None = None) -> str:
    """The `sub` claim of GitHub Actions tokens for one repository and one ref or environment."""
    if (ref is None) == (environment is None):
        raise ValueError("give exactly one of ref or environment")
    if not _REPOSITORY.fullmatch(repository):
        raise ValueError(f"repository {repository!r} is not of the form ORG/REPO")
    if ref is not None:
        if not ref.startswith(("refs/heads/", "refs/tags/")):
            raise ValueError(f"ref {ref!r} must be a full git ref such as refs/heads/main or refs/tags/v1")
        return f"repo:{repository}:ref:{ref}"
    return f"repo:{repository}:environment:{environment}"


def publisher_trust_statements(provider_arn: str, subject: str) -> list[dict[str, Any]]:
    """Trust: web identity from GitHub's provider, this audience and this exact subject only."""
    return [
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE, f"{GITHUB_OIDC_HOST}:sub": subject},
            },
        }
    ]


def publisher_statements(bucket_arn: str, folder_key: str, kms_key_arn: str | None) -> list[dict[str, Any]]:
    """Write and delete objects under ``folder_key/``, list only that folder, use the bucket key."""
    folder = folder_key.strip("/")
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListOwnFolder",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [f"{folder}/", f"{folder}/*"]}},
        },
        {
            "Sid": "WriteOwnFolder",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:PutObject"],
            "Resource": [f"{bucket_arn}/{folder}/*"],
        },
    ]
    if kms_key_arn:
        statements.append(
            {
                "Sid": "UseBucketKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [kms_key_arn],
            }
        )
    return statements


@dataclass(frozen=True)
class Publisher:
    """One repository (and ref or GitHub environment) allowed to publish one folder of DAGs."""

    key: str
    """Short id of the publisher: resource names and the key of its ARN in `role_arns`."""
    role_name: str
    """IAM role name (64 characters at most)."""
    repository: str
    """GitHub repository `ORG/REPO` (or `ORG@ID/REPO@ID` for immutable subject claims), as GitHub spells it."""
    folder: str
    """Folder under the DAG prefix this publisher owns, e.g. `team-a`."""
    ref: str | None = None
    """Full git ref allowed to publish, e.g. `refs/heads/main`. Default: none (give ref or environment)."""
    environment: str | None = None
    """GitHub environment allowed to publish, e.g. `prod`. Default: none (give ref or environment)."""

    def __post_init__(self) -> None:
        if not _IAM_ROLE_NAME.fullmatch(self.role_name):
            raise ValueError(
                f"role name {self.role_name!r} ({len(self.role_name)} characters): IAM allows 1-64 "
                "letters, digits and +=,.@_-"
            )
        if not self.folder.strip("/"):
            raise ValueError("folder must not be empty: a publisher owns a folder, never the whole DAG prefix")
        self.subject  # noqa: B018 (validates repository, ref and environment)

    @property
    def subject(self) -> str:
        """The GitHub token subject the role trusts."""
        return github_subject(self.repository, ref=self.ref, environment=self.environment)


@dataclass(frozen=True)
class DagPublishersArgs:
    """Inputs of DagPublishers."""

    bucket_arn: pulumi.Input[str]
    """ARN of the DAG bucket."""
    dags_prefix: str
    """Key prefix of the DAGs in the bucket (each publisher's folder lies under it), e.g. `dags`."""
    publishers: Sequence[Publisher]
    """The publishers; keys, role names and folders must be distinct, folders not nested."""
    oidc_provider: Literal["create", "existing"] = "existing"
    """Look up the account's GitHub IAM OIDC provider, or create it (IAM holds one per URL). Default: existing."""
    kms_key_arn: str | None = None
    """Customer KMS key of the DAG bucket. Default: none (SSE-S3, no KMS grant)."""
    role_permissions_boundary_arn: str | None = None
    """Permissions boundary of the roles. Default: none."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the roles and the provider. Default: none."""

    def __post_init__(self) -> None:
        for attribute in ("key", "role_name"):
            values = [getattr(p, attribute) for p in self.publishers]
            if len(set(values)) != len(values):
                raise ValueError(f"publisher {attribute}s must be distinct: {values}")
        keys = sorted(self.folder_key(p) for p in self.publishers)
        for first, second in itertools.combinations(keys, 2):
            if second == first or second.startswith(first + "/"):
                raise ValueError(f"publisher folders must not be equal or nested: {first!r} and {second!r}")

    def folder_key(self, publisher: Publisher) -> str:
        """S3 key prefix of a publisher's folder: `<dags prefix>/<folder>`."""
        return "/".join(part for part in (self.dags_prefix.strip("/"), publisher.folder.strip("/")) if part)


class PublisherRole:
    """One publisher's IAM role; a `Grantable`, so other intents can add to it."""

    def __init__(self, owner: pulumi.Resource, name: str, role: aws.iam.Role):
        self._owner = owner
        self._name = name
        self.role = role
        self.arn: pulumi.Output[str] = role.arn

    def add_policy(self, policy_name: str, statements: pulumi.Input[Sequence[Mapping[str, Any]]]) -> aws.iam.RolePolicy:
        """Attach an inline policy; ``policy_name`` must be unique for this role."""
        return aws.iam.RolePolicy(
            f"{self._name}-{policy_name}",
            role=self.role.id,
            name=policy_name,
            policy=pulumi.Output.from_input(statements).apply(policy_document),
            opts=pulumi.ResourceOptions(parent=self._owner),
        )


class DagPublishers(pulumi.ComponentResource):
    """GitHub's OIDC provider (created or looked up) and one folder-scoped IAM role per publisher."""

    oidc_provider_arn: pulumi.Output[str]
    roles: dict[str, PublisherRole]
    role_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: DagPublishersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:ci:DagPublishers", name, None, opts)
        if args.oidc_provider == "create":
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-github-oidc",
                url=GITHUB_OIDC_URL,
                client_id_lists=[STS_AUDIENCE],
                tags=dict(args.tags) or None,
                # One per account and URL, so other stacks (and other teams) come to rely on it:
                # destroying this stack leaves it in place.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            self.oidc_provider_arn = provider.arn
        else:
            lookup = aws.iam.get_open_id_connect_provider_output(
                url=GITHUB_OIDC_URL, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            self.oidc_provider_arn = lookup.arn
        self.roles = {p.key: self._role(name, args, p) for p in args.publishers}
        self.role_arns = {key: role.arn for key, role in self.roles.items()}
        self.register_outputs({"oidcProviderArn": self.oidc_provider_arn, "roleArns": self.role_arns})

    def _role(self, name: str, args: DagPublishersArgs, publisher: Publisher) -> PublisherRole:
        trust = self.oidc_provider_arn.apply(
            lambda arn: policy_document(publisher_trust_statements(arn, publisher.subject))
        )
        role = aws.iam.Role(
            f"{name}-{publisher.key}",
            name=publisher.role_name,
            description=f"Publishes DAGs to {args.folder_key(publisher)}/ from {publisher.subject}",
            assume_role_policy=trust,
            permissions_boundary=args.role_permissions_boundary_arn,
            max_session_duration=3600,
            tags={**args.tags, "github-subject": publisher.subject},
            opts=pulumi.ResourceOptions(parent=self),
        )
        publisher_role = PublisherRole(self, f"{name}-{publisher.key}", role)
        statements = pulumi.Output.from_input(args.bucket_arn).apply(
            lambda arn: publisher_statements(arn, args.folder_key(publisher), args.kms_key_arn)
        )
        publisher_role.add_policy(POLICY_NAME, statements)
        return publisher_role
