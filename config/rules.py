"""Cross-field and per-environment rules that a single field cannot express.

Each rule returns Problems; `check_rules` runs them all so one run reports every problem.
"""

from __future__ import annotations

from collections.abc import Callable

from config.errors import Problem
from config.settings import Settings
from config.types import bucket_name_problem


def _prod_invariants(s: Settings) -> list[Problem]:
    if s.environment != "prod":
        return []
    db = s.database
    problems = []
    if not db.multi_az:
        problems.append(Problem("database.multiAz", "prod requires true (standby in a second AZ)", False))
    if not db.deletion_protection:
        problems.append(Problem("database.deletionProtection", "prod requires true", False))
    if db.skip_final_snapshot:
        problems.append(Problem("database.skipFinalSnapshot", "prod requires false (a final snapshot)", True))
    if db.backup_retention_days < 7:
        problems.append(
            Problem("database.backupRetentionDays", "prod requires at least 7 days", db.backup_retention_days)
        )
    if db.alarms.sns_topic_arn is None:
        problems.append(Problem("database.alarms.snsTopicArn", "prod requires an SNS topic for DB alarms"))
    if s.protection.mode == "none":
        problems.append(Problem("protection.mode", "prod requires protect or retainOnDelete", "none"))
    if s.buckets.force_destroy:
        problems.append(Problem("buckets.forceDestroy", "prod requires false", True))
    return problems


def _storage(s: Settings) -> list[Problem]:
    db = s.database
    if db.max_allocated_storage_gib <= db.allocated_storage_gib:
        return [
            Problem(
                "database.maxAllocatedStorageGib",
                f"must be greater than database.allocatedStorageGib ({db.allocated_storage_gib}) "
                "so storage autoscaling can grow",
                db.max_allocated_storage_gib,
            )
        ]
    return []


def _bucket_names(s: Settings) -> list[Problem]:
    problems = []
    named = (
        ("dagBucketName", s.buckets.dag_bucket_name, s.dag_bucket_name),
        ("logBucketName", s.buckets.log_bucket_name, s.log_bucket_name),
    )
    for field, configured, name in named:
        problem = bucket_name_problem(name)
        if problem and configured is None:
            problems.append(Problem("namePrefix", f"derived bucket name {name!r} is invalid: {problem}", s.name_prefix))
        elif problem:
            problems.append(Problem(f"buckets.{field}", problem, name))
    if s.dag_bucket_name == s.log_bucket_name:
        problems.append(Problem("buckets.logBucketName", "must differ from the DAG bucket name", s.log_bucket_name))
    return problems


def _regions(s: Settings) -> list[Problem]:
    problems = []
    arns = (
        ("encryption.kmsKeyArn", s.encryption.kms_key_arn),
        ("database.alarms.snsTopicArn", s.database.alarms.sns_topic_arn),
    )
    for key, arn in arns:
        if arn and arn.split(":")[3] != s.aws_region:
            problems.append(Problem(key, f"must be in the stack's region {s.aws_region} (aws:region)", arn))
    return problems


def _cluster(s: Settings) -> list[Problem]:
    if s.cluster.mode != "create":
        return []
    create = s.cluster.create_settings
    problems = []
    if create.endpoint_public_access and not create.public_access_cidrs:
        problems.append(Problem("cluster.create.publicAccessCidrs", "required when endpointPublicAccess is true", []))
    if create.endpoint_public_access and "0.0.0.0/0" in create.public_access_cidrs:
        problems.append(
            Problem(
                "cluster.create.publicAccessCidrs",
                "must not contain 0.0.0.0/0; list the corporate CIDRs",
                create.public_access_cidrs,
            )
        )
    return problems


def _irsa(s: Settings) -> list[Problem]:
    problems = []
    for role, statements in s.irsa.extra_statements.items():
        for index, statement in enumerate(statements):
            scoped = [a for a in statement.actions if a.split(":")[0] in {"s3", "secretsmanager"}]
            wildcard = [r for r in statement.resources if r.endswith(":::*") or r.endswith(":*")]
            if scoped and wildcard:
                problems.append(
                    Problem(
                        f"irsa.extraStatements.{role}[{index}].resources",
                        "S3 and Secrets Manager actions need exact ARNs or a path prefix, not a whole-service wildcard",
                        wildcard,
                    )
                )
    return problems


RULES: tuple[Callable[[Settings], list[Problem]], ...] = (
    _prod_invariants,
    _storage,
    _bucket_names,
    _regions,
    _cluster,
    _irsa,
)


def check_rules(settings: Settings) -> list[Problem]:
    """Every rule's problems, in a stable order."""
    return [problem for rule in RULES for problem in rule(settings)]
