"""ComponentLogGroups: one CloudWatch log group per Airflow component, an alarm on scheduler errors.

One group per component, not one per stack: each component's retention, KMS key and IAM grant are
exact, Logs Insights queries one component without parsing, and the scheduler's metric filter sees
only the scheduler's lines (a text pattern, no JSON field to match).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.common import Protection
from components.grants import Grantable

# Shipping needs only these two: the groups exist (this component creates them) and the shipper never
# creates groups, sets retention or lists streams (fluent-bit's cloudwatch_logs output with auto_create_group off).
WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# What the scheduler logs at error level: Airflow 2's `… ERROR - …` / `… CRITICAL - …` and Airflow 3's
# structlog console lines `… [error    ] …` / `… [critical ] …`. CloudWatch terms are case-sensitive; `?` is OR.
SCHEDULER_ERROR_PATTERN = '?"ERROR - " ?"CRITICAL - " ?"[error" ?"[critical"'
ALARM_PERIOD_SECONDS = 300


@dataclass(frozen=True)
class SchedulerErrorAlarm:
    """The alarm on the scheduler group's error lines."""

    component: str
    """The component whose group is watched (`scheduler`)."""
    threshold: int
    """Error lines in one 5-minute period that count as breaching."""
    evaluation_periods: int = 1
    """Consecutive breaching periods before ALARM. Default: 1."""
    sns_topic_arn: str | None = None
    """Topic notified on ALARM and OK. Default: none (the alarm only shows in CloudWatch)."""


@dataclass(frozen=True)
class ComponentLogGroupsArgs:
    """Inputs of ComponentLogGroups: where the groups live and how long they keep logs."""

    prefix: str
    """Group name prefix, e.g. `/aws/eks/data-prod/airflow-prod`; a group is `<prefix>/<component>`."""
    components: Sequence[str]
    """One group per entry, e.g. scheduler, api-server, triggerer, dag-processor, pgbouncer, other."""
    retention_days: int
    """Retention (one of CloudWatch's allowed values)."""
    metric_namespace: str
    """Namespace of the metric the scheduler filter publishes."""
    alarm: SchedulerErrorAlarm | None = None
    """The scheduler-error alarm. Default: none."""
    kms_key_arn: str | None = None
    """Customer KMS key of the groups (its key policy must admit `logs.<region>.amazonaws.com`).
    Default: CloudWatch's own encryption."""
    protection: Protection = field(default_factory=Protection)
    """Protection of the groups. Default: retained on delete."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of every resource. Default: none."""

    def __post_init__(self) -> None:
        if len(set(self.components)) != len(self.components) or not self.components:
            raise ValueError(f"components: distinct names, at least one (given {list(self.components)})")
        if self.alarm is not None and self.alarm.component not in self.components:
            raise ValueError(f"alarm.component {self.alarm.component!r} has no group")

    def group_name(self, component: str) -> str:
        """The log group of one component."""
        return f"{self.prefix}/{component}"


def write_statements(group_arns: Sequence[str]) -> list[dict[str, Any]]:
    """Create streams in and put events into exactly these groups (the group ARN and its streams)."""
    resources = [arn for group in sorted(group_arns) for arn in (group, f"{group}:log-stream:*")]
    return [{"Sid": "ShipComponentLogs", "Effect": "Allow", "Action": list(WRITE_ACTIONS), "Resource": resources}]


class ComponentLogGroups(pulumi.ComponentResource):
    """The components' log groups; `grant_write(role)` lets a shipper write to them and nowhere else."""

    def __init__(self, name: str, args: ComponentLogGroupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-platform:logging:ComponentLogGroups", name, None, opts)
        self._name = name
        self.groups: dict[str, aws.cloudwatch.LogGroup] = {
            component: aws.cloudwatch.LogGroup(
                f"{name}-{component}",
                name=args.group_name(component),
                retention_in_days=args.retention_days,
                kms_key_id=args.kms_key_arn,
                tags=dict(args.tags),
                opts=args.protection.options(self),
            )
            for component in args.components
        }
        self.names: dict[str, pulumi.Output[str]] = {c: g.name for c, g in self.groups.items()}
        if args.alarm is not None:
            self._alarm(name, args, args.alarm)
        self.register_outputs({"groupNames": self.names})

    def grant_write(self, role: Grantable) -> aws.iam.RolePolicy:
        """Let ``role`` create streams and put events in these groups only."""
        arns = pulumi.Output.all(*[group.arn for group in self.groups.values()]).apply(write_statements)
        return role.add_policy("component-logs-write", arns)

    def _alarm(self, name: str, args: ComponentLogGroupsArgs, alarm: SchedulerErrorAlarm) -> None:
        metric = f"{alarm.component.title().replace('-', '')}Errors"
        metric_filter = aws.cloudwatch.LogMetricFilter(
            f"{name}-{alarm.component}-errors",
            name=f"{alarm.component}-errors",
            log_group_name=self.groups[alarm.component].name,
            pattern=SCHEDULER_ERROR_PATTERN,
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                name=metric, namespace=args.metric_namespace, value="1", default_value="0", unit="Count"
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        actions = [alarm.sns_topic_arn] if alarm.sns_topic_arn else []
        aws.cloudwatch.MetricAlarm(
            f"{name}-{alarm.component}-errors-alarm",
            name=f"{args.prefix.removeprefix('/').replace('/', '-')}-{alarm.component}-errors",
            alarm_description=f"{args.group_name(alarm.component)}: at least {alarm.threshold} error lines "
            f"in 5 minutes, {alarm.evaluation_periods} period(s) in a row",
            namespace=args.metric_namespace,
            metric_name=metric,
            statistic="Sum",
            period=ALARM_PERIOD_SECONDS,
            evaluation_periods=alarm.evaluation_periods,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=float(alarm.threshold),
            # No lines at all is no error (the filter's default value also reports 0 once lines arrive).
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[metric_filter]),
        )
