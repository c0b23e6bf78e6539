"""All checks in checklist order; a check that hits an AWS error becomes a ✗ line, never a traceback."""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from preflight.account import (
    check_buckets,
    check_github_oidc,
    check_kms_keys,
    check_permissions_boundary,
    check_sns_topic,
)
from preflight.cluster import check_cluster, check_lb_controller
from preflight.context import Context
from preflight.front_door import check_certificate, check_front_door_subnets, check_hosted_zone
from preflight.network import check_network
from preflight.result import Check, failed
from preflight.stack_file import check_secrets_provider

CHECKS: tuple[Callable[[Context], list[Check]], ...] = (
    check_secrets_provider,
    check_network,
    check_cluster,
    check_lb_controller,
    check_front_door_subnets,
    check_certificate,
    check_hosted_zone,
    check_kms_keys,
    check_sns_topic,
    check_permissions_boundary,
    check_github_oidc,
    check_buckets,
)


def run_checks(ctx: Context) -> list[Check]:
    """Every check's lines; an AWS error (e.g. AccessDenied) fails that check with its message."""
    lines: list[Check] = []
    for check in CHECKS:
        try:
            lines.extend(check(ctx))
        except (ClientError, BotoCoreError) as error:
            area = check.__name__.removeprefix("check_").replace("_", " ")
            lines.append(failed(f"{area}: {error}", "grant this identity the read permission named above"))
    return lines
