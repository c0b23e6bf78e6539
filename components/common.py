"""Small helpers shared by the components: protection options, tags, IAM documents."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class Protection:
    """How a stateful resource survives `pulumi destroy` or a replacement.

    The default keeps data: resources leave the state on delete but stay in AWS. Deleting them
    is what a stack opts into (`Protection.none()`), protecting them (`protect`) a stricter choice.
    """

    protect: bool = False
    retain_on_delete: bool = True

    @classmethod
    def none(cls) -> Protection:
        """Let `pulumi destroy` delete the resources (sandboxes)."""
        return cls(protect=False, retain_on_delete=False)

    @classmethod
    def from_mode(cls, mode: Literal["protect", "retainOnDelete", "none"]) -> Protection:
        """Map the `protection.mode` config value."""
        return cls(protect=mode == "protect", retain_on_delete=mode == "retainOnDelete")

    def options(self, parent: pulumi.Resource, **extra: Any) -> pulumi.ResourceOptions:
        """Child options carrying this protection."""
        return pulumi.ResourceOptions(
            parent=parent, protect=self.protect, retain_on_delete=self.retain_on_delete, **extra
        )


def private_bucket(
    name: str,
    *,
    bucket_name: pulumi.Input[str],
    force_destroy: bool,
    tags: Mapping[str, str],
    protection: Protection,
    parent: pulumi.Resource,
    provider: pulumi.ProviderResource | None = None,
) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
    """An S3 bucket with all public access blocked and ACLs off (owner-enforced), both kept like the bucket.

    Returns the bucket and its public-access block: a bucket policy must wait for the block. ``provider``
    (another region's) is inherited by everything parented to the bucket.
    """
    bucket = aws.s3.Bucket(
        name,
        bucket=bucket_name,
        force_destroy=force_destroy,
        tags={**tags, "Name": bucket_name},
        opts=protection.options(parent, provider=provider),
    )
    child = protection.options(bucket)
    block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    return bucket, block


def tagged(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """The common tags plus a Name tag."""
    return {**tags, "Name": name}


def partition(region: str) -> str:
    """AWS partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def issuer_host(issuer: str) -> str:
    """An OIDC issuer as IAM condition keys spell it: without `https://`."""
    return issuer.removeprefix("https://")


def policy_document(statements: Sequence[Mapping[str, Any]]) -> str:
    """Serialise an IAM policy with stable key order (byte-identical across runs)."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def service_trust_policy(service: str) -> str:
    """Trust policy that lets one AWS service assume a role."""
    return policy_document([{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}])


def aws_managed_policy_arn(region: str, path: str) -> str:
    """ARN of an AWS-managed policy (`service-role/…` or a plain name) in the region's partition."""
    return f"arn:{partition(region)}:iam::aws:policy/{path}"


def service_role(
    parent: pulumi.Resource,
    name: str,
    *,
    role_name: str | None,
    service: str,
    managed_policies: Mapping[str, str],
    region: str,
    tags: Mapping[str, str],
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """An IAM role one AWS service assumes, with AWS-managed policies attached (node role, RDS monitoring).

    ``managed_policies`` maps each attachment's name suffix to the policy's path under `iam::aws:policy/`.
    """
    role = aws.iam.Role(
        f"{name}-role",
        name=role_name,
        assume_role_policy=service_trust_policy(service),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-{suffix}",
            role=role.name,
            policy_arn=aws_managed_policy_arn(region, policy),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for suffix, policy in managed_policies.items()
    ]
    return role, attachments


@dataclass(frozen=True)
class DatabaseEndpoint:
    """How to reach the metadata DB (from MetadataDatabase.endpoint())."""

    address: pulumi.Input[str]
    port: pulumi.Input[int]
    name: str
    username: str
    password: pulumi.Input[str]  # secret


def _credentials(db_user: str, password: str) -> str:
    return f"{quote(db_user, safe='')}:{quote(password, safe='')}"


def metadata_uri(db_user: str, password: str, host: str, port: int, database: str, sslmode: str) -> str:
    """SQLAlchemy/libpq (psycopg2) URI with URL-encoded credentials."""
    return f"postgresql://{_credentials(db_user, password)}@{host}:{int(port)}/{database}?sslmode={sslmode}"


def async_metadata_uri(db_user: str, password: str, host: str, port: int, database: str) -> str:
    """The asyncpg form of the same connection, TLS required.

    asyncpg takes `ssl=<mode>`; SQLAlchemy hands every query parameter to `asyncpg.connect`,
    which refuses libpq's `sslmode` keyword.
    """
    return f"postgresql+asyncpg://{_credentials(db_user, password)}@{host}:{int(port)}/{database}?ssl=require"


def keyed_checksum(key_base64: str, parts: Sequence[str]) -> str:
    """HMAC-SHA256 of ``parts`` under a random key: a change detector that, unlike a plain hash, shows
    nobody who reads it (pod annotations, state, previews) anything to test guesses of a secret against."""
    message = json.dumps(list(parts)).encode()  # unambiguous: parts never run into each other
    return hmac.new(base64.b64decode(key_base64), message, hashlib.sha256).hexdigest()
