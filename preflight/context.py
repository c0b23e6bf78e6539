"""What every check reads: the stack's validated settings, its stack file, and read-only AWS clients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import yaml

from config.loader import settings_from_flat_config
from config.settings import Settings
from offline.stack_file import read_stack_config


@dataclass
class Context:
    """One stack, one account: settings through the config loader, clients through the read-only session."""

    stack: str
    settings: Settings
    stack_document: dict[str, Any]
    session: boto3.Session
    kube: Callable[[Context], Any] | None = None
    """Builds the Kubernetes API reader of the cluster (preflight.kube.cluster_api unless a test gives one)."""
    _clients: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        stack: str,
        directory: Path,
        session_for: Callable[[str], boto3.Session],
        overrides: dict[str, Any] | None = None,
    ) -> Context:
        """Read and validate the stack's config (ConfigError when invalid), then open the session in its region."""
        config = read_stack_config(directory, stack, overrides)
        settings = settings_from_flat_config(config.values, config.secret_keys, stack)
        document = yaml.safe_load((directory / f"Pulumi.{stack}.yaml").read_text()) or {}
        return cls(stack, settings, document, session_for(settings.aws_region))

    def client(self, service: str, region: str | None = None) -> Any:
        """One client per service and region (default: the stack's region)."""
        region = region or self.settings.aws_region
        key = service if region == self.settings.aws_region else f"{service}@{region}"
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region)
        return self._clients[key]

    @cached_property
    def identity(self) -> dict[str, str]:
        """The caller: Account, Arn, UserId (STS GetCallerIdentity)."""
        return self.client("sts").get_caller_identity()

    @property
    def account_id(self) -> str:
        return self.identity["Account"]

    @cached_property
    def cluster(self) -> dict[str, Any] | None:
        """The EKS cluster of the config, or None when it does not exist."""
        eks = self.client("eks")
        try:
            return eks.describe_cluster(name=self.settings.cluster.name)["cluster"]
        except eks.exceptions.ResourceNotFoundException:
            return None
