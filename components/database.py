"""MetadataDatabase: Airflow's RDS PostgreSQL metadata DB, private and TLS-only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.common import DatabaseEndpoint, Protection, metadata_uri, partition, service_trust_policy, tagged
from config.connections import effective_max_connections
from config.models import DatabaseConfig
from config.rds_sizing import GIB

POSTGRES_PORT = 5432
RDS_CA = "rds-ca-rsa2048-g1"
# RDS refuses '/', '@', '"' and spaces in master passwords; these specials are safe everywhere.
PASSWORD_SPECIALS = "-_!#^*+=:"


@dataclass(frozen=True)
class MetadataDatabaseArgs:
    """Inputs of MetadataDatabase."""

    config: DatabaseConfig
    identifier: str
    final_snapshot_identifier: str
    security_group_name: str
    monitoring_role_name: str
    region: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[str]
    client_security_group_id: pulumi.Input[str]
    kms_key_arn: str | None
    protection: Protection
    tags: Mapping[str, str] = field(default_factory=dict)


def parameter_group_parameters(config: DatabaseConfig) -> list[aws.rds.ParameterGroupParameterArgs]:
    """Parameters the DB runs with: TLS forced, optional pinned max_connections."""
    parameters = [aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1", apply_method="immediate")]
    if config.max_connections is not None:
        parameters.append(
            aws.rds.ParameterGroupParameterArgs(
                name="max_connections", value=str(config.max_connections), apply_method="pending-reboot"
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
        cfg = args.config
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
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-workloads",
            security_group_id=self.security_group.id,
            referenced_security_group_id=args.client_security_group_id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description="PostgreSQL from the EKS workloads",
            tags=tags,
            opts=stateful,
        )
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
        self.port = self.instance.port
        self.identifier = args.identifier
        self._alarms(name, args)
        self.register_outputs({"address": self.address, "port": self.port, "arn": self.instance.arn})

    def endpoint(self) -> DatabaseEndpoint:
        """Address, port, database, user and (secret) password, for the Airflow release."""
        return DatabaseEndpoint(
            address=self.address,
            port=self.port,
            name=self.config.db_name,
            username=self.config.master_username,
            password=self.password,
        )

    def connection_uri(self, sslmode: str = "require") -> pulumi.Output[str]:
        """SQLAlchemy/libpq URI for the master user, URL-encoded, as a secret."""
        cfg = self.config
        return pulumi.Output.secret(
            pulumi.Output.all(self.password, self.address, self.port).apply(
                lambda v: metadata_uri(cfg.master_username, v[0], v[1], v[2], cfg.db_name, sslmode)
            )
        )

    def _monitoring_role(self, name: str, args: MetadataDatabaseArgs) -> pulumi.Output[str]:
        role = aws.iam.Role(
            f"{name}-monitoring-role",
            name=args.monitoring_role_name,
            assume_role_policy=service_trust_policy("monitoring.rds.amazonaws.com"),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=role.name,
            policy_arn=f"arn:{partition(args.region)}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return pulumi.Output.all(role.arn, attachment.id).apply(lambda v: v[0])

    def _alarms(self, name: str, args: MetadataDatabaseArgs) -> None:
        alarms = args.config.alarms
        actions = [alarms.sns_topic_arn] if alarms.sns_topic_arn else []
        connection_limit = effective_max_connections(args.config)
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
