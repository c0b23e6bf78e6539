"""Whole-program runs of stack-file variants, cached so several test files share one run each."""

from __future__ import annotations

from functools import cache
from typing import Any

from offline import Inventory, run_stack
from tests.support import PROJECT_PREFIX as P
from tests.support import override
from tests.values_support import AIRFLOW_2, GIT_SSH, airflow_override

BREAK_GLASS = {"type": "password", "breakGlassAdmin": {"email": "airflow-admins@example.com"}}


def password_prod(**airflow: Any) -> dict[str, Any]:
    """Prod with a break-glass admin instead of SSO (the stack file's OIDC keys and client secret removed)."""
    return {**airflow_override("prod", auth=BREAK_GLASS, **airflow), P + "airflowOidcClientSecret": None}


@cache
def break_glass_airflow_2() -> Inventory:
    """Prod on Airflow 2 with password login and a break-glass admin (an ALB with TLS in front)."""
    return run_stack("prod", password_prod(**AIRFLOW_2))


@cache
def airflow_2_stack(stack: str) -> Inventory:
    """A stack file run on Airflow 2 (prod: the break-glass variant, so one run serves both issues' tests)."""
    if stack == "prod":
        return break_glass_airflow_2()
    return run_stack(stack, airflow_override(stack, **AIRFLOW_2))


# The stack's default-provider settings the DR provider must copy (test_disaster_recovery.py).
AWS_PROVIDER_CONFIG: dict[str, Any] = {
    "aws:profile": "platform-prod",
    "aws:assumeRoles": [{"roleArn": "arn:aws:iam::111122223333:role/deployer", "sessionName": "pulumi"}],
    "aws:allowedAccountIds": ["111122223333"],
    "aws:defaultTags": {"tags": {"cost-centre": "data", "team:owner": "platform"}},
}


@cache
def git_ssh_prod() -> Inventory:
    """Prod with DAGs from git-sync over SSH (key and known_hosts); its default provider also has a profile, an
    assumed role, an account guard and default tags (`AWS_PROVIDER_CONFIG`), so one run serves both tests."""
    return run_stack("prod", {**GIT_SSH, **AWS_PROVIDER_CONFIG})


@cache
def prod_renamed_and_scraped() -> Inventory:
    """Prod with release name `orchestrator` and a Prometheus ServiceMonitor: chart object names follow the
    release; the monitor is created only when asked for (two independent checks, one run)."""
    return run_stack(
        "prod",
        airflow_override(
            "prod", releaseName="orchestrator", metrics={"serviceMonitor": True, "prometheusNamespace": "monitoring"}
        ),
    )


UAT_OWN_LB_SUBNETS = ["subnet-0f1e2d3c4b5a69871", "subnet-0f1e2d3c4b5a69872"]


@cache
def uat_with_own_lb_subnets_and_longer_backups() -> Inventory:
    """uat with load-balancer subnets of its own and 35 days of DB backups (two independent overrides, one run)."""
    return run_stack(
        "uat",
        {
            **override("uat", "frontDoor.subnetIds", UAT_OWN_LB_SUBNETS),
            **override("uat", "database.backupRetentionDays", 35),
        },
    )
