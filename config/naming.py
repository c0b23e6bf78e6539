"""AWS names the program derives: one home, so the config rules can check each against its service's limits.

Kubernetes-side names (service accounts, the chart's objects, our Secrets) come from
`airflow_chart.shape.AirflowShape` (`settings.shape`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from airflow_chart.shape import Workload
from config.identity import publisher_role_name
from config.settings import Settings

# An account id has exactly 12 digits: a stand-in of that length makes config-time checks exact.
ACCOUNT_ID_STAND_IN = "000000000000"
BucketKind = Literal["dags", "logs"]


def bucket_name(settings: Settings, kind: BucketKind, account_id: str) -> str:
    """The bucket's name: configured, else `<namePrefix>-<kind>-<instanceName>-<account>-<region>`.

    S3 names are global: account and region in the default keep two accounts' (or regions')
    stacks of the same instance name from colliding; the instance name (the stack's) keeps two
    stacks of one account apart.
    """
    configured = settings.buckets.dag_bucket_name if kind == "dags" else settings.buckets.log_bucket_name
    return configured or f"{settings.name_prefix}-{kind}-{settings.instance_name}-{account_id}-{settings.aws_region}"


def stack_prefix(settings: Settings) -> str:
    """`<namePrefix>-<instanceName>`: the start of the stack's own role, DB, alarm and LB names.

    The instance name defaults to the stack name, so `dev`, `uat` and `prod` keep `<namePrefix>-<environment>`.
    """
    return f"{settings.name_prefix}-{settings.instance_name}"


@dataclass(frozen=True)
class AwsNames:
    """Names of the AWS resources the program names itself (others are auto-named)."""

    db_identifier: str
    db_final_snapshot: str
    db_security_group: str
    db_monitoring_role: str
    node_role: str | None
    irsa_roles: Mapping[Workload, str]
    load_balancer: str
    """The front door's load balancer (Elastic Load Balancing: 32 characters at most)."""
    lb_controller_role: str | None
    """IAM role of the AWS Load Balancer Controller, when this stack installs it (one per cluster)."""
    publisher_roles: Mapping[str, str] = field(default_factory=dict)
    """DAG publisher name -> IAM role name (`<namePrefix>-<instanceName>-publish-<name>`)."""
    log_group_prefix: str = ""
    """CloudWatch log groups of the components: `<log_group_prefix>/<component>` (`/aws/eks/<cluster>/airflow-…`)."""
    log_metric_namespace: str = ""
    """CloudWatch metric namespace of the metrics the log groups' metric filters publish."""
    log_shipper_role: str | None = None
    """IAM role of the log shipper, when this stack installs one."""
    replication_role: str | None = None
    """IAM role S3 assumes to replicate the buckets to the DR region, when DR is on."""


def aws_names(settings: Settings) -> AwsNames:
    """The AWS names of one stack (`<namePrefix>-<instanceName>-…`)."""
    prefix = stack_prefix(settings)
    identifier = f"{prefix}-metadata"
    return AwsNames(
        db_identifier=identifier,
        db_final_snapshot=f"{identifier}-final",
        db_security_group=f"{identifier}-db",
        db_monitoring_role=f"{identifier}-rds-monitoring",
        node_role=f"{settings.cluster.name}-nodes" if settings.cluster.mode == "create" else None,
        irsa_roles={workload: f"{prefix}-{workload.value}" for workload in settings.shape.workloads},
        load_balancer=prefix,
        lb_controller_role=f"{settings.cluster.name}-aws-lb-controller" if installs_lb_controller(settings) else None,
        publisher_roles={p.name: publisher_role_name(prefix, p.name) for p in settings.dags.publishers},
        log_group_prefix=log_group_prefix(settings),
        log_metric_namespace=f"AirflowPlatform/{prefix}",
        log_shipper_role=f"{prefix}-log-shipper" if installs_log_shipper(settings) else None,
        replication_role=f"{prefix}-s3-replication" if settings.dr.enabled else None,
    )


def log_group_prefix(settings: Settings) -> str:
    """`/aws/eks/<cluster>/<namespace>`: the namespace is unique per stack in a cluster, and is spelled
    `airflow-…` (prefixed when a configured namespace is not) so every group matches `/aws/eks/<cluster>/airflow*`."""
    namespace = settings.namespace
    stack_part = namespace if namespace.startswith("airflow") else f"airflow-{namespace}"
    return f"/aws/eks/{settings.cluster.name}/{stack_part}"


def installs_log_shipper(settings: Settings) -> bool:
    """Whether this stack installs its own log shipper: component logs on and the cluster not shipping them already
    (as configured, else only into a cluster the stack creates, like the load balancer controller)."""
    logs = settings.component_logs
    ships = settings.cluster.mode != "create" if logs.cluster_ships_logs is None else logs.cluster_ships_logs
    return logs.enabled and not ships


def dr_bucket_name(settings: Settings, kind: BucketKind, account_id: str) -> str:
    """The replica of a bucket in the DR region: `<namePrefix>-<kind>-<instanceName>-<account>-<dr.region>`."""
    return f"{settings.name_prefix}-{kind}-{settings.instance_name}-{account_id}-{settings.dr.region}"


def installs_lb_controller(settings: Settings) -> bool:
    """Whether this stack installs the AWS Load Balancer Controller: as configured, else with a cluster it creates."""
    install = settings.front_door.controller.install
    return settings.cluster.mode == "create" if install is None else install


def lb_log_bucket_name(settings: Settings, account_id: str) -> str:
    """The front door's access-log bucket: configured, else `<namePrefix>-lb-logs-<instanceName>-<account>-<region>`."""
    configured = settings.front_door.access_logs.bucket_name
    return configured or f"{settings.name_prefix}-lb-logs-{settings.instance_name}-{account_id}-{settings.aws_region}"
