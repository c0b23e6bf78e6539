"""Two stacks never claim the same physical name: each stack is checked against the other stack files beside it.

A stack's AWS names start `<namePrefix>-<instanceName>` (the instance name defaults to the stack name), so two
stack files of one profile differ by default. What can still collide is what a stack file names itself or
shares on purpose: a created cluster (and its node and controller roles), the controller of a shared cluster,
an explicit namespace, bucket or hostname, an instance name set by hand, and GitHub's OIDC provider (one per
account). Stacks are taken to share the account unless both pin theirs with `aws:allowedAccountIds` (the AWS
provider then refuses any other account) and the two lists do not meet.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import Problem
from config.naming import ACCOUNT_ID_STAND_IN, aws_names, bucket_name, installs_lb_controller, lb_log_bucket_name
from config.settings import Settings

ALLOWED_ACCOUNTS = "aws:allowedAccountIds"
STACK_FILES = "Pulumi.*.yaml"
GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
# Where a name must be unique.
GLOBAL, ACCOUNT, REGION, CLUSTER, ZONE = "global", "account", "region", "cluster", "zone"

# The config key a claim comes from -> how to give this stack its own name.
FIXES: dict[str, str] = {
    "instanceName": "give each stack its own instanceName (default: the stack name)",
    "cluster.name": "only one stack creates a cluster of this name; the others use cluster.mode existing",
    "frontDoor.controller.install": "install the controller from one stack per cluster "
    "(frontDoor.controller.install: false on the others); its IAM role is named after the cluster, account-wide",
    "airflow.namespace": "give each stack its own namespace",
    "buckets.dagBucketName": "S3 names are global: give each stack its own bucket",
    "buckets.logBucketName": "S3 names are global: give each stack its own bucket",
    "frontDoor.accessLogs.bucketName": "S3 names are global: give each stack its own bucket",
    "frontDoor.hostname": "give each stack its own hostname",
    "dags.githubOidcProvider": "IAM holds one provider per URL: every stack of the account but one sets existing",
}


@dataclass(frozen=True)
class Claim:
    """One name a stack asks for, the config key it comes from, and where it must be unique."""

    key: str
    given: Any
    what: str
    name: str
    scope: str
    where: str = ""  # the region, cluster or hosted zone for those scopes

    @property
    def shown(self) -> str:
        return f"{self.what} {self.name}"


@dataclass(frozen=True)
class StackNames:
    """One stack's claims and the accounts it is pinned to (None: any)."""

    stack: str
    claims: tuple[Claim, ...]
    accounts: frozenset[str] | None = None


def claims(s: Settings) -> tuple[Claim, ...]:
    """Every name the stack's config makes it ask for (names derived from these cannot collide either)."""
    names = aws_names(s)
    mine = ("instanceName", s.instance_name)
    region = s.aws_region
    cluster = f"{region}/{s.cluster.name}"
    found = [Claim(*mine, "IAM role", role, ACCOUNT) for role in names.irsa_roles.values()]
    found += [Claim(*mine, "IAM role", role, ACCOUNT) for role in names.publisher_roles.values()]
    if s.database.monitoring_interval_seconds:
        found.append(Claim(*mine, "IAM role", names.db_monitoring_role, ACCOUNT))
    found += [Claim(*mine, "RDS instance", names.db_identifier, REGION, region)]
    if not s.database.skip_final_snapshot:
        found.append(Claim(*mine, "RDS final snapshot", names.db_final_snapshot, REGION, region))
    found.append(Claim(*mine, "load balancer", names.load_balancer, REGION, region))
    found += _bucket_claims(s)
    if names.node_role:
        found += [
            Claim("cluster.name", s.cluster.name, "EKS cluster", s.cluster.name, REGION, region),
            Claim("cluster.name", s.cluster.name, "IAM role", names.node_role, ACCOUNT),
        ]
    if names.lb_controller_role:
        controller = ("frontDoor.controller.install", installs_lb_controller(s))
        found += [
            Claim(*controller, "IAM role", names.lb_controller_role, ACCOUNT),
            Claim(*controller, "Helm release", "kube-system/aws-load-balancer-controller", CLUSTER, cluster),
        ]
    namespace_key = ("airflow.namespace", s.airflow.namespace) if s.airflow.namespace else mine
    # The namespaces made from it too: stack `x-tasks`'s namespace is stack `x`'s task namespace.
    namespaces = [s.namespace, s.shape.task_namespace, s.shape.bootstrap_namespace]
    if names.log_shipper_role:
        namespaces.append(f"{s.namespace}-logs")
    found += [Claim(*namespace_key, "namespace", namespace, CLUSTER, cluster) for namespace in namespaces]
    door = s.front_door
    if door.hostname and door.hosted_zone_id:
        found.append(
            Claim("frontDoor.hostname", door.hostname, "Route 53 record", door.hostname, ZONE, door.hosted_zone_id)
        )
    if s.dags.publishers and s.dags.github_oidc_provider == "create":
        found.append(Claim("dags.githubOidcProvider", "create", "IAM OIDC provider", GITHUB_OIDC_URL, ACCOUNT))
    return tuple(found)


def _bucket_claims(s: Settings) -> list[Claim]:
    """Default bucket names carry the account (unique per account); configured ones are global."""
    buckets = [
        ("buckets.dagBucketName", s.buckets.dag_bucket_name, bucket_name(s, "dags", ACCOUNT_ID_STAND_IN)),
        ("buckets.logBucketName", s.buckets.log_bucket_name, bucket_name(s, "logs", ACCOUNT_ID_STAND_IN)),
    ]
    if s.front_door.access_logs.enabled:
        logs = s.front_door.access_logs.bucket_name
        buckets.append(("frontDoor.accessLogs.bucketName", logs, lb_log_bucket_name(s, ACCOUNT_ID_STAND_IN)))
    return [
        Claim(key, configured, "S3 bucket", name, GLOBAL)
        if configured
        else Claim(
            "instanceName", s.instance_name, "S3 bucket", name.replace(ACCOUNT_ID_STAND_IN, "<account>"), ACCOUNT
        )
        for key, configured, name in buckets
    ]


def _accounts_meet(first: frozenset[str] | None, second: frozenset[str] | None) -> bool:
    return first is None or second is None or bool(first & second)


def _clash(mine: Claim, theirs: Claim, same_account: bool) -> bool:
    if (mine.what, mine.name, mine.scope, mine.where) != (theirs.what, theirs.name, theirs.scope, theirs.where):
        return False
    return mine.scope in (GLOBAL, ZONE) or same_account


def collision_problems(this: StackNames, others: Iterable[StackNames]) -> list[Problem]:
    """One problem per config key of this stack and other stack whose names meet."""
    problems = []
    for other in sorted(others, key=lambda o: o.stack):
        same_account = _accounts_meet(this.accounts, other.accounts)
        shared: dict[tuple[str, str], list[Claim]] = {}
        for mine in this.claims:
            if any(_clash(mine, theirs, same_account) for theirs in other.claims):
                shared.setdefault((mine.key, json.dumps(mine.given)), []).append(mine)
        for (key, _), found in shared.items():
            listed = ", ".join(claim.shown for claim in found[:3])
            more = f" and {len(found) - 3} more" if len(found) > 3 else ""
            problems.append(
                Problem(
                    key,
                    f"gives the {listed}{more} that stack {other.stack} (Pulumi.{other.stack}.yaml) also claims; "
                    f"{FIXES[key]}",
                    found[0].given,
                )
            )
    return problems


def accounts_of(config: Mapping[str, Any]) -> frozenset[str] | None:
    """The accounts `aws:allowedAccountIds` pins a stack to (a JSON list, as Pulumi passes it), or None."""
    value = config.get(ALLOWED_ACCOUNTS)
    try:
        listed = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return None
    return frozenset(str(a) for a in listed) if isinstance(listed, list) and listed else None


def stack_names(directory: Path, stack: str) -> Sequence[str]:
    """The stacks with a `Pulumi.<stack>.yaml` in the directory, this one left out."""
    names = (path.name[len("Pulumi.") : -len(".yaml")] for path in directory.glob(STACK_FILES) if path.is_file())
    return sorted(name for name in names if name != stack)


def other_stacks(directory: Path, stack: str) -> list[StackNames]:
    """The claims of every other stack file beside this one (an invalid one is left out: its own run says why)."""
    if not (directory / "Pulumi.yaml").is_file():
        return []
    found = []
    for other in stack_names(directory, stack):
        path = directory / f"Pulumi.{other}.yaml"
        names = _names_of_file(str(directory), other, path.read_text(), (directory / "Pulumi.yaml").read_text())
        if names is not None:
            found.append(names)
    return found


@functools.lru_cache(maxsize=32)
def _names_of_file(directory: str, stack: str, text: str, project_text: str) -> StackNames | None:
    """Claims of one stack file (cached on its text: every run of a neighbour reads it again)."""
    from config.errors import ConfigError
    from config.loader import settings_from_flat_config
    from offline.stack_file import read_stack_config  # the CLI's reading of a stack file, without the CLI

    del text, project_text  # the cache key
    try:
        config = read_stack_config(Path(directory), stack)
        settings = settings_from_flat_config(config.values, config.secret_keys, stack)
    except ConfigError:
        return None
    return StackNames(stack, claims(settings), accounts_of(config.values))
