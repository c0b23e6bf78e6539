"""Per-environment deltas. A stack file only states what differs from its profile.

What every environment shares is a model default (config/models.py, config/airflow_models.py);
a profile holds only what differs per environment (a test refuses a profile value equal to the
model default). Values use the stack-file spelling (camelCase): they are merged under the raw
stack config before validation.
"""

from __future__ import annotations

import re
from typing import Any


def _sizing(replicas: int, requests: tuple[str, str], limits: tuple[str, str]) -> dict[str, Any]:
    return {
        "replicas": replicas,
        "resources": {
            "requests": {"cpu": requests[0], "memory": requests[1]},
            "limits": {"cpu": limits[0], "memory": limits[1]},
        },
    }


_SMALL = (("100m", "256Mi"), ("500m", "512Mi"))
_LARGE = (("500m", "1Gi"), ("2", "2Gi"))


def _airflow(replicas: int, size: tuple[tuple[str, str], tuple[str, str]], **rest: Any) -> dict[str, Any]:
    component = _sizing(replicas, *size)
    return {
        "scheduler": component,
        "apiServer": {**component, "hpa": {"enabled": replicas > 1}},
        "triggerer": component,
        "dagProcessor": component,
        "worker": {"resources": component["resources"]},
        "podDisruptionBudgets": replicas > 1,
        "spreadAcrossZones": replicas > 1,
        **rest,
    }


_BY_ENVIRONMENT: dict[str, dict[str, Any]] = {
    "dev": {
        "database": {
            "instanceClass": "db.t4g.medium",
            "allocatedStorageGib": 20,
            "maxAllocatedStorageGib": 100,
            "multiAz": False,
            "backupRetentionDays": 1,
            "deletionProtection": False,
            "skipFinalSnapshot": True,
            "performanceInsights": True,
            "monitoringIntervalSeconds": 0,
            "applyImmediately": True,
            "alarms": {"cpuPercent": 90, "freeStorageGib": 5, "connectionsPercent": 90},
        },
        "buckets": {"logRetentionDays": 14, "forceDestroy": True},
        "componentLogs": {"retentionDays": 7},
        "protection": {"mode": "none"},
        "airflow": _airflow(
            1,
            _SMALL,
            parallelism=32,
            pgbouncer={"enabled": False},
            networkPolicies=False,
            exposeConfig="non-sensitive-only",  # True would show the DB password and the Fernet key
            adminUser={"create": True},
        ),
    },
    "uat": {
        "database": {
            "instanceClass": "db.t4g.large",
            "allocatedStorageGib": 50,
            "maxAllocatedStorageGib": 200,
            "multiAz": False,
            "backupRetentionDays": 7,
            "deletionProtection": True,
            "skipFinalSnapshot": False,
            "performanceInsights": True,
            "monitoringIntervalSeconds": 60,
            "applyImmediately": False,
            "alarms": {"cpuPercent": 85, "freeStorageGib": 10, "connectionsPercent": 85},
        },
        "buckets": {"logRetentionDays": 30, "forceDestroy": False},
        "protection": {"mode": "retainOnDelete"},
        "airflow": _airflow(
            1,
            _SMALL,
            parallelism=64,
            pgbouncer={"enabled": True, "replicas": 1, "maxClientConn": 500, "metadataPoolSize": 50},
            networkPolicies=True,
            exposeConfig="non-sensitive-only",
            adminUser={"create": True},
        ),
    },
    "prod": {
        "database": {
            "instanceClass": "db.r6g.large",
            "allocatedStorageGib": 100,
            "maxAllocatedStorageGib": 1000,
            "multiAz": True,
            "backupRetentionDays": 14,
            "deletionProtection": True,
            "skipFinalSnapshot": False,
            "performanceInsights": True,
            "monitoringIntervalSeconds": 15,
            "applyImmediately": False,
            "alarms": {"cpuPercent": 80, "freeStorageGib": 20, "connectionsPercent": 80},
        },
        "buckets": {"logRetentionDays": 365, "forceDestroy": False},
        "componentLogs": {"retentionDays": 365},
        "dr": {"enabled": True},
        "protection": {"mode": "protect"},
        "airflow": _airflow(
            2,
            _LARGE,
            parallelism=256,
            pgbouncer={"enabled": True, "metadataPoolSize": 100},
            networkPolicies=True,
            exposeConfig="False",
            adminUser={"create": False},
        ),
        # dev and uat keep the model's NLB (TLS once a certificate is given); prod an audited, protected ALB.
        "frontDoor": {"type": "alb", "deletionProtection": True, "accessLogs": {"enabled": True}},
    },
}

ENVIRONMENTS = tuple(_BY_ENVIRONMENT)
PROD_WORDS = frozenset({"prod", "production"})


def stack_name_says_prod(stack: str) -> bool:
    """A stack name with a prod word among its parts: prod, Prod, prod-eu, eu_prod (not product, preprod).

    The policy pack (policy/rules/common.py) reads stack names the same way.
    """
    return any(part in PROD_WORDS for part in re.split(r"[-_.\s]+", stack.strip().lower()))


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` onto ``base``: nested dicts merge, everything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def profile_defaults(environment: str) -> dict[str, Any]:
    """Defaults for one environment (a fresh dict)."""
    return deep_merge({}, _BY_ENVIRONMENT[environment])
