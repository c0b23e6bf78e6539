"""What intent methods grant to: anything that can take an inline IAM policy.

`bucket.grant_read(role)`, `secrets.grant_read(role)` and the like accept any `Grantable`
(an `IrsaRole`, a CI publisher role, ...), not one concrete class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import pulumi
import pulumi_aws as aws


@runtime_checkable
class Grantable(Protocol):
    """An IAM principal that intent methods attach least-privilege inline policies to."""

    def add_policy(self, policy_name: str, statements: pulumi.Input[Sequence[Mapping[str, Any]]]) -> aws.iam.RolePolicy:
        """Attach an inline policy; ``policy_name`` is unique per principal."""
        ...
