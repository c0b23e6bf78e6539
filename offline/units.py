"""Human units for the plan: sizes in GiB, durations in s/min/h, next to the raw input values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

GIB = 1024**3
# CloudWatch metrics whose alarm threshold is in bytes.
BYTE_METRICS = frozenset(
    {"FreeStorageSpace", "FreeableMemory", "FreeLocalStorage", "SwapUsage", "TransactionLogsDiskUsage"}
)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def gib(value: float) -> str:
    """A size given in GiB."""
    return f"{_number(value)} GiB"


def bytes_as_gib(value: float) -> str:
    """A size given in bytes, shown in GiB."""
    return gib(value / GIB)


def duration(seconds: float) -> str:
    """Seconds as h / min / s, e.g. 900 -> 15 min, 90 -> 1 min 30 s."""
    total = int(seconds)
    if total != seconds or total < 60:
        return f"{_number(seconds)} s"
    parts = []
    for unit, size in (("h", 3600), ("min", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts)


def days(value: float) -> str:
    """A retention in days."""
    return f"{_number(value)} day" + ("" if value == 1 else "s")


def _alarm_threshold(value: float, inputs: Mapping[str, Any]) -> str | None:
    metric = inputs.get("metricName")
    if metric in BYTE_METRICS:
        return bytes_as_gib(value)
    if metric == "CPUUtilization":
        return f"{_number(value)} %"
    return None


def _monitoring(value: float, _: Mapping[str, Any]) -> str:
    return "off" if value == 0 else f"every {duration(value)}"


Format = Callable[[float, Mapping[str, Any]], "str | None"]

HUMAN: dict[tuple[str, str], Format] = {
    ("aws:rds/instance:Instance", "allocatedStorage"): lambda v, _: gib(v),
    ("aws:rds/instance:Instance", "maxAllocatedStorage"): lambda v, _: gib(v),
    ("aws:rds/instance:Instance", "backupRetentionPeriod"): lambda v, _: days(v),
    ("aws:rds/instance:Instance", "performanceInsightsRetentionPeriod"): lambda v, _: days(v),
    ("aws:rds/instance:Instance", "monitoringInterval"): _monitoring,
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "threshold"): _alarm_threshold,
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "period"): lambda v, _: duration(v),
    ("eks:index:ManagedNodeGroup", "diskSize"): lambda v, _: gib(v),
    ("aws:eks/nodeGroup:NodeGroup", "diskSize"): lambda v, _: gib(v),
    ("kubernetes:helm.sh/v3:Release", "timeout"): lambda v, _: duration(v),
    ("aws:lb/targetGroup:TargetGroup", "deregistrationDelay"): lambda v, _: duration(v),
}


def human(resource_type: str, key: str, value: Any, inputs: Mapping[str, Any]) -> str | None:
    """The value in human units when the unit of this input is known, else None."""
    fmt = HUMAN.get((resource_type, key))
    if fmt is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return fmt(value, inputs)
