"""RDS: encrypted, private, TLS forced by the parameter group; durable and protected in prod."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import Deferred, as_list, is_prod, of_types, referenced

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"  # Aurora or Multi-AZ DB cluster
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
MIN_PROD_BACKUP_DAYS = 7


def _storage_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in (INSTANCE, CLUSTER) and args.props.get("storageEncrypted") is not True:
        what = "instance" if args.resource_type == INSTANCE else "cluster"
        report(
            f"RDS {what} {args.name}: set storage_encrypted=True (optionally kms_key_id). Encryption is fixed at "
            "creation: an existing unencrypted instance must be restored from an encrypted snapshot copy."
        )


def _not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in (INSTANCE, CLUSTER_INSTANCE) and args.props.get("publiclyAccessible") is True:
        report(
            f"RDS instance {args.name}: set publicly_accessible=False; reach it from the cluster's security group only."
        )


def _prod_safeguards(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (INSTANCE, CLUSTER) or not is_prod(args.props, args.stack_tags):
        return
    props = args.props
    name = f"{'instance' if args.resource_type == INSTANCE else 'cluster'} {args.name}"
    if props.get("deletionProtection") is not True:
        report(f"RDS {name} (prod): set deletion_protection=True.")
    if props.get("skipFinalSnapshot") is True or not props.get("finalSnapshotIdentifier"):
        report(f"RDS {name} (prod): set skip_final_snapshot=False and a final_snapshot_identifier.")
    if args.resource_type == INSTANCE and props.get("multiAz") is not True:
        report(f"RDS {name} (prod): set multi_az=True (standby in a second AZ).")
    zones = as_list(props.get("availabilityZones"))
    if args.resource_type == CLUSTER and zones and len(set(map(str, zones))) < 2:
        report(f"RDS {name} (prod): spread availability_zones over at least two AZs (given {zones}).")
    retention = props.get("backupRetentionPeriod")
    if not isinstance(retention, int | float) or retention < MIN_PROD_BACKUP_DAYS:
        report(
            f"RDS {name} (prod): set backup_retention_period to at least {MIN_PROD_BACKUP_DAYS} days "
            f"(given {retention})."
        )
    if not args.opts.protect:
        report(f"RDS {name} (prod): register it with ResourceOptions(protect=True).")


# Database -> (input naming its parameter group, the group's type, its class in pulumi_aws).
FORCE_SSL_LINKS = {
    INSTANCE: ("parameterGroupName", PARAMETER_GROUP, "aws.rds.ParameterGroup", "parameter_group_name"),
    CLUSTER: (
        "dbClusterParameterGroupName",
        CLUSTER_PARAMETER_GROUP,
        "aws.rds.ClusterParameterGroup",
        "db_cluster_parameter_group_name",
    ),
}


def _force_ssl(args: StackValidationArgs, report: ReportViolation) -> None:
    deferred = Deferred()
    for instance in of_types(args.resources, FORCE_SSL_LINKS):
        prop, group_type, group_class, argument = FORCE_SSL_LINKS[instance.resource_type]
        groups = of_types(args.resources, [group_type])
        with deferred.check():
            linked = referenced(instance, prop, groups)
            if not linked:
                report(
                    f"RDS {'instance' if instance.resource_type == INSTANCE else 'cluster'} {instance.name}: set "
                    f"{argument} to an {group_class} of this stack with rds.force_ssl = 1 (the default group "
                    "cannot be checked or changed).",
                    instance.urn,
                )
                continue
            for group in linked:
                values = {
                    str(p.get("name")): str(p.get("value"))
                    for p in group.props.get("parameters") or []
                    if p.get("name") is not None
                }
                if values.get("rds.force_ssl") != "1":
                    report(
                        f"RDS parameter group {group.name} of instance {instance.name}: add the parameter "
                        f"rds.force_ssl = 1 (given {values.get('rds.force_ssl', 'unset')}).",
                        group.urn,
                    )
    deferred.finish()


POLICIES = [
    ResourceValidationPolicy(
        name="rds-storage-encrypted",
        description="RDS instances and clusters encrypt their storage.",
        validate=_storage_encrypted,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="rds-not-publicly-accessible",
        description="RDS instances are not publicly accessible.",
        validate=_not_public,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="rds-force-ssl",
        description="Every RDS instance or cluster uses a parameter group of this stack with rds.force_ssl = 1.",
        validate=_force_ssl,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="rds-prod-safeguards",
        description="Prod RDS instances and clusters: deletion protection, final snapshot, Multi-AZ, backups >= 7 days, protect.",
        validate=_prod_safeguards,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
