"""Config of the operations the platform adds around Airflow: component logs in CloudWatch, the DR copy.

Rules that need more than one field live in config/operations_rules.py.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from config.models import Model
from config.types import AwsRegion, KmsKeyArn

# The retention periods CloudWatch Logs accepts (PutRetentionPolicy); anything else is refused by the API.
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


class SchedulerAlarmConfig(Model):
    """The alarm on errors the scheduler logs."""

    threshold: int = Field(
        default=5, ge=1, le=10000, description="alarm when the scheduler logs at least this many errors in 5 minutes"
    )
    evaluation_periods: int = Field(
        default=1, ge=1, le=12, description="consecutive 5-minute periods above the threshold before the alarm fires"
    )


class ComponentLogsConfig(Model):
    """Logs of the Airflow components (scheduler, API server, triggerer, dag-processor, PgBouncer) in CloudWatch."""

    enabled: bool = Field(default=True, description="create the log groups (and, unless shipped already, the shipper)")
    retention_days: int = Field(
        default=30,
        description="CloudWatch retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, "
        "1827, 2192, 2557, 2922, 3288 or 3653 days",
    )
    cluster_ships_logs: bool | None = Field(
        default=None,
        description="the cluster already runs a log shipper: only the log groups are created (README: hooking it "
        "up); default: false with cluster.mode create (the stack installs its shipper), true with an existing cluster",
    )
    include_task_pods: bool = Field(
        default=False, description="also ship the task pods' stdout (task logs already go to the log bucket)"
    )
    scheduler_alarm: SchedulerAlarmConfig = Field(
        default_factory=SchedulerAlarmConfig, description="alarm on scheduler errors, to database.alarms.snsTopicArn"
    )

    @field_validator("retention_days")
    @classmethod
    def _cloudwatch_retention(cls, value: int) -> int:
        if value not in CLOUDWATCH_RETENTION_DAYS:
            allowed = ", ".join(str(days) for days in CLOUDWATCH_RETENTION_DAYS)
            raise ValueError(f"CloudWatch Logs keeps logs for one of {allowed} days")
        return value


class DisasterRecoveryConfig(Model):
    """A copy of the metadata DB's backups and of the buckets in a second region."""

    enabled: bool = Field(default=False, description="replicate DB backups and buckets to dr.region")
    region: AwsRegion | None = Field(default=None, description="the DR region; must differ from aws:region")
    kms_key_arn: KmsKeyArn | None = Field(
        default=None, description="customer KMS key in dr.region for the replicated backups and replica buckets"
    )
    backup_retention_days: int | None = Field(
        default=None, ge=1, le=35, description="days the replicated DB backups are kept; default: backupRetentionDays"
    )
    replicate_log_bucket: bool = Field(
        default=False, description="also replicate the task-log bucket (versioning is then turned on for it)"
    )
