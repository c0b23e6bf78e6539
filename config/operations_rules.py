"""Rules of `dr` that one field cannot express.

They take plain values (the section, the environment, the stack's region) so config/rules.py can
register them without this module importing Settings.
"""

from __future__ import annotations

from config.errors import Problem
from config.operations import DisasterRecoveryConfig


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def dr_problems(
    dr: DisasterRecoveryConfig,
    environment: str,
    stack_region: str,
    backup_retention_days: int,
    source_kms_key_arn: str | None = None,
) -> list[Problem]:
    """The DR region and key: set when DR is on, a second region of the same partition, the key in it; the
    stack's own key too (S3 re-encrypts replicas with the DR key only for SSE-KMS source objects)."""
    if not dr.enabled:
        return []
    problems = []
    why = " (prod turns dr.enabled on)" if environment == "prod" else ""
    if dr.region is None:
        problems.append(
            Problem("dr.region", f"required when dr.enabled is true{why}: a second region, e.g. eu-central-1")
        )
    elif dr.region == stack_region:
        problems.append(
            Problem("dr.region", f"must differ from the stack's region {stack_region} (aws:region)", dr.region)
        )
    elif _partition(dr.region) != _partition(stack_region):
        problems.append(
            Problem("dr.region", f"must be in the same AWS partition as the stack's region {stack_region}", dr.region)
        )
    if dr.kms_key_arn is None:
        problems.append(
            Problem(
                "dr.kmsKeyArn",
                f"required when dr.enabled is true{why}: a customer KMS key in dr.region for the replicated backups "
                "and buckets",
            )
        )
    elif dr.region is not None and dr.kms_key_arn.split(":")[3] != dr.region:
        problems.append(Problem("dr.kmsKeyArn", f"must be a key in dr.region {dr.region}", dr.kms_key_arn))
    if source_kms_key_arn is None:
        problems.append(
            Problem(
                "encryption.kmsKeyArn",
                f"required when dr.enabled is true{why}: S3 encrypts replicas with dr.kmsKeyArn only when the source "
                "objects are SSE-KMS",
            )
        )
    if backup_retention_days == 0:
        problems.append(
            Problem(
                "database.backupRetentionDays",
                "must be at least 1 when dr.enabled is true: only automated backups can be replicated",
                0,
            )
        )
    return problems
