"""DisasterRecoveryCopy: the metadata DB's automated backups and the buckets, copied to a second region.

Everything in the DR region is created through this component's own AWS provider for that region
(its children inherit it); the replication configurations themselves belong to the source buckets
and stay in the stack's region (`AirflowBucket.replicate_to`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.buckets import AirflowBucket, AirflowBucketsArgs, secured_bucket
from components.common import Protection, partition, policy_document, service_trust_policy

S3_SERVICE = "s3.amazonaws.com"


@dataclass(frozen=True)
class DisasterRecoveryArgs:
    """Inputs of DisasterRecoveryCopy: the DR region and key, what is copied, how long it is kept."""

    region: str
    """The DR region (not the stack's)."""
    source_region: str
    """The stack's region (the KMS condition of the source key)."""
    kms_key_arn: str
    """Customer KMS key in the DR region: replicated backups and replica buckets."""
    source_db_instance_arn: pulumi.Input[str]
    """The RDS instance whose automated backups are replicated."""
    backup_retention_days: int
    """Days the replicated backups are kept (1-35): the point-in-time window in the DR region."""
    replicas: AirflowBucketsArgs
    """The replica buckets (names in the DR region, versioned) and the baseline they share with the sources;
    its `kms_key_arn` must be the DR key."""
    replicated: Sequence[str] = ("dags",)
    """Which of the replicas exist and are fed: `dags`, optionally `logs`. Default: the DAG bucket."""
    source_db_resource_id: pulumi.Input[str] | None = None
    """The instance's DbiResourceId, which replication is tied to: a restore into the same identifier keeps the
    ARN but changes this, and the replication is then replaced (stopped, started for the new instance).
    Default: none (not replaced on a restore)."""
    provider_settings: Mapping[str, Any] = field(default_factory=dict)
    """`aws.Provider` arguments besides the region, e.g. the stack's default provider's `profile`, `assume_roles`,
    `allowed_account_ids`, `default_tags`, so the DR region is reached as the same identity. Default: none."""
    replication_role_name: str | None = None
    """Name of the IAM role S3 assumes to replicate. Default: auto-named."""
    protection: Protection = field(default_factory=Protection)
    """Protection of everything in the DR region. Default: retained on delete."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of every resource. Default: none."""

    def __post_init__(self) -> None:
        if self.region == self.source_region:
            raise ValueError(f"region {self.region}: the DR region must differ from the source region")
        if partition(self.region) != partition(self.source_region):
            raise ValueError(f"region {self.region}: replication stays inside the source's AWS partition")
        if self.kms_key_arn.split(":")[3] != self.region:
            raise ValueError(f"kms_key_arn {self.kms_key_arn}: not a key of the DR region {self.region}")
        if self.replicas.kms_key_arn != self.kms_key_arn:
            raise ValueError("replicas.kms_key_arn: the replica buckets are encrypted with the DR key")
        if not set(self.replicated) <= {"dags", "logs"} or "dags" not in self.replicated:
            raise ValueError(f"replicated: dags, optionally logs (given {list(self.replicated)})")
        if "region" in self.provider_settings:
            raise ValueError("provider_settings: the DR provider's region is `region`")
        if not 1 <= self.backup_retention_days <= 35:
            raise ValueError(f"backup_retention_days {self.backup_retention_days}: RDS keeps 1-35 days")


def replication_statements(
    source_arn: str,
    replica_arn: str,
    *,
    source_key_arn: str | None,
    replica_key_arn: str | None,
    source_region: str,
    replica_region: str,
) -> list[dict[str, Any]]:
    """What S3 needs to replicate one bucket into another: read the source's versions, write replicas.

    No `s3:ReplicateDelete`: delete markers are not replicated. KMS only through S3 in each region and only for
    the pair's objects: with S3 Bucket Keys on, S3's encryption context is the bucket's ARN (an object's ARN
    for objects written without the bucket key), so each key statement admits exactly those two forms.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadReplicationConfiguration",
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": [source_arn],
        },
        {
            "Sid": "ReadSourceVersions",
            "Effect": "Allow",
            "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            "Resource": [f"{source_arn}/*"],
        },
        {
            "Sid": "WriteReplicas",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateTags"],
            "Resource": [f"{replica_arn}/*"],
        },
    ]
    if source_key_arn:
        statements.append(
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [source_key_arn],
                "Condition": _through_s3_for(source_region, source_arn),
            }
        )
    if replica_key_arn:
        statements.append(
            {
                "Sid": "EncryptReplicas",
                "Effect": "Allow",
                # Encrypt is what AWS's replication examples grant; GenerateDataKey is what S3 calls to make the
                # replica bucket's bucket-level key (same conditions, so no other use of the key opens up).
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": [replica_key_arn],
                "Condition": _through_s3_for(replica_region, replica_arn),
            }
        )
    return statements


def _typed_provider_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Plain provider settings (snake_case fields) as the SDK's argument types, so they reach the provider
    under their schema names."""
    typed = dict(settings)
    if "assume_roles" in typed:
        typed["assume_roles"] = [aws.ProviderAssumeRoleArgs(**role) for role in typed["assume_roles"]]
    if "assume_role_with_web_identity" in typed:
        typed["assume_role_with_web_identity"] = aws.ProviderAssumeRoleWithWebIdentityArgs(
            **typed["assume_role_with_web_identity"]
        )
    if "default_tags" in typed:
        typed["default_tags"] = aws.ProviderDefaultTagsArgs(**typed["default_tags"])
    if "ignore_tags" in typed:
        typed["ignore_tags"] = aws.ProviderIgnoreTagsArgs(**typed["ignore_tags"])
    return typed


def _through_s3_for(region: str, bucket_arn: str) -> dict[str, Any]:
    """KMS conditions: called by S3 in ``region``, for ``bucket_arn`` (bucket-key context) or one of its objects."""
    return {
        "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, f"{bucket_arn}/*"]},
    }


class DisasterRecoveryCopy(pulumi.ComponentResource):
    """Replicated RDS automated backups and replica buckets in the DR region; `replicate(bucket)` feeds one."""

    def __init__(self, name: str, args: DisasterRecoveryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:dr:DisasterRecoveryCopy", name, None, opts)
        self._name = name
        self._args = args
        self.region = args.region
        self.provider = aws.Provider(
            f"{name}-{args.region}",
            region=args.region,
            **_typed_provider_settings(args.provider_settings),
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_dr = args.protection.options(self, provider=self.provider)
        # Stop and start are keyed on the instance ARN (its identifier): stop the old one first, or the start
        # for the restored instance would be stopped right after.
        self.backups = aws.rds.InstanceAutomatedBackupsReplication(
            f"{name}-db-backups",
            source_db_instance_arn=args.source_db_instance_arn,
            retention_period=args.backup_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=pulumi.ResourceOptions.merge(
                in_dr,
                pulumi.ResourceOptions(replacement_trigger=args.source_db_resource_id, delete_before_replace=True),
            )
            if args.source_db_resource_id is not None
            else in_dr,
        )
        specs = {"dags": args.replicas.dags, "logs": args.replicas.logs}
        self.replicas: dict[str, AirflowBucket] = {
            key: secured_bucket(self, f"{name}-{key}-replica", key, specs[key], args.replicas, provider=self.provider)
            for key in args.replicated
        }
        # IAM is global: the role lives with the rest of the DR copy.
        self.role = aws.iam.Role(
            f"{name}-replication-role",
            name=args.replication_role_name,
            description=f"S3 replication of the Airflow buckets to {args.region}",
            assume_role_policy=service_trust_policy(S3_SERVICE),
            tags=dict(args.tags),
            opts=args.protection.options(self, provider=self.provider),
        )
        self.register_outputs(
            {"region": args.region, "replicaBucketNames": {k: b.name for k, b in self.replicas.items()}}
        )

    def replicate(self, source: AirflowBucket) -> aws.s3.BucketReplicationConfig:
        """Replicate ``source`` into its replica here: the role's policy for the pair, then the configuration."""
        args = self._args
        replica = self.replicas[source.key]
        if source.kms_key_arn is None:
            # S3 re-encrypts replicas with the replica's key only for SSE-KMS source objects.
            raise ValueError(f"bucket {source.key}: the source must be SSE-KMS for its replicas to use the DR key")
        statements = pulumi.Output.all(source.arn, replica.arn).apply(
            lambda arns: policy_document(
                replication_statements(
                    arns[0],
                    arns[1],
                    source_key_arn=source.kms_key_arn,
                    replica_key_arn=replica.kms_key_arn,
                    source_region=args.source_region,
                    replica_region=args.region,
                )
            )
        )
        policy = aws.iam.RolePolicy(
            f"{self._name}-replicate-{source.key}",
            role=self.role.id,
            name=f"replicate-{source.key}",
            policy=statements,
            opts=args.protection.options(self.role),
        )
        return source.replicate_to(replica, self.role.arn, depends_on=[policy])
