"""Test helpers shared by the test modules: stack settings, stack runs (cached), minimal configs."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from config import Settings, build_settings
from config.loader import settings_from_flat_config
from config.naming import bucket_name, stack_prefix
from offline import REPO, Inventory, read_stack_config, run_stack
from pipeline.stacks import stack_environment, stack_names

# Every Pulumi.<stack>.yaml of the repository: adding a stack file adds it to every per-stack test.
STACKS = tuple(stack_names(REPO))
# The environments (profiles); a stack's environment is its config's or its name.
REGION = "eu-west-1"
VPC = "vpc-0a1b2c3d4e5f60789"
SUBNETS = ["subnet-0a1b2c3d4e5f60781", "subnet-0a1b2c3d4e5f60782"]


# What uat/prod need beyond the profile: the Prometheus namespace the network policies admit.
AIRFLOW_ACCESS: dict[str, Any] = {"metrics": {"prometheusNamespace": "monitoring"}}
# Every stack's front door: who may connect, and (prod requires TLS) a certificate of the region.
CERTIFICATE_ARN = f"arn:aws:acm:{REGION}:111122223333:certificate/3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f"
# The load balancer sits in subnets of its own, apart from SUBNETS (prod requires it).
LB_SUBNETS = ["subnet-0a1b2c3d4e5f60791", "subnet-0a1b2c3d4e5f60792"]
FRONT_DOOR: dict[str, Any] = {
    "clientCidrs": ["10.60.0.0/22"],
    "certificateArn": CERTIFICATE_ARN,
    "subnetIds": list(LB_SUBNETS),
}


def minimal_raw(**sections: Any) -> dict[str, Any]:
    """The smallest valid stack config (existing cluster), plus overrides per section."""
    raw: dict[str, Any] = {
        "network": {"vpcId": VPC, "privateSubnetIds": list(SUBNETS)},
        "cluster": {"mode": "existing", "name": "data-test"},
    }
    if "database" not in sections:
        raw["database"] = {"alarms": {"snsTopicArn": f"arn:aws:sns:{REGION}:111122223333:alerts"}}
    if "airflow" not in sections:
        raw["airflow"] = dict(AIRFLOW_ACCESS)
    if "frontDoor" not in sections:
        raw["frontDoor"] = dict(FRONT_DOOR)
    raw.update(sections)
    return raw


# Prod keeps a copy in a second region (dr is on by default there): the region and its key.
DR_REGION = "eu-central-1"
DR: dict[str, Any] = {
    "region": DR_REGION,
    "kmsKeyArn": f"arn:aws:kms:{DR_REGION}:111122223333:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
}


# DR needs the stack's own key too (replicas get the DR key only from SSE-KMS sources).
STACK_KEY = f"arn:aws:kms:{REGION}:111122223333:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


# Prod needs a documented way in: a break-glass admin with password login (or SSO).
PROD_LOGIN: dict[str, Any] = {"type": "password", "breakGlassAdmin": {"email": "airflow-admins@example.com"}}


def make_settings(stack: str = "dev", **sections: Any) -> Settings:
    """Validated settings for a minimal config in one environment."""
    if stack == "prod" and "airflow" not in sections:
        sections["airflow"] = {**AIRFLOW_ACCESS, "auth": PROD_LOGIN}
    if stack == "prod" and "dr" not in sections:
        sections["dr"] = dict(DR)
    if stack == "prod" and "encryption" not in sections:
        sections["encryption"] = {"kmsKeyArn": STACK_KEY}
    return build_settings(minimal_raw(**sections), stack=stack, region=REGION)


def stack_settings(stack: str, overrides: dict[str, Any] | None = None) -> Settings:
    """Settings read from the real Pulumi.<stack>.yaml, without the Pulumi runtime."""
    config = read_stack_config(REPO, stack, overrides)
    return settings_from_flat_config(config.values, config.secret_keys, stack)


PROJECT_PREFIX = "airflow-platform:"


def stack_object(stack: str, key: str) -> dict[str, Any]:
    """One structured top-level value of a real stack file (profile defaults not merged)."""
    text = read_stack_config(REPO, stack).values.get(PROJECT_PREFIX + key)
    return json.loads(text) if text else {}


def override(stack: str, dotted: str, value: Any) -> dict[str, Any]:
    """An override that changes one nested key of a stack file (None removes it), keeping its siblings."""
    top, *path = dotted.split(".")
    if not path:
        return {PROJECT_PREFIX + top: value}
    document = stack_object(stack, top)
    node = document
    for part in path[:-1]:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return {PROJECT_PREFIX + top: document}


@cache
def stack_inventory(stack: str) -> Inventory:
    """One offline run of a real stack file (cached: the inventory is plain data)."""
    return run_stack(stack)


def environment_of(stack: str) -> str:
    """The stack's environment as its file states it (`environment`, else the stack name)."""
    return stack_environment(stack, REPO)


@cache
def name_stem(stack: str) -> str:
    """`<namePrefix>-<instanceName>`: the stem of the stack's IAM role and DB names (config/naming.py)."""
    return stack_prefix(stack_settings(stack))


@cache
def bucket_of(stack: str, kind: str) -> str:
    """The stack's default bucket name of one kind (dags, logs) in the offline account."""
    return bucket_name(stack_settings(stack), kind, "111122223333")


def namespace_of(stack: str) -> str:
    """The Airflow namespace of the stack (its file's `airflow.namespace`, else `airflow-<instanceName>`)."""
    return stack_settings(stack).namespace
