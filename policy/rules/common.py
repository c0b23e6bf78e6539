"""What the rules share: the environment of a resource, IAM documents, links between resources."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

PROJECT = "airflow-platform"
ENVIRONMENT_TAG = "environment"
PROD = "prod"


def stack_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The stack's environment: config `airflow-platform:environment`, else the stack name.

    The same default as the program. The engine starts the pack with the stack's config in
    PULUMI_CONFIG and its name in PULUMI_STACK.
    """
    environ = os.environ if environ is None else environ
    try:
        config = json.loads(environ.get("PULUMI_CONFIG") or "{}")
    except json.JSONDecodeError:
        config = {}
    configured = config.get(f"{PROJECT}:environment") if isinstance(config, dict) else None
    if configured:
        return str(configured)
    stack = environ.get("PULUMI_STACK")
    return stack.rsplit("/", 1)[-1] if stack else None


def environment_of(props: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str | None:
    """The resource's `environment` tag, else the stack's environment; never a resource name."""
    for key in ("tags", "tagsAll"):
        tags = props.get(key)
        if isinstance(tags, Mapping) and tags.get(ENVIRONMENT_TAG):
            return str(tags[ENVIRONMENT_TAG])
    return stack_environment(environ)


def is_prod(props: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> bool:
    """Prod rules apply in prod and whenever the environment cannot be told (fail closed)."""
    environment = environment_of(props, environ)
    return environment is None or environment == PROD


def as_list(value: Any) -> list[Any]:
    """A JSON value that may be one item or a list of them, as a list."""
    if value is None:
        return []
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def policy_statements(document: Any) -> list[Mapping[str, Any]]:
    """Statements of an IAM policy given as JSON text or as an object; ValueError if not JSON."""
    if isinstance(document, str):
        if not document.strip():
            return []
        document = json.loads(document)
    if not isinstance(document, Mapping):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def identifiers(resource: PolicyResource) -> set[str]:
    """Values other resources use to point at this one (id, ARN, name, bucket)."""
    found: set[str] = set()
    for key in ("id", "arn", "name", "bucket"):
        try:
            value = resource.props.get(key)
        except UnknownValueError:
            continue
        if isinstance(value, str) and value:
            found.add(value)
    return found


def referenced(resource: PolicyResource, prop: str, candidates: Iterable[PolicyResource]) -> list[PolicyResource]:
    """The candidates that input ``prop`` of ``resource`` points at.

    By the engine's property dependencies when the input has any (they are known even when the
    value is not, in a preview of new resources), else by value (ids, ARNs or names written out).
    Reading an unknown value raises UnknownValueError.
    """
    candidates = list(candidates)
    sources = {dependency.urn for dependency in resource.property_dependencies.get(prop, [])}
    if sources:
        return [c for c in candidates if c.urn in sources]
    values = {v for v in as_list(resource.props.get(prop)) if isinstance(v, str)}
    return [c for c in candidates if values & identifiers(c)]


def of_types(resources: Iterable[PolicyResource], types: Iterable[str]) -> list[PolicyResource]:
    """Resources whose type token is one of ``types``."""
    wanted = set(types)
    return [r for r in resources if r.resource_type in wanted]


class Deferred:
    """Lets a stack rule check every resource it can and still say which value was unknown.

    During a preview some values are unknown; the engine turns an UnknownValueError into an
    advisory "can't run policy during preview". Raising it only after all other checks keeps
    the known violations mandatory.
    """

    def __init__(self) -> None:
        self.unknown: UnknownValueError | None = None

    @contextmanager
    def check(self) -> Iterator[None]:
        """Run one resource's check; remember the first unknown value instead of stopping."""
        try:
            yield
        except UnknownValueError as error:
            self.unknown = self.unknown or error

    def finish(self) -> None:
        """Re-raise the first unknown value, if any."""
        if self.unknown is not None:
            raise self.unknown
