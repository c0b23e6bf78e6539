"""airflow-platform: load the stack config, wire the components, export what operators need.

All wiring between components happens here and only through their outputs.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.airflow_release import AirflowRelease, AirflowReleaseArgs
from components.buckets import AirflowBuckets, AirflowBucketsArgs, BucketSpec
from components.cluster import ClusterAccess, ClusterAccessArgs
from components.common import Protection
from components.database import MetadataDatabase, MetadataDatabaseArgs
from components.irsa import IrsaRole, IrsaRoleArgs
from config import load_settings
from config.naming import (
    Workload,
    airflow_workloads,
    aws_names,
    bucket_name,
    dag_reading_workloads,
    service_account,
    ui_workload,
)

settings = load_settings()  # raises ConfigError before any resource is registered
tags = settings.base_tags
protection = Protection.from_mode(settings.protection.mode)
kms_key_arn = settings.encryption.kms_key_arn
workloads = airflow_workloads(settings)
names = aws_names(settings, workloads)
account_id = aws.get_caller_identity_output().account_id

cluster = ClusterAccess(
    "cluster",
    ClusterAccessArgs(
        config=settings.cluster,
        region=settings.aws_region,
        vpc_id=settings.network.vpc_id,
        private_subnet_ids=settings.network.private_subnet_ids,
        node_role_name=names.node_role,
        kms_key_arn=kms_key_arn,
        tags=tags,
    ),
)

database = MetadataDatabase(
    "metadata-db",
    MetadataDatabaseArgs(
        config=settings.database,
        identifier=names.db_identifier,
        final_snapshot_identifier=names.db_final_snapshot,
        security_group_name=names.db_security_group,
        monitoring_role_name=names.db_monitoring_role,
        region=settings.aws_region,
        vpc_id=cluster.vpc_id,
        subnet_ids=settings.network.private_subnet_ids,
        client_security_group_id=cluster.workload_security_group_id,
        kms_key_arn=kms_key_arn,
        protection=protection,
        tags=tags,
    ),
)

buckets = AirflowBuckets(
    "buckets",
    AirflowBucketsArgs(
        dags=BucketSpec(name=account_id.apply(lambda account: bucket_name(settings, "dags", account)), versioned=True),
        logs=BucketSpec(
            name=account_id.apply(lambda account: bucket_name(settings, "logs", account)),
            versioned=False,
            expire_objects_after_days=settings.buckets.log_retention_days,
        ),
        noncurrent_version_expiration_days=settings.buckets.noncurrent_version_expiration_days,
        abort_incomplete_multipart_days=settings.buckets.abort_incomplete_multipart_days,
        force_destroy=settings.buckets.force_destroy,
        kms_key_arn=kms_key_arn,
        protection=protection,
        tags=tags,
    ),
)

roles: dict[Workload, IrsaRole] = {}
for workload in workloads:
    extra = settings.irsa.extra_statements.get(workload.config_key, [])
    roles[workload] = IrsaRole(
        f"irsa-{workload.value}",
        IrsaRoleArgs(
            namespace=settings.namespace,
            service_account_name=service_account(settings, workload).name,
            description=f"Airflow {workload.value} ({service_account(settings, workload).subject})",
            role_name=names.irsa_roles[workload],
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            role_permissions_boundary_arn=settings.irsa.permissions_boundary_arn,
            extra_statements=[statement.to_iam() for statement in extra],
            tags=tags,
        ),
    )

# The UI only reads task logs; everything else writes them too.
grants = [
    buckets.logs.grant_read(role) if workload is ui_workload(settings) else buckets.logs.grant_read_write(role)
    for workload, role in roles.items()
]
if settings.dags.source == "s3":
    grants += [
        buckets.dags.grant_read(roles[workload], prefix=settings.dags.s3_prefix)
        for workload in dag_reading_workloads(settings)
    ]

config = pulumi.Config()
airflow = AirflowRelease(
    "airflow",
    AirflowReleaseArgs(
        settings=settings,
        role_arns={workload: role.arn for workload, role in roles.items()},
        dag_bucket=buckets.dags.name,
        log_bucket=buckets.logs.name,
        database=database.endpoint(),
        protection=protection,
        git_ssh_private_key=config.get_secret("gitSshPrivateKey"),
        git_https_token=config.get_secret("gitHttpsToken"),
    ),
    # Pods start syncing DAGs and writing logs at once: their permissions must exist first.
    opts=pulumi.ResourceOptions(providers=[cluster.provider], depends_on=grants),
)

pulumi.export("environment", settings.environment)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("namespace", airflow.namespace)
pulumi.export("dbEndpoint", database.address)
pulumi.export("dbPort", database.port)
pulumi.export("dagBucketName", buckets.dags.name)
pulumi.export("logBucketName", buckets.logs.name)
pulumi.export("roleArns", {workload.value: role.arn for workload, role in roles.items()})
pulumi.export("releaseName", airflow.release_name)
pulumi.export("apiServiceName", airflow.api_service_name)
pulumi.export("apiServicePort", airflow.api_service_port)
if airflow.admin_password is not None:
    pulumi.export("adminPassword", airflow.admin_password)  # secret: pulumi stack output --show-secrets
