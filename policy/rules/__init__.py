"""Every rule of the pack, mandatory, in importable modules (tests import these, never the pack)."""

from __future__ import annotations

from pulumi_policy import Policy

from . import iam, kubernetes, network, rds, s3

ALL_POLICIES: list[Policy] = [*rds.POLICIES, *s3.POLICIES, *iam.POLICIES, *network.POLICIES, *kubernetes.POLICIES]

__all__ = ["ALL_POLICIES"]
