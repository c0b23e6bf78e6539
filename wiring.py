"""The one place where stack config becomes component arguments (AWS and Kubernetes concepts).

`__main__.py` builds the components with these and wires their outputs together; the
components themselves never see `Settings`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from airflow_chart.chart import CHART_NAME, HELM_REPOSITORY
from airflow_chart.footprint import container_defaults, namespace_quota, task_namespace_quota
from airflow_chart.shape import PGBOUNCER_CONTAINER, Workload
from airflow_chart.values import LOGS_CONNECTION_ID, airflow_values
from capacity.connections import effective_max_connections
from components.airflow_release import AirflowReleaseArgs, GitHttpsCredentials, HelmChart
from components.buckets import AirflowBucketsArgs, BucketSpec
from components.cluster import ClusterAccessArgs, ManagedNodeGroupSpec, NewClusterSpec
from components.common import DatabaseEndpoint, Protection
from components.component_logs import ComponentLogGroupsArgs, SchedulerErrorAlarm
from components.dag_publishers import DagPublishersArgs, Publisher
from components.database import DatabaseAlarms, MetadataDatabaseArgs, PostgresInstance
from components.disaster_recovery import DisasterRecoveryArgs
from components.irsa import IrsaRoleArgs
from components.lb_controller import LoadBalancerControllerArgs
from components.load_balancer import AccessLogsArgs, AliasRecordArgs, WebLoadBalancerArgs
from components.log_shipper import LogRoute, LogShipperArgs
from components.namespace_guardrails import NamespaceGuardrailsArgs
from components.pgbouncer import PgBouncerPool
from components.secrets_backend import SecretsBackendArgs
from config.front_door_rules import API_TERMINATION_GRACE_SECONDS
from config.naming import AwsNames, bucket_name, dr_bucket_name, lb_log_bucket_name
from config.settings import Settings


def protection(settings: Settings) -> Protection:
    """The stack's protection of stateful resources."""
    return Protection.from_mode(settings.protection.mode)


def cluster_args(settings: Settings, names: AwsNames) -> ClusterAccessArgs:
    """The EKS cluster: looked up by name, or created."""
    cluster = settings.cluster
    create = None
    if cluster.mode == "create":
        spec = cluster.create_settings
        nodes = spec.node_group
        create = NewClusterSpec(
            version=spec.version,
            node_group=ManagedNodeGroupSpec(
                instance_types=tuple(nodes.instance_types),
                capacity_type=nodes.capacity_type,
                min_size=nodes.min_size,
                desired_size=nodes.desired_size,
                max_size=nodes.max_size,
                disk_size_gib=nodes.disk_size_gib,
            ),
            endpoint_public_access=spec.endpoint_public_access,
            public_access_cidrs=tuple(spec.public_access_cidrs),
            admin_role_arns=tuple(spec.admin_role_arns),
        )
    return ClusterAccessArgs(
        cluster_name=cluster.name,
        region=settings.aws_region,
        vpc_id=settings.network.vpc_id,
        private_subnet_ids=tuple(settings.network.private_subnet_ids),
        create=create,
        node_role_name=names.node_role,
        workload_security_group_id=cluster.workload_security_group_id,
        kubeconfig_role_arn=cluster.kubeconfig_role_arn,
        kms_key_arn=settings.encryption.kms_key_arn,
        tags=settings.base_tags,
    )


def database_args(settings: Settings, names: AwsNames, vpc_id: pulumi.Input[str]) -> MetadataDatabaseArgs:
    """The RDS instance and its surroundings."""
    db = settings.database
    alarms = db.alarms
    instance = PostgresInstance(
        instance_class=db.instance_class,
        engine_version=db.engine_version,
        allocated_storage_gib=db.allocated_storage_gib,
        max_allocated_storage_gib=db.max_allocated_storage_gib,
        multi_az=db.multi_az,
        backup_retention_days=db.backup_retention_days,
        deletion_protection=db.deletion_protection,
        skip_final_snapshot=db.skip_final_snapshot,
        max_connections=effective_max_connections(db.instance_class, db.max_connections),
        pinned_max_connections=db.max_connections,
        alarms=DatabaseAlarms(
            cpu_percent=alarms.cpu_percent,
            free_storage_gib=alarms.free_storage_gib,
            connections_percent=alarms.connections_percent,
            sns_topic_arn=alarms.sns_topic_arn,
        ),
        performance_insights=db.performance_insights,
        performance_insights_retention_days=db.performance_insights_retention_days,
        monitoring_interval_seconds=db.monitoring_interval_seconds,
        log_exports=tuple(db.log_exports),
        maintenance_window=db.maintenance_window,
        backup_window=db.backup_window,
        apply_immediately=db.apply_immediately,
        db_name=db.db_name,
        master_username=db.master_username,
    )
    return MetadataDatabaseArgs(
        instance=instance,
        identifier=names.db_identifier,
        final_snapshot_identifier=names.db_final_snapshot,
        security_group_name=names.db_security_group,
        monitoring_role_name=names.db_monitoring_role,
        region=settings.aws_region,
        vpc_id=vpc_id,
        subnet_ids=tuple(settings.network.private_subnet_ids),
        kms_key_arn=settings.encryption.kms_key_arn,
        protection=protection(settings),
        tags=settings.base_tags,
    )


def buckets_args(settings: Settings, account_id: pulumi.Output[str]) -> AirflowBucketsArgs:
    """The DAG and task-log buckets, named per account and region unless named in config."""
    buckets = settings.buckets
    return AirflowBucketsArgs(
        dags=BucketSpec(name=account_id.apply(lambda account: bucket_name(settings, "dags", account)), versioned=True),
        logs=BucketSpec(
            name=account_id.apply(lambda account: bucket_name(settings, "logs", account)),
            # Replication needs versioning on the source; noncurrent versions expire like the DAG bucket's.
            versioned=settings.dr.enabled and settings.dr.replicate_log_bucket,
            expire_objects_after_days=buckets.log_retention_days,
        ),
        noncurrent_version_expiration_days=buckets.noncurrent_version_expiration_days,
        abort_incomplete_multipart_days=buckets.abort_incomplete_multipart_days,
        force_destroy=buckets.force_destroy,
        kms_key_arn=settings.encryption.kms_key_arn,
        protection=protection(settings),
        tags=settings.base_tags,
    )


def irsa_args(
    settings: Settings,
    names: AwsNames,
    workload: Workload,
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
) -> IrsaRoleArgs:
    """The IAM role of one Airflow workload, trusted by exactly its service account."""
    account = settings.shape.service_account(workload)
    extra = settings.irsa.extra_statements.get(workload.config_key, [])
    return IrsaRoleArgs(
        namespace=account.namespace,
        service_account_name=account.name,
        role_name=names.irsa_roles[workload],
        oidc_provider_arn=oidc_provider_arn,
        oidc_issuer=oidc_issuer,
        role_permissions_boundary_arn=settings.irsa.permissions_boundary_arn,
        description=f"Airflow {workload.value} ({account.subject})",
        extra_statements=[statement.to_iam() for statement in extra],
        tags=settings.base_tags,
    )


def release_args(
    settings: Settings,
    *,
    role_arns: Mapping[Workload, pulumi.Input[str]],
    dag_bucket: pulumi.Input[str],
    log_bucket: pulumi.Input[str],
    database: DatabaseEndpoint,
    git_ssh_private_key: pulumi.Input[str] | None,
    git_https_token: pulumi.Input[str] | None,
    oidc_client_secret: pulumi.Input[str] | None = None,
    api_peer_cidrs: pulumi.Input[Sequence[str]] = (),
    base_url: pulumi.Input[str] | None = None,
    namespace_labels: Mapping[str, str] | None = None,
) -> AirflowReleaseArgs:
    """The chart release: names from the shape, values from the pure values function."""
    airflow, shape = settings.airflow, settings.shape
    pgbouncer = airflow.pgbouncer
    git = settings.dags.git_sync if settings.dags.source == "gitSync" else None
    return AirflowReleaseArgs(
        release_name=airflow.release_name,
        namespace=settings.namespace,
        chart=HelmChart(name=CHART_NAME, version=airflow.chart_version, repository=HELM_REPOSITORY),
        names=shape.release_names,
        values=lambda wiring: airflow_values(settings, wiring),
        features=shape.release_features,
        role_arns={workload.value: arn for workload, arn in role_arns.items()},
        dag_bucket=dag_bucket,
        log_bucket=log_bucket,
        database=database,
        app_username=settings.database.app_username,
        bootstrap_image=settings.database.bootstrap_image,
        pgbouncer=PgBouncerPool(
            database_alias=shape.pgbouncer_database,
            listen_port=shape.pgbouncer_port,
            pool_size=pgbouncer.metadata_pool_size,
            max_client_conn=pgbouncer.max_client_conn,
        )
        if pgbouncer.enabled
        else None,
        admin_user=airflow.admin_user.create,
        network_policies=airflow.network_policies,
        service_monitor=airflow.metrics.service_monitor,
        git_ssh_private_key=git_ssh_private_key if git is not None and git.auth == "ssh" else None,
        git_https=GitHttpsCredentials(username=git.username or "", token=git_https_token)
        if git is not None and git.auth == "https" and git_https_token is not None
        else None,
        timeout_seconds=airflow.helm.timeout_seconds,
        max_history=airflow.helm.max_history,
        protection=protection(settings),
        pod_security_level=airflow.guardrails.pod_security,
        guardrails=guardrails_args(settings),
        task_guardrails=task_guardrails_args(settings),
        git_known_hosts=git.known_hosts if git is not None and git.auth == "ssh" else None,
        oidc_client_secret=oidc_client_secret if airflow.auth.type == "oidc" else None,
        break_glass_admin=airflow.auth.type == "password" and airflow.auth.break_glass_admin is not None,
        api_peer_cidrs=api_peer_cidrs,
        base_url=base_url,
        namespace_labels=dict(namespace_labels or {}),
    )


def secrets_backend_args(settings: Settings, account_id: pulumi.Input[str]) -> SecretsBackendArgs | None:
    """Airflow's Secrets Manager backend (its prefixes and key), or None when it is off."""
    backend = settings.airflow.secrets_backend
    if not backend.enabled:
        return None
    connections, variables = backend.prefixes(settings.instance_name)
    return SecretsBackendArgs(
        region=settings.aws_region,
        account_id=account_id,
        connections_prefix=connections,
        variables_prefix=variables,
        kms_key_arn=backend.kms_key_arn,
        reserved_connection_ids=(LOGS_CONNECTION_ID,),
    )


def dag_publishers_args(settings: Settings, names: AwsNames, bucket_arn: pulumi.Input[str]) -> DagPublishersArgs | None:
    """One folder-scoped CI role per `dags.publishers` entry (S3 delivery), or None without publishers."""
    dags = settings.dags
    if dags.source != "s3" or not dags.publishers:
        return None
    return DagPublishersArgs(
        bucket_arn=bucket_arn,
        dags_prefix=dags.s3_prefix,
        publishers=[
            Publisher(
                key=p.name,
                role_name=names.publisher_roles[p.name],
                repository=p.repository,
                folder=p.folder,
                ref=p.ref,
                environment=p.environment,
            )
            for p in dags.publishers
        ],
        oidc_provider=dags.github_oidc_provider,
        kms_key_arn=settings.encryption.kms_key_arn,
        role_permissions_boundary_arn=settings.irsa.permissions_boundary_arn,
        tags=settings.base_tags,
    )


def load_balancer_args(
    settings: Settings, names: AwsNames, vpc_id: pulumi.Input[str], account_id: pulumi.Output[str]
) -> WebLoadBalancerArgs:
    """The front door: an internal NLB or ALB in the private subnets, on the port and health path of the API pods.

    The release's Service forwards its port to the same container port (the shape's `api_service_port`);
    the release is built after the load balancer (its values carry the URL), so the port comes from the shape.
    """
    fd = settings.front_door
    logs = fd.access_logs
    return WebLoadBalancerArgs(
        type=fd.type,
        name=names.load_balancer,
        vpc_id=vpc_id,
        subnet_ids=tuple(fd.subnet_ids or settings.network.private_subnet_ids),
        client_cidrs=tuple(fd.client_cidrs),
        target_port=settings.shape.api_service_port,
        health_check_path=settings.shape.health_path,
        internet_facing=fd.internet_facing,
        certificate_arn=fd.certificate_arn,
        tls_policy=fd.tls_policy,
        port=fd.port,
        ip_address_type=fd.ip_address_type,
        deregistration_delay_seconds=fd.deregistration_delay_seconds,
        termination_grace_period_seconds=API_TERMINATION_GRACE_SECONDS,
        preserve_client_ip=fd.preserve_client_ip,
        deletion_protection=fd.deletion_protection,
        access_logs=AccessLogsArgs(
            bucket_name=account_id.apply(lambda account: lb_log_bucket_name(settings, account)),
            prefix=logs.prefix,
            expire_after_days=logs.retention_days,
            force_destroy=settings.buckets.force_destroy,
        )
        if logs.enabled
        else None,
        alias=AliasRecordArgs(hosted_zone_id=fd.hosted_zone_id, hostname=fd.hostname)
        if fd.hostname and fd.hosted_zone_id
        else None,
        protection=protection(settings),
        tags=settings.base_tags,
    )


def guardrails_args(settings: Settings) -> NamespaceGuardrailsArgs | None:
    """The namespace's ResourceQuota (sized by airflow_chart/footprint.py) and LimitRange, or None."""
    if not settings.airflow.guardrails.resource_quota:
        return None
    return NamespaceGuardrailsArgs(
        namespace=settings.namespace,
        quota=namespace_quota(settings),
        container_defaults=container_defaults(settings),
        labels={"app.kubernetes.io/part-of": "airflow"},
    )


def task_guardrails_args(settings: Settings) -> NamespaceGuardrailsArgs | None:
    """The task namespace's ResourceQuota (task pods only) and LimitRange, or None."""
    if not settings.airflow.guardrails.resource_quota:
        return None
    return NamespaceGuardrailsArgs(
        namespace=settings.shape.task_namespace,
        quota=task_namespace_quota(settings),
        container_defaults=container_defaults(settings),
        labels={"app.kubernetes.io/part-of": "airflow"},
    )


def lb_controller_args(
    settings: Settings,
    names: AwsNames,
    vpc_id: pulumi.Input[str],
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
) -> LoadBalancerControllerArgs | None:
    """The AWS Load Balancer Controller, when this stack installs it (else None)."""
    if names.lb_controller_role is None:
        return None
    controller = settings.front_door.controller
    return LoadBalancerControllerArgs(
        cluster_name=settings.cluster.name,
        region=settings.aws_region,
        vpc_id=vpc_id,
        oidc_provider_arn=oidc_provider_arn,
        oidc_issuer=oidc_issuer,
        role_name=names.lb_controller_role,
        chart_version=controller.chart_version,
        service_mutator_webhook=controller.service_mutator_webhook,
        role_permissions_boundary_arn=settings.irsa.permissions_boundary_arn,
        tags=settings.base_tags,
    )


OTHER_CONTAINERS = "other"
TASK_PODS = "tasks"


def log_routes(settings: Settings) -> list[tuple[str, tuple[str, ...]]]:
    """(log group suffix, containers) per component group; `other` takes the namespace's remaining containers
    (jobs, sidecars, statsd) except the task pods' unless `componentLogs.includeTaskPods`."""
    shape = settings.shape
    routes = [(w.value, (shape.main_container(w),)) for w in shape.workloads if w is not Workload.WORKER]
    if settings.airflow.pgbouncer.enabled:
        routes.append(("pgbouncer", (PGBOUNCER_CONTAINER,)))
    if settings.component_logs.include_task_pods:
        routes.append((TASK_PODS, (shape.main_container(Workload.WORKER),)))
    routes.append((OTHER_CONTAINERS, ()))
    return routes


def component_logs_args(settings: Settings, names: AwsNames) -> ComponentLogGroupsArgs | None:
    """The components' CloudWatch log groups and the scheduler-error alarm, or None when component logs are off."""
    logs = settings.component_logs
    if not logs.enabled:
        return None
    alarm = logs.scheduler_alarm
    return ComponentLogGroupsArgs(
        prefix=names.log_group_prefix,
        components=[key for key, _ in log_routes(settings)],
        retention_days=logs.retention_days,
        metric_namespace=names.log_metric_namespace,
        alarm=SchedulerErrorAlarm(
            component=Workload.SCHEDULER.value,
            threshold=alarm.threshold,
            evaluation_periods=alarm.evaluation_periods,
            sns_topic_arn=settings.database.alarms.sns_topic_arn,
        ),
        kms_key_arn=settings.encryption.kms_key_arn,
        protection=protection(settings),
        tags=settings.base_tags,
    )


def log_shipper_args(
    settings: Settings, names: AwsNames, oidc_provider_arn: pulumi.Input[str], oidc_issuer: pulumi.Input[str]
) -> LogShipperArgs | None:
    """AWS for Fluent Bit for the Airflow namespace, when this stack installs its own shipper (else None)."""
    if names.log_shipper_role is None:
        return None
    shape = settings.shape
    return LogShipperArgs(
        namespace=f"{settings.namespace}-logs",
        source_namespace=settings.namespace,
        region=settings.aws_region,
        routes=[
            LogRoute(
                key=key,
                log_group_name=f"{names.log_group_prefix}/{key}",
                containers=containers,
                # Task pods run in their own namespace (`<namespace>-tasks`).
                namespace=shape.task_namespace if key == TASK_PODS else None,
            )
            for key, containers in log_routes(settings)
        ],
        # The task container is no component: never in `other`, even should a task pod run in the Airflow namespace.
        excluded_containers=(shape.main_container(Workload.WORKER),),
        oidc_provider_arn=oidc_provider_arn,
        oidc_issuer=oidc_issuer,
        role_name=names.log_shipper_role,
        role_permissions_boundary_arn=settings.irsa.permissions_boundary_arn,
        tags=settings.base_tags,
    )


# The stack's `aws:` config the DR provider copies (everything that decides who it is and what it may touch);
# `aws:region` is replaced by dr.region. Object and list values arrive as JSON text.
DR_PROVIDER_KEYS = {
    "profile": "profile",
    "sharedConfigFiles": "shared_config_files",
    "sharedCredentialsFiles": "shared_credentials_files",
    "assumeRoles": "assume_roles",
    "assumeRole": "assume_roles",
    "assumeRoleWithWebIdentity": "assume_role_with_web_identity",
    "allowedAccountIds": "allowed_account_ids",
    "forbiddenAccountIds": "forbidden_account_ids",
    "defaultTags": "default_tags",
    "ignoreTags": "ignore_tags",
}


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def dr_provider_settings(aws_config: Mapping[str, str | None]) -> dict[str, Any]:
    """The DR provider's arguments from the stack's `aws:` config (key without `aws:` -> raw value): the same
    profile, roles, account guard and default tags as the stack's default provider, in dr.region."""
    found: dict[str, Any] = {}
    for key, argument in DR_PROVIDER_KEYS.items():
        raw = aws_config.get(key)
        if raw is None or raw == "":
            continue
        value = raw if key == "profile" else json.loads(raw)
        if key == "assumeRole":  # the single-role spelling: one role in the chain
            value = [value]
        if argument in ("assume_roles", "assume_role_with_web_identity", "ignore_tags"):
            # The objects' own fields are camelCase in config (roleArn, sessionName, keyPrefixes); tag keys stay.
            # (defaultTags has one field, `tags`, already its snake_case name.)
            objects = value if isinstance(value, list) else [value]
            converted = [{_snake(k): v for k, v in item.items()} for item in objects]
            value = converted if isinstance(value, list) else converted[0]
        if argument in found:
            raise ValueError(f"aws:{key}: set one of aws:assumeRoles and aws:assumeRole")
        found[argument] = value
    return found


def dr_args(
    settings: Settings,
    names: AwsNames,
    account_id: pulumi.Output[str],
    source_db_instance_arn: pulumi.Input[str],
    provider_settings: Mapping[str, Any] | None = None,
    source_db_resource_id: pulumi.Input[str] | None = None,
) -> DisasterRecoveryArgs | None:
    """The copy in `dr.region` (replicated DB backups, replica buckets on the source's baseline), or None."""
    dr = settings.dr
    if not dr.enabled or dr.region is None or dr.kms_key_arn is None:
        return None
    source = buckets_args(settings, account_id)
    replicas = dataclasses.replace(
        source,
        dags=dataclasses.replace(
            source.dags, name=account_id.apply(lambda a: dr_bucket_name(settings, "dags", a)), versioned=True
        ),
        logs=dataclasses.replace(
            source.logs, name=account_id.apply(lambda a: dr_bucket_name(settings, "logs", a)), versioned=True
        ),
        kms_key_arn=dr.kms_key_arn,
    )
    return DisasterRecoveryArgs(
        region=dr.region,
        source_region=settings.aws_region,
        kms_key_arn=dr.kms_key_arn,
        source_db_instance_arn=source_db_instance_arn,
        source_db_resource_id=source_db_resource_id,
        backup_retention_days=dr.backup_retention_days or settings.database.backup_retention_days,
        provider_settings=dict(provider_settings or {}),
        replicas=replicas,
        replicated=("dags", "logs") if dr.replicate_log_bucket else ("dags",),
        replication_role_name=names.replication_role,
        protection=protection(settings),
        tags=settings.base_tags,
    )
