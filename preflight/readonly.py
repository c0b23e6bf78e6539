"""No write call, ever: a botocore hook refuses every operation that is not a Describe, Get, List or Head."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.session

READ_PREFIXES = ("Describe", "Get", "List", "Head")


class WriteRefusedError(RuntimeError):
    """An operation that could change the account was about to be sent."""


def refuse_writes(model: Any, **_: Any) -> None:
    """`before-call` hook: let only read operations through."""
    if not model.name.startswith(READ_PREFIXES):
        raise WriteRefusedError(f"preflight is read-only: refused {model.service_model.service_name}:{model.name}")


def read_only_session(region: str, profile: str | None = None) -> boto3.Session:
    """A boto3 session on the usual credential chain whose every client refuses writes."""
    core = botocore.session.Session(profile=profile)
    core.register("before-call", refuse_writes)
    return boto3.Session(botocore_session=core, region_name=region)
