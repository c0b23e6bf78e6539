"""MetadataDatabase: Airflow's RDS PostgreSQL metadata DB, private and TLS-only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.common import DatabaseEndpoint, Protection, service_role, tagged
from components.connections import Connections

POSTGRES_PORT = 5432
RDS_CA = "rds-ca-rsa2048-g1"
# RDS refuses '/', '@', '"' and spaces in master passwords; these specials are safe everywhere.
PASSWORD_SPECIALS = "-_!#^*+=:"


GIB = 1024**3


@dataclass(frozen=True)
class DatabaseAlarms:
    """CloudWatch alarms on the instance."""

    cpu_percent: int
    """CPU utilisation threshold (15 minutes above it alarms)."""
    free_storage_gib: int
    """Free storage threshold in GiB."""
    connections_percent: int
    """Connections threshold, % of max_connections."""
    sns_topic_arn: str | None = None
    """Topic notified on ALARM and OK. Default: none (alarms only show in CloudWatch)."""


@dataclass(frozen=True)
class PostgresInstance:
    """The RDS PostgreSQL instance, in RDS's own terms."""

    instance_class: str
    """e.g. db.r6g.large."""
    engine_version: str
    """A major (`17`, RDS picks the minor) or major.minor."""
    allocated_storage_gib: int
    """Initial gp3 storage."""
    max_allocated_storage_gib: int
    """Storage autoscaling ceiling."""
    multi_az: bool
    """Standby in a second AZ."""
    backup_retention_days: int
    """Automated backups kept (0 turns them off)."""
    deletion_protection: bool
    """RDS refuses to delete the instance."""
    skip_final_snapshot: bool
    """No snapshot when the instance is deleted."""
    max_connections: int
    """The instance's max_connections (the alarm's 100 %)."""
    alarms: DatabaseAlarms
    """CloudWatch alarms."""
    pinned_max_connections: int | None = None
    """Set max_connections in the parameter group. Default: RDS's formula for the class."""
    performance_insights: bool = True
    """Performance Insights on. Default: on."""
    performance_insights_retention_days: int = 7
    """7 (free) or a multiple of 31. Default: 7."""
    monitoring_interval_seconds: int = 0
    """Enhanced monitoring interval; 0 turns it off. Default: 0."""
    log_exports: Sequence[str] = ("postgresql", "upgrade")
    """CloudWatch log exports. Default: postgresql and upgrade."""
    maintenance_window: str = "sun:03:00-sun:04:00"
    """UTC. Default: sun:03:00-sun:04:00."""
    backup_window: str = "01:00-02:00"
    """UTC. Default: 01:00-02:00."""
    apply_immediately: bool = False
    """Apply changes now, not in the maintenance window. Default: no."""
    db_name: str = "airflow"
    """Database created with the instance. Default: airflow."""
    master_username: str = "airflow_admin"
    """Master user. Default: airflow_admin."""

    @property
    def postgres_major(self) -> int:
        """Major version, e.g. 17."""
        return int(self.engine_version.split(".")[0])


@dataclass(frozen=True)
class MetadataDatabaseArgs:
    """Inputs of MetadataDatabase: the instance and where and how it lives."""

    instance: PostgresInstance
    """The RDS instance."""
    identifier: str
    """RDS identifier (also the subnet group's name)."""
    final_snapshot_identifier: str
    """Name of the snapshot taken on delete (unless skipped)."""
    security_group_name: str
    """Name of the instance's security group (clients are admitted with `connections.allow_from`)."""
    monitoring_role_name: str
    """Name of the enhanced-monitoring role (when monitoring is on)."""
    region: str
    """AWS region (for partition-aware ARNs)."""
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[str]
    """Private subnets in at least two AZs."""
    kms_key_arn: str | None = None
    """Customer KMS key for storage and Performance Insights. Default: the AWS-managed key."""
    protection: Protection = field(default_factory=Protection)
    """Protection of the instance and what keeps it safe. Default: retained on delete."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of every resource. Default: none."""


def parameter_group_parameters(config: PostgresInstance) -> list[aws.rds.ParameterGroupParameterArgs]:
    """Parameters the DB runs with: TLS forced, optional pinned max_connections."""
    parameters = [aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1", apply_method="immediate")]
    if config.pinned_max_connections is not None:
        parameters.append(
            aws.rds.ParameterGroupParameterArgs(
                name="max_connections", value=str(config.pinned_max_connections), apply_method="pending-reboot"
            )
        )
    return parameters


class MetadataDatabase(pulumi.ComponentResource):
    """RDS PostgreSQL for Airflow's metadata, reachable only from the cluster's workloads."""

    address: pulumi.Output[str]
    port: pulumi.Output[int]
    password: pulumi.Output[str]

    def __init__(self, name: str, args: MetadataDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:database:MetadataDatabase", name, None, opts)
        cfg = args.instance
        self.config = cfg
        stateful = args.protection.options(self)
        tags = tagged(args.tags, args.identifier)

        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=args.identifier,
            description=f"Private subnets of {args.identifier}",
            subnet_ids=list(args.subnet_ids),
            tags=tags,
            opts=stateful,
        )
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=args.security_group_name,
            description=f"PostgreSQL clients of {args.identifier}",
            vpc_id=args.vpc_id,
            tags=tagged(args.tags, args.security_group_name),
            opts=stateful,
        )
        # Clients are admitted by intent (`database.connections.allow_from(group, port)`), never by CIDR.
        self.connections = Connections(self, name, self.security_group.id, tags=tags, protection=stateful)
        parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{cfg.postgres_major}",
            description=f"{args.identifier}: TLS required",
            parameters=parameter_group_parameters(cfg),
            tags=tags,
            opts=stateful,
        )
        master_password = random.RandomPassword(
            f"{name}-master-password",
            length=32,
            special=True,
            override_special=PASSWORD_SPECIALS,
            min_lower=2,
            min_upper=2,
            min_numeric=2,
            min_special=2,
            opts=stateful,
        )
        self.password = pulumi.Output.secret(master_password.result)
        monitoring_role_arn = self._monitoring_role(name, args) if cfg.monitoring_interval_seconds else None

        self.instance = aws.rds.Instance(
            f"{name}-instance",
            identifier=args.identifier,
            engine="postgres",
            engine_version=cfg.engine_version,
            instance_class=cfg.instance_class,
            db_name=cfg.db_name,
            username=cfg.master_username,
            password=self.password,
            port=POSTGRES_PORT,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=parameter_group.name,
            publicly_accessible=False,
            ca_cert_identifier=RDS_CA,
            storage_type="gp3",
            allocated_storage=cfg.allocated_storage_gib,
            max_allocated_storage=cfg.max_allocated_storage_gib,
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            multi_az=cfg.multi_az,
            backup_retention_period=cfg.backup_retention_days,
            backup_window=cfg.backup_window,
            maintenance_window=cfg.maintenance_window,
            copy_tags_to_snapshot=True,
            deletion_protection=cfg.deletion_protection,
            skip_final_snapshot=cfg.skip_final_snapshot,
            final_snapshot_identifier=None if cfg.skip_final_snapshot else args.final_snapshot_identifier,
            delete_automated_backups=cfg.skip_final_snapshot,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            apply_immediately=cfg.apply_immediately,
            performance_insights_enabled=cfg.performance_insights,
            performance_insights_retention_period=cfg.performance_insights_retention_days
            if cfg.performance_insights
            else None,
            performance_insights_kms_key_id=args.kms_key_arn if cfg.performance_insights else None,
            monitoring_interval=cfg.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role_arn,
            enabled_cloudwatch_logs_exports=list(cfg.log_exports),
            iam_database_authentication_enabled=False,
            tags=tags,
            opts=stateful,
        )
        self.address = self.instance.address
        self.arn: pulumi.Output[str] = self.instance.arn
        self.port = self.instance.port
        self.identifier = args.identifier
        self._alarms(name, args)
        self.register_outputs({"address": self.address, "port": self.port, "arn": self.instance.arn})

    def endpoint(self, reachable_after: Sequence[pulumi.Resource] = ()) -> DatabaseEndpoint:
        """Address, port, database, user and (secret) password, for the Airflow release.

        ``reachable_after``: the rules that admit the client (from `connections.allow_from`). The
        address carries them as dependencies, so whatever connects with it (the DB bootstrap Job,
        the chart's pods) is created only once the security group lets it in.
        """
        address: pulumi.Input[str] = self.address
        if reachable_after:
            address = pulumi.Output.all(self.address, *(rule.urn for rule in reachable_after)).apply(lambda v: v[0])
        return DatabaseEndpoint(
            address=address,
            port=self.port,
            name=self.config.db_name,
            username=self.config.master_username,
            password=self.password,
        )

    def _monitoring_role(self, name: str, args: MetadataDatabaseArgs) -> pulumi.Output[str]:
        role, [attachment] = service_role(
            self,
            f"{name}-monitoring",
            role_name=args.monitoring_role_name,
            service="monitoring.rds.amazonaws.com",
            managed_policies={"policy": "service-role/AmazonRDSEnhancedMonitoringRole"},
            region=args.region,
            tags=args.tags,
        )
        return pulumi.Output.all(role.arn, attachment.id).apply(lambda v: v[0])

    def _alarms(self, name: str, args: MetadataDatabaseArgs) -> None:
        alarms = args.instance.alarms
        actions = [alarms.sns_topic_arn] if alarms.sns_topic_arn else []
        connection_limit = args.instance.max_connections
        specs = (
            ("cpu", "CPUUtilization", "Average", "GreaterThanThreshold", float(alarms.cpu_percent), 3,
             f"CPU above {alarms.cpu_percent}% for 15 minutes"),
            ("free-storage", "FreeStorageSpace", "Minimum", "LessThanThreshold",
             float(alarms.free_storage_gib * GIB), 2, f"less than {alarms.free_storage_gib} GiB free storage"),
            ("connections", "DatabaseConnections", "Maximum", "GreaterThanThreshold",
             float(connection_limit * alarms.connections_percent // 100), 3,
             f"connections above {alarms.connections_percent}% of max_connections ({connection_limit})"),
        )  # fmt: skip
        for suffix, metric, statistic, comparison, threshold, periods, description in specs:
            aws.cloudwatch.MetricAlarm(
                f"{name}-alarm-{suffix}",
                name=f"{args.identifier}-{suffix}",
                alarm_description=f"{args.identifier}: {description}",
                namespace="AWS/RDS",
                metric_name=metric,
                dimensions={"DBInstanceIdentifier": args.identifier},
                statistic=statistic,
                period=300,
                evaluation_periods=periods,
                comparison_operator=comparison,
                threshold=threshold,
                treat_missing_data="missing",
                alarm_actions=actions,
                ok_actions=actions,
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.instance]),
            )
