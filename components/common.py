"""Small helpers shared by the components: protection options, tags, IAM documents."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import pulumi


@dataclass(frozen=True)
class Protection:
    """How a stateful resource survives `pulumi destroy` or a replacement."""

    protect: bool = False
    retain_on_delete: bool = False

    @classmethod
    def from_mode(cls, mode: Literal["protect", "retainOnDelete", "none"]) -> Protection:
        """Map the `protection.mode` config value."""
        return cls(protect=mode == "protect", retain_on_delete=mode == "retainOnDelete")

    def options(self, parent: pulumi.Resource, **extra: Any) -> pulumi.ResourceOptions:
        """Child options carrying this protection."""
        return pulumi.ResourceOptions(
            parent=parent, protect=self.protect, retain_on_delete=self.retain_on_delete, **extra
        )


def tagged(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """The common tags plus a Name tag."""
    return {**tags, "Name": name}


def partition(region: str) -> str:
    """AWS partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def policy_document(statements: Sequence[Mapping[str, Any]]) -> str:
    """Serialise an IAM policy with stable key order (byte-identical across runs)."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def service_trust_policy(service: str) -> str:
    """Trust policy that lets one AWS service assume a role."""
    return policy_document([{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}])


@dataclass(frozen=True)
class DatabaseEndpoint:
    """How to reach the metadata DB (from MetadataDatabase.endpoint())."""

    address: pulumi.Input[str]
    port: pulumi.Input[int]
    name: str
    username: str
    password: pulumi.Input[str]  # secret


def _credentials(db_user: str, password: str) -> str:
    return f"{quote(db_user, safe='')}:{quote(password, safe='')}"


def metadata_uri(db_user: str, password: str, host: str, port: int, database: str, sslmode: str) -> str:
    """SQLAlchemy/libpq (psycopg2) URI with URL-encoded credentials."""
    return f"postgresql://{_credentials(db_user, password)}@{host}:{int(port)}/{database}?sslmode={sslmode}"


def async_metadata_uri(db_user: str, password: str, host: str, port: int, database: str) -> str:
    """The asyncpg form of the same connection, TLS required.

    asyncpg takes `ssl=<mode>`; SQLAlchemy hands every query parameter to `asyncpg.connect`,
    which refuses libpq's `sslmode` keyword.
    """
    return f"postgresql+asyncpg://{_credentials(db_user, password)}@{host}:{int(port)}/{database}?ssl=require"
