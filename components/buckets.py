"""AirflowBuckets: the DAG bucket and the task-log bucket, locked down, with grant methods."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.common import Protection, policy_document, private_bucket
from components.grants import Grantable

_READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"]
_WRITE_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload"]


@dataclass(frozen=True)
class BucketSpec:
    """One bucket's name and data-lifecycle settings."""

    name: pulumi.Input[str]
    """Bucket name (global across AWS: callers make it unique per account and region)."""
    versioned: bool
    """Keep noncurrent versions (expired by the lifecycle)."""
    expire_objects_after_days: int | None = None
    """Delete current objects after this many days. Default: never."""


@dataclass(frozen=True)
class AirflowBucketsArgs:
    """Inputs of AirflowBuckets: the two buckets and the rules they share."""

    dags: BucketSpec
    """The DAG bucket."""
    logs: BucketSpec
    """The task-log bucket."""
    noncurrent_version_expiration_days: int = 90
    """Noncurrent versions expire after this many days. Default: 90."""
    abort_incomplete_multipart_days: int = 7
    """Incomplete multipart uploads are aborted after this many days. Default: 7."""
    force_destroy: bool = False
    """Let `pulumi destroy` delete non-empty buckets. Default: no."""
    kms_key_arn: str | None = None
    """Customer KMS key (SSE-KMS with a bucket key). Default: SSE-S3."""
    protection: Protection = field(default_factory=Protection)
    """Protection of the buckets and what keeps them safe. Default: retained on delete."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of every bucket. Default: none."""


def tls_only_policy(bucket_arn: str) -> str:
    """Bucket policy that denies plain-HTTP requests and TLS older than 1.2."""
    resources = [bucket_arn, f"{bucket_arn}/*"]
    return policy_document(
        [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyOutdatedTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
            },
        ]
    )


def bucket_access_statements(
    bucket_arn: str, *, write: bool, prefix: str | None, kms_key_arn: str | None
) -> list[dict[str, Any]]:
    """Least-privilege statements for reading (and writing) objects under ``prefix``."""
    object_arn = f"{bucket_arn}/{prefix.strip('/')}/*" if prefix else f"{bucket_arn}/*"
    list_statement: dict[str, Any] = {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [bucket_arn]}
    if prefix:
        list_statement["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix.strip('/')}/*", prefix.strip("/")]}}
    statements = [
        list_statement,
        {
            "Effect": "Allow",
            "Action": _READ_ACTIONS + (_WRITE_ACTIONS if write else []),
            "Resource": [object_arn],
        },
    ]
    if kms_key_arn:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["kms:Decrypt"] + (["kms:GenerateDataKey"] if write else []),
                "Resource": [kms_key_arn],
            }
        )
    return statements


class AirflowBucket:
    """One bucket of AirflowBuckets, with intent methods that grant a role (any Grantable) access."""

    def __init__(
        self,
        key: str,
        bucket: aws.s3.Bucket,
        kms_key_arn: str | None,
        *,
        versioning: aws.s3.BucketVersioning | None = None,
        protection: Protection | None = None,
    ):
        self.key = key
        self.resource = bucket
        self.name: pulumi.Output[str] = bucket.bucket
        self.arn: pulumi.Output[str] = bucket.arn
        self.kms_key_arn = kms_key_arn
        self.versioning = versioning
        self._kms_key_arn = kms_key_arn
        self._protection = protection or Protection()

    def grant_read(self, role: Grantable, prefix: str | None = None) -> aws.iam.RolePolicy:
        """Let ``role`` list and read objects (under ``prefix``)."""
        return self._grant(role, write=False, prefix=prefix)

    def grant_read_write(self, role: Grantable, prefix: str | None = None) -> aws.iam.RolePolicy:
        """Let ``role`` list, read and write objects (under ``prefix``); no deletes."""
        return self._grant(role, write=True, prefix=prefix)

    def replicate_to(
        self, replica: AirflowBucket, role_arn: pulumi.Input[str], depends_on: Sequence[pulumi.Resource] = ()
    ) -> aws.s3.BucketReplicationConfig:
        """Replicate every new object version to ``replica`` (another region), assuming ``role_arn``.

        Both buckets must be versioned. Objects encrypted with this bucket's customer key are replicated and
        re-encrypted with the replica's key. Delete markers are not replicated: a delete here leaves the
        replica's copy (the DR copy also survives a wrong or malicious delete; README: Disaster recovery).
        """
        if self.versioning is None or replica.versioning is None:
            raise ValueError(f"bucket {self.key}: replication needs versioning on the source and the replica")
        kms = self.kms_key_arn is not None and replica.kms_key_arn is not None
        destination = aws.s3.BucketReplicationConfigRuleDestinationArgs(
            bucket=replica.arn,
            storage_class="STANDARD",
            encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                replica_kms_key_id=replica.kms_key_arn
            )
            if kms
            else None,
        )
        rule = aws.s3.BucketReplicationConfigRuleArgs(
            id="to-dr-region",
            status="Enabled",
            priority=1,
            filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
            delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(status="Disabled"),
            destination=destination,
            source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                    status="Enabled"
                )
            )
            if kms
            else None,
        )
        return aws.s3.BucketReplicationConfig(
            f"{self.resource.pulumi_resource_name}-replication",
            bucket=self.resource.id,
            role=role_arn,
            rules=[rule],
            opts=self._protection.options(self.resource, depends_on=[self.versioning, replica.versioning, *depends_on]),
        )

    def _grant(self, role: Grantable, *, write: bool, prefix: str | None) -> aws.iam.RolePolicy:
        statements = self.arn.apply(
            lambda arn: bucket_access_statements(arn, write=write, prefix=prefix, kms_key_arn=self._kms_key_arn)
        )
        return role.add_policy(f"{self.key}-bucket-{'read-write' if write else 'read'}", statements)


class AirflowBuckets(pulumi.ComponentResource):
    """The DAG bucket and the task-log bucket: private, encrypted, TLS-only, lifecycled."""

    dags: AirflowBucket
    logs: AirflowBucket

    def __init__(self, name: str, args: AirflowBucketsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:storage:AirflowBuckets", name, None, opts)
        self.dags = secured_bucket(self, f"{name}-dags", "dags", args.dags, args)
        self.logs = secured_bucket(self, f"{name}-logs", "logs", args.logs, args)
        self.register_outputs(
            {"dagBucketName": self.dags.name, "logBucketName": self.logs.name, "dagBucketArn": self.dags.arn}
        )


def secured_bucket(
    parent: pulumi.Resource,
    name: str,
    key: str,
    spec: BucketSpec,
    args: AirflowBucketsArgs,
    provider: pulumi.ProviderResource | None = None,
) -> AirflowBucket:
    """The project's bucket baseline: private (public access blocked, ACLs off), default encryption (the
    customer key with a bucket key, else SSE-S3), a TLS-only policy, versioning when asked, the lifecycle.

    ``provider`` places the bucket in another region (the DR replicas); its companions follow the bucket.
    """
    bucket, public_block = private_bucket(
        name,
        bucket_name=spec.name,
        force_destroy=args.force_destroy,
        tags=args.tags,
        protection=args.protection,
        parent=parent,
        provider=provider,
    )
    child = args.protection.options(bucket)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[_encryption_rule(args.kms_key_arn)],
        opts=child,
    )
    aws.s3.BucketPolicy(
        f"{name}-tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(tls_only_policy),
        opts=args.protection.options(bucket, depends_on=[public_block]),
    )
    versioning = None
    if spec.versioned:
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=_lifecycle_rules(spec, args),
        opts=args.protection.options(bucket, depends_on=[versioning] if versioning else []),
    )
    return AirflowBucket(key, bucket, args.kms_key_arn, versioning=versioning, protection=args.protection)


def _encryption_rule(kms_key_arn: str | None) -> aws.s3.BucketServerSideEncryptionConfigurationRuleArgs:
    if kms_key_arn:
        default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
        )
        return aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=default, bucket_key_enabled=True
        )
    default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
        sse_algorithm="AES256"
    )
    return aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(apply_server_side_encryption_by_default=default)


def _lifecycle_rules(spec: BucketSpec, args: AirflowBucketsArgs) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    everything = aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="")
    rules = [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="abort-incomplete-multipart-uploads",
            status="Enabled",
            filter=everything,
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=args.abort_incomplete_multipart_days
            ),
        ),
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-noncurrent-versions",
            status="Enabled",
            filter=everything,
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=args.noncurrent_version_expiration_days
            ),
        ),
    ]
    if spec.expire_objects_after_days:
        rules.append(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-objects",
                status="Enabled",
                filter=everything,
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=spec.expire_objects_after_days),
            )
        )
    return rules
