"""What the rules share: the environment of a resource, IAM documents, links between resources."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

PROJECT = "airflow-platform"
ENVIRONMENT_TAG = "environment"
PROD = "prod"
PROD_WORDS = frozenset({"prod", "production"})


# Where the stack name and config come from. pulumi-policy 1.21.0 gives a rule no API for them: its
# ResourceValidationArgs/StackValidationArgs carry the *pack's* config (`get_config()`) and `stack_tags` only;
# the engine's ConfigureStack request does name the stack and its config, but policy.py keeps just its tags.
# Its one other route, `pulumi.get_stack()` / `pulumi.Config`, is filled by `_configure_runtime_settings()`
# from these same PULUMI_STACK / PULUMI_CONFIG variables (and only when PULUMI_PROJECT, PULUMI_STACK and
# PULUMI_DRY_RUN are all set), so reading the variables is no weaker; with none set, prod rules apply.
def stack_name(environ: Mapping[str, str] | None = None) -> str | None:
    """The stack's own name (PULUMI_STACK may be org/project/stack)."""
    environ = os.environ if environ is None else environ
    stack = environ.get("PULUMI_STACK")
    return stack.rsplit("/", 1)[-1] if stack else None


def configured_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """Config `airflow-platform:environment`, which the engine hands over in PULUMI_CONFIG."""
    environ = os.environ if environ is None else environ
    try:
        config = json.loads(environ.get("PULUMI_CONFIG") or "{}")
    except json.JSONDecodeError:
        config = {}
    configured = config.get(f"{PROJECT}:environment") if isinstance(config, dict) else None
    return str(configured) if configured else None


def says_prod(value: object) -> bool:
    """An environment value that means prod, in any case and spacing ("prod", " Prod", "PRODUCTION")."""
    return str(value).strip().lower() in PROD_WORDS


def stack_name_says_prod(name: str) -> bool:
    """A stack name with a prod word among its parts: prod, Prod, prod-eu, eu_prod (not product).

    The same rule as config.naming.stack_name_says_prod, which the program's loader applies.
    """
    return any(part in PROD_WORDS for part in re.split(r"[-_.\s]+", name.strip().lower()))


def _environment_tags(tags: object) -> list[str]:
    if not isinstance(tags, Mapping):
        return []
    return [str(v) for k, v in tags.items() if str(k).strip().lower() == ENVIRONMENT_TAG and v]


def environment_signals(
    props: Mapping[str, Any], stack_tags: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Every value that tells the environment: resource tags, stack tags, config, stack name."""
    signals = [*_environment_tags(props.get("tags")), *_environment_tags(props.get("tagsAll"))]
    signals += _environment_tags(stack_tags or {})
    configured = configured_environment(environ)
    if configured:
        signals.append(configured)
    return signals


def is_prod(
    props: Mapping[str, Any], stack_tags: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """Prod rules apply when any of the stack name, its config, a stack tag or a resource tag says prod.

    A single non-prod value never switches them off while another says prod, and they also apply
    when nothing tells the environment (fail closed).
    """
    name = stack_name(environ)
    signals = environment_signals(props, stack_tags, environ)
    if (name and stack_name_says_prod(name)) or any(says_prod(s) for s in signals):
        return True
    return not signals and not name


def as_list(value: Any) -> list[Any]:
    """A JSON value that may be one item or a list of them, as a list."""
    if value is None:
        return []
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def world_open(cidrs: Iterable[str]) -> str | None:
    """'0.0.0.0/0' or '::/0' when the blocks together admit every address of that family (bad ones skipped)."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
        except ValueError:
            continue
    for version, everything in ((4, "0.0.0.0/0"), (6, "::/0")):
        family = [n for n in networks if n.version == version]
        if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(family)):
            return everything
    return None


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
