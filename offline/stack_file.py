"""Turn `Pulumi.<stack>.yaml` into the config the language host would hand the program.

Encrypted (`secure:`) values cannot be decrypted offline; they are replaced by fixed,
obviously fake values and still marked secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from offline.cloud import FakeCluster

PROJECT_FILE = "Pulumi.yaml"
FAKE_SECRETS = {
    "gitSshPrivateKey": (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb2ZmbGluZS1mYWtlLWtleQ==\n-----END OPENSSH PRIVATE KEY-----\n"
    ),
    "gitHttpsToken": "offline-fake-token",
}


@dataclass
class StackConfig:
    """One stack's config, flattened to `namespace:key` -> string, as Pulumi passes it."""

    stack: str
    project: str
    values: dict[str, str]
    secret_keys: list[str]

    @property
    def region(self) -> str:
        return self.values.get("aws:region", "eu-west-1")

    def fake_clusters(self) -> list[FakeCluster]:
        """The existing EKS cluster this stack points at, placed in the configured VPC."""
        cluster = _object(self.values.get(f"{self.project}:cluster"))
        network = _object(self.values.get(f"{self.project}:network"))
        if not cluster.get("name") or cluster.get("mode") != "existing":
            return []
        return [
            FakeCluster(
                name=str(cluster["name"]),
                vpc_id=str(network.get("vpcId", "vpc-00000000000000000")),
                subnet_ids=list(network.get("privateSubnetIds", [])),
            )
        ]


def _object(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _as_config_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _strip_secure(key: str, value: Any, secret: list[bool]) -> Any:
    if isinstance(value, dict) and set(value) == {"secure"}:
        secret.append(True)
        return FAKE_SECRETS.get(key.split(":")[-1], f"offline-fake-{key.split(':')[-1]}")
    if isinstance(value, dict):
        return {k: _strip_secure(key, v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secure(key, v, secret) for v in value]
    return value


def read_stack_config(directory: Path, stack: str, overrides: dict[str, Any] | None = None) -> StackConfig:
    """Read `Pulumi.yaml` defaults and `Pulumi.<stack>.yaml` the way the CLI merges them.

    overrides: `namespace:key` -> value applied last (tests use it to break one value).
    A value of None removes the key.
    """
    project_doc = yaml.safe_load((directory / PROJECT_FILE).read_text()) or {}
    project = project_doc["name"]
    stack_path = directory / f"Pulumi.{stack}.yaml"
    stack_doc = yaml.safe_load(stack_path.read_text()) or {}

    merged: dict[str, Any] = {}
    for key, spec in (project_doc.get("config") or {}).items():
        if isinstance(spec, dict) and "default" in spec:
            merged[key if ":" in key else f"{project}:{key}"] = spec["default"]
    for key, value in (stack_doc.get("config") or {}).items():
        merged[key if ":" in key else f"{project}:{key}"] = value
    for key, value in (overrides or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value

    values, secret_keys = {}, []
    for key, value in merged.items():
        flags: list[bool] = []
        plain = _strip_secure(key, value, flags)
        values[key] = _as_config_string(plain)
        if flags:
            secret_keys.append(key)
    return StackConfig(stack=stack, project=project, values=values, secret_keys=secret_keys)
