"""Pydantic models of the `airflow-platform:` stack config.

Keys are camelCase in the stack files; every model forbids unknown keys. Field
descriptions say what is allowed: the loader prints them in error lines and the
README's config reference is built from them.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from capacity.rds import instance_class_problem
from config.types import (
    DECIMAL_TEXT,
    BackupWindow,
    BucketName,
    EksClusterName,
    IamPolicyArn,
    IamRoleArn,
    Ipv4Cidr,
    KmsKeyArn,
    KubernetesMinor,
    MaintenanceWindow,
    PostgresIdentifier,
    SecurityGroupId,
    SnsTopicArn,
    StatementId,
    SubnetId,
    VpcId,
    distinct,
)

SUPPORTED_POSTGRES_MAJORS = (16, 17)
Environment = Literal["dev", "uat", "prod"]


def _is_text(annotation: Any) -> bool:
    """True for str, a Literal of strings, an Annotated str or an optional one of those (cached per annotation)."""
    try:
        return _is_text_cached(annotation)
    except TypeError:  # an unhashable annotation: work it out each time
        return _is_text_uncached(annotation)


def _is_text_uncached(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is str:
        return True
    if origin is typing.Annotated:
        return _is_text(args[0])
    if origin is Literal:
        return all(isinstance(arg, str) for arg in args)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in args if arg is not type(None)]
        return bool(inner) and all(_is_text(arg) for arg in inner)
    return False


_is_text_cached = functools.cache(_is_text_uncached)


def _takes_decimals(annotation: Any, metadata: list[Any]) -> bool:
    if DECIMAL_TEXT in metadata:
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return DECIMAL_TEXT in typing.get_args(annotation)[1:]
    return any(_takes_decimals(arg, []) for arg in typing.get_args(annotation))


def yaml_scalars_as_text(annotation: Any, metadata: list[Any], value: Any) -> Any:
    """Read a YAML boolean or number given where text is expected with its obvious meaning.

    true/false -> "True"/"False", 17 -> "17"; a decimal (17.10 arrives as 17.1) stays a
    number and is refused with a "quote it" message, except in fields marked DECIMAL_TEXT.
    Lists and maps of text are converted item by item.
    """
    if _is_text(annotation):
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int) or (isinstance(value, float) and _takes_decimals(annotation, metadata)):
            return str(value)
        return value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list and isinstance(value, list):
        return [yaml_scalars_as_text(args[0], [], item) for item in value]
    if origin is dict and isinstance(value, dict):
        return {key: yaml_scalars_as_text(args[1], [], item) for key, item in value.items()}
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in args if arg is not type(None)]
        if len(inner) == 1:
            return yaml_scalars_as_text(inner[0], metadata, value)
    return value


class Model(BaseModel):
    """Base for every config section: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _yaml_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) or value is None:
            return value  # text and absence pass unchanged whatever the annotation
        field = cls.model_fields[info.field_name or ""]
        return yaml_scalars_as_text(field.annotation, field.metadata, value)


class NetworkConfig(Model):
    """Where the data plane lives."""

    vpc_id: VpcId = Field(description="VPC of the EKS cluster and the database")
    private_subnet_ids: Annotated[list[SubnetId], distinct("subnet ids")] = Field(
        min_length=2, description="private subnets in at least two AZs (DB subnet group, new-cluster nodes)"
    )


class NodeGroupConfig(Model):
    """Managed node group of a cluster this program creates."""

    instance_types: list[str] = Field(
        default=["m6i.large"], min_length=1, description="EC2 instance types such as m6i.large"
    )
    capacity_type: Literal["ON_DEMAND", "SPOT"] = Field(default="ON_DEMAND", description="ON_DEMAND or SPOT")
    min_size: int = Field(default=2, ge=1, le=100, description="1-100 nodes")
    desired_size: int = Field(default=2, ge=1, le=100, description="1-100 nodes, between minSize and maxSize")
    max_size: int = Field(default=4, ge=1, le=100, description="1-100 nodes")
    disk_size_gib: int = Field(default=50, ge=20, le=16384, description="root volume size, 20-16384 GiB")

    @field_validator("instance_types")
    @classmethod
    def _ec2_types(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", item):
                raise ValueError(f"expected EC2 instance types such as m6i.large, got {item!r}")
        return value


class CreateClusterConfig(Model):
    """Settings for `cluster.mode: create` (a new EKS cluster through pulumi-eks)."""

    version: KubernetesMinor = Field(default="1.34", description="Kubernetes minor version such as 1.34")
    endpoint_public_access: bool = Field(default=False, description="expose the API endpoint publicly")
    public_access_cidrs: list[Ipv4Cidr] = Field(default=[], description="IPv4 CIDRs allowed to the public endpoint")
    admin_role_arns: list[IamRoleArn] = Field(
        default=[],
        description="IAM roles granted cluster-admin through EKS access entries (required): CI's deploy role and "
        "the roles people deploy with, except the one that creates the cluster (EKS already made it admin)",
    )
    node_group: NodeGroupConfig = Field(default_factory=NodeGroupConfig, description="managed node group")


class ClusterConfig(Model):
    """How the program reaches Kubernetes."""

    mode: Literal["existing", "create"] = Field(description="existing (look up by name) or create (pulumi-eks)")
    name: EksClusterName = Field(description="EKS cluster name")
    workload_security_group_id: SecurityGroupId | None = Field(
        default=None, description="security group of the pods/nodes; default: the EKS cluster security group"
    )
    kubeconfig_role_arn: IamRoleArn | None = Field(
        default=None, description="role that `aws eks get-token` assumes to reach the cluster"
    )
    create: CreateClusterConfig | None = Field(default=None, description="settings for mode create")

    @property
    def create_settings(self) -> CreateClusterConfig:
        """The create block, with defaults when the stack gave none."""
        return self.create or CreateClusterConfig()


class EncryptionConfig(Model):
    """Customer-managed encryption."""

    kms_key_arn: KmsKeyArn | None = Field(
        default=None,
        description="customer KMS key for RDS, Performance Insights and S3; default: AWS-managed keys; required with "
        "dr.enabled (S3 replicates into the DR key only from SSE-KMS objects)",
    )


class DatabaseAlarmsConfig(Model):
    """CloudWatch alarms on the metadata DB."""

    sns_topic_arn: SnsTopicArn | None = Field(default=None, description="SNS topic notified on alarm and OK")
    cpu_percent: int = Field(ge=1, le=100, description="CPU utilisation alarm threshold, 1-100 %")
    free_storage_gib: int = Field(ge=1, le=65536, description="free storage alarm threshold in GiB")
    connections_percent: int = Field(ge=1, le=100, description="connection alarm, % of max_connections, 1-100")


class DatabaseConfig(Model):
    """The RDS PostgreSQL metadata database."""

    instance_class: str = Field(description="RDS instance class such as db.t4g.medium")
    engine_version: str = Field(
        default="17",
        description="PostgreSQL version: a supported major (16, 17) to track its current minor, or major.minor",
    )
    allocated_storage_gib: int = Field(ge=20, le=65536, description="initial gp3 storage, 20-65536 GiB")
    max_allocated_storage_gib: int = Field(ge=20, le=65536, description="storage autoscaling ceiling, GiB")
    multi_az: bool = Field(description="standby in a second AZ")
    backup_retention_days: int = Field(ge=0, le=35, description="automated backup retention, 0-35 days")
    deletion_protection: bool = Field(description="RDS deletion protection")
    skip_final_snapshot: bool = Field(description="skip the final snapshot on delete")
    performance_insights: bool = Field(description="Performance Insights on")
    performance_insights_retention_days: int = Field(
        default=7, description="7, or a multiple of 31 up to 731 (paid tier)"
    )
    monitoring_interval_seconds: Literal[0, 1, 5, 10, 15, 30, 60] = Field(
        description="enhanced monitoring interval: 0 (off), 1, 5, 10, 15, 30 or 60"
    )
    log_exports: list[Literal["postgresql", "upgrade", "iam-db-auth-error"]] = Field(
        default=["postgresql", "upgrade"], description="CloudWatch log exports: postgresql, upgrade, iam-db-auth-error"
    )
    maintenance_window: MaintenanceWindow = Field(
        default="sun:03:00-sun:04:00", description="UTC window such as sun:03:00-sun:04:00"
    )
    backup_window: BackupWindow = Field(default="01:00-02:00", description="UTC window such as 01:00-02:00")
    apply_immediately: bool = Field(description="apply modifications now instead of in the maintenance window")
    max_connections: int | None = Field(
        default=None, ge=20, le=5000, description="pin max_connections in the parameter group; default: RDS formula"
    )
    db_name: PostgresIdentifier = Field(default="airflow", description="database name")
    master_username: PostgresIdentifier = Field(
        default="airflow_admin", description="master user name (not 'postgres')"
    )
    app_username: str = Field(
        default="airflow_app",
        pattern=r"^[a-z][a-z0-9_]{0,62}$",
        description="role Airflow and PgBouncer log in as: owner of the database, created by the bootstrap job",
    )
    bootstrap_image: str = Field(
        default="public.ecr.aws/docker/library/postgres:17.6-alpine",
        pattern=r"^[a-z0-9.\-/:]+:[A-Za-z0-9._-]+$",
        description="pinned PostgreSQL image whose psql creates the application role (runs as uid 70)",
    )
    alarms: DatabaseAlarmsConfig = Field(description="CloudWatch alarms")

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, value: str) -> str:
        problem = instance_class_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("engine_version")
    @classmethod
    def _engine_version(cls, value: str) -> str:
        match = re.fullmatch(r"(\d+)(\.\d+)?", value)
        majors = ", ".join(str(m) for m in SUPPORTED_POSTGRES_MAJORS)
        if not match or int(match.group(1)) not in SUPPORTED_POSTGRES_MAJORS:
            raise ValueError(f"expected PostgreSQL major {majors} (e.g. '17' or '17.6')")
        return value

    @field_validator("performance_insights_retention_days")
    @classmethod
    def _pi_retention(cls, value: int) -> int:
        if value != 7 and not (value % 31 == 0 and 31 <= value <= 731):
            raise ValueError("expected 7, or a multiple of 31 between 31 and 731")
        return value

    @field_validator("master_username", "app_username")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in {"postgres", "rdsadmin", "admin", "root"}:
            raise ValueError("expected a non-reserved user name (not postgres, rdsadmin, admin, root)")
        return value

    @property
    def postgres_major(self) -> int:
        """Major version, e.g. 17."""
        return int(self.engine_version.split(".")[0])


class BucketsConfig(Model):
    """The DAG and task-log buckets."""

    dag_bucket_name: BucketName | None = Field(
        default=None,
        description="default: <namePrefix>-dags-<instanceName>-<account id>-<region> (S3 names are global)",
    )
    log_bucket_name: BucketName | None = Field(
        default=None,
        description="default: <namePrefix>-logs-<instanceName>-<account id>-<region> (S3 names are global)",
    )
    log_retention_days: int = Field(ge=1, le=3650, description="task logs expire after this many days, 1-3650")
    noncurrent_version_expiration_days: int = Field(
        default=90, ge=1, le=3650, description="noncurrent object versions expire after this many days"
    )
    abort_incomplete_multipart_days: int = Field(
        default=7, ge=1, le=365, description="incomplete multipart uploads are aborted after this many days"
    )
    force_destroy: bool = Field(description="let `pulumi destroy` delete non-empty buckets (never in prod)")


class ProtectionConfig(Model):
    """How stateful resources (DB, buckets) survive a delete."""

    mode: Literal["protect", "retainOnDelete", "none"] = Field(
        description="protect (Pulumi refuses to delete), retainOnDelete (deleted from state, kept in AWS) or none"
    )


class IamStatementConfig(Model):
    """One extra IAM statement for an Airflow role."""

    sid: StatementId | None = Field(default=None, description="statement id, alphanumeric")
    effect: Literal["Allow", "Deny"] = Field(default="Allow", description="Allow or Deny")
    actions: list[str] = Field(min_length=1, description="service:Action names, no wildcards ('*', 's3:*', 's3:Get*')")
    resources: list[str] = Field(min_length=1, description="exact ARNs (a trailing wildcard in the path is allowed)")

    def to_iam(self) -> dict[str, object]:
        """The statement in IAM policy-document form."""
        statement: dict[str, object] = {
            "Effect": self.effect,
            "Action": list(self.actions),
            "Resource": list(self.resources),
        }
        if self.sid:
            statement["Sid"] = self.sid
        return statement

    @field_validator("actions")
    @classmethod
    def _no_wildcard_actions(cls, value: list[str]) -> list[str]:
        for action in value:
            if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action):
                raise ValueError(f"expected service:Action names without wildcards, got {action!r}")
        return value

    @field_validator("resources")
    @classmethod
    def _arns(cls, value: list[str]) -> list[str]:
        for resource in value:
            if resource == "*" or not resource.startswith("arn:"):
                raise ValueError(f"expected ARNs (not '*'), got {resource!r}")
        return value


RoleKey = Literal["scheduler", "apiServer", "webserver", "worker", "triggerer", "dagProcessor"]


class IrsaConfig(Model):
    """IAM roles for the Airflow service accounts."""

    permissions_boundary_arn: IamPolicyArn | None = Field(
        default=None, description="permissions boundary attached to every Airflow role"
    )
    extra_statements: dict[RoleKey, list[IamStatementConfig]] = Field(
        default={}, description="per role (scheduler, apiServer, webserver, worker, triggerer, dagProcessor)"
    )
