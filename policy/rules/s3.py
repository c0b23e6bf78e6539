"""S3: every bucket blocks public access, encrypts by default, denies plain HTTP; no forceDestroy in prod.

The public-access block, the encryption and the bucket policy are resources of their own, so
those rules look at the whole stack and find each bucket's companions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import Deferred, as_list, is_prod, of_types, policy_statements, referenced

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BUCKET_POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = ("aws:kms", "aws:kms:dsse", "AES256")

BucketCheck = Callable[[PolicyResource, list[PolicyResource], ReportViolation], None]


def _each_bucket(companion_types: tuple[str, ...], check: BucketCheck) -> Callable[..., None]:
    """A stack validation that hands every bucket and its companions of one type to ``check``."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        companions = of_types(args.resources, companion_types)
        deferred = Deferred()
        for bucket in of_types(args.resources, BUCKETS):
            with deferred.check():
                mine = [c for c in companions if bucket in referenced(c, "bucket", [bucket])]
                check(bucket, mine, report)
        deferred.finish()

    return validate


def _public_access_block(bucket: PolicyResource, blocks: list[PolicyResource], report: ReportViolation) -> None:
    if not blocks:
        report(
            f"S3 bucket {bucket.name}: add an aws.s3.BucketPublicAccessBlock with block_public_acls, "
            "block_public_policy, ignore_public_acls and restrict_public_buckets all True.",
            bucket.urn,
        )
        return
    for block in blocks:
        missing = [key for key in BLOCKS if block.props.get(key) is not True]
        if missing:
            report(
                f"S3 public-access block {block.name} of bucket {bucket.name}: set {', '.join(missing)} to True.",
                block.urn,
            )


def _default_encryption(bucket: PolicyResource, configs: list[PolicyResource], report: ReportViolation) -> None:
    algorithms = [
        (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
        for config in configs
        for rule in config.props.get("rules") or []
    ]
    if not any(a in SSE_ALGORITHMS for a in algorithms):
        report(
            f"S3 bucket {bucket.name}: add an aws.s3.BucketServerSideEncryptionConfiguration whose rule applies "
            "sse_algorithm aws:kms (with the stack's KMS key) or AES256 by default.",
            bucket.urn,
        )


def _denies_plain_http(statement: Mapping[str, Any], bucket_name: Any) -> bool:
    principal = statement.get("Principal")
    everyone = principal == "*" or (isinstance(principal, Mapping) and as_list(principal.get("AWS")) == ["*"])
    actions = as_list(statement.get("Action"))
    condition = (statement.get("Condition") or {}).get("Bool") or {}
    insecure = str(condition.get("aws:SecureTransport")).lower() == "false"
    resources = [str(r) for r in as_list(statement.get("Resource"))]
    if isinstance(bucket_name, str) and bucket_name:
        covers = any(r.endswith(f":::{bucket_name}") for r in resources) and any(
            r.endswith(f":::{bucket_name}/*") for r in resources
        )
    else:
        covers = any(r.endswith("/*") for r in resources) and any("/" not in r.split(":::")[-1] for r in resources)
    return statement.get("Effect") == "Deny" and everyone and bool({"s3:*", "*"} & set(actions)) and insecure and covers


def _tls_only(bucket: PolicyResource, policies: list[PolicyResource], report: ReportViolation) -> None:
    name = bucket.props.get("bucket")
    for policy in policies:
        try:
            statements = policy_statements(policy.props.get("policy"))
        except ValueError:
            report(f"S3 bucket policy {policy.name}: the policy is not valid JSON.", policy.urn)
            continue
        if any(_denies_plain_http(s, name) for s in statements):
            return
    report(
        f"S3 bucket {bucket.name}: add a bucket policy statement that denies s3:* to Principal '*' on the bucket "
        "and bucket/* when aws:SecureTransport is false.",
        bucket.urn,
    )


def _no_force_destroy_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (
        args.resource_type in BUCKETS
        and args.props.get("forceDestroy") is True
        and is_prod(args.props, args.stack_tags)
    ):
        report(f"S3 bucket {args.name} (prod): set force_destroy=False; prod buckets are never emptied by Pulumi.")


POLICIES = [
    StackValidationPolicy(
        name="s3-public-access-block",
        description="Every S3 bucket has a public-access block with all four settings on.",
        validate=_each_bucket(PUBLIC_ACCESS_BLOCK, _public_access_block),
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="s3-default-encryption",
        description="Every S3 bucket has default server-side encryption.",
        validate=_each_bucket(ENCRYPTION, _default_encryption),
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="s3-tls-only-policy",
        description="Every S3 bucket has a bucket policy denying requests without TLS.",
        validate=_each_bucket(BUCKET_POLICY, _tls_only),
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="s3-no-force-destroy-in-prod",
        description="Prod S3 buckets do not set forceDestroy.",
        validate=_no_force_destroy_in_prod,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
