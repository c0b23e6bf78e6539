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

from .common import Deferred, is_prod, of_types, referenced

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
MIN_PROD_BACKUP_DAYS = 7


def _storage_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == INSTANCE and args.props.get("storageEncrypted") is not True:
        report(
            f"RDS instance {args.name}: set storage_encrypted=True (optionally kms_key_id). Encryption is fixed at "
            "creation: an existing unencrypted instance must be restored from an encrypted snapshot copy."
        )


def _not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == INSTANCE and args.props.get("publiclyAccessible") is True:
        report(
            f"RDS instance {args.name}: set publicly_accessible=False; reach it from the cluster's security group only."
        )


def _prod_safeguards(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != INSTANCE or not is_prod(args.props):
        return
    props = args.props
    name = args.name
    if props.get("deletionProtection") is not True:
        report(f"RDS instance {name} (prod): set deletion_protection=True.")
    if props.get("skipFinalSnapshot") is True or not props.get("finalSnapshotIdentifier"):
        report(f"RDS instance {name} (prod): set skip_final_snapshot=False and a final_snapshot_identifier.")
    if props.get("multiAz") is not True:
        report(f"RDS instance {name} (prod): set multi_az=True (standby in a second AZ).")
    retention = props.get("backupRetentionPeriod")
    if not isinstance(retention, int | float) or retention < MIN_PROD_BACKUP_DAYS:
        report(
            f"RDS instance {name} (prod): set backup_retention_period to at least {MIN_PROD_BACKUP_DAYS} days "
            f"(given {retention})."
        )
    if not args.opts.protect:
        report(f"RDS instance {name} (prod): register it with ResourceOptions(protect=True).")


def _force_ssl(args: StackValidationArgs, report: ReportViolation) -> None:
    groups = of_types(args.resources, [PARAMETER_GROUP])
    deferred = Deferred()
    for instance in of_types(args.resources, [INSTANCE]):
        with deferred.check():
            linked = referenced(instance, "parameterGroupName", groups)
            if not linked:
                report(
                    f"RDS instance {instance.name}: set parameter_group_name to an aws.rds.ParameterGroup of this "
                    "stack with rds.force_ssl = 1 (the default group cannot be checked or changed).",
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
        description="RDS instances encrypt their storage.",
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
        description="Every RDS instance uses a parameter group of this stack with rds.force_ssl = 1.",
        validate=_force_ssl,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="rds-prod-safeguards",
        description="Prod RDS instances: deletion protection, final snapshot, Multi-AZ, backups >= 7 days, protect.",
        validate=_prod_safeguards,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
