"""Run the policy pack's rules over offline-engine records, the way the engine hands them over."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from offline.engine import Registration, unwrap
from policy.rules import ALL_POLICIES

POLICIES = {policy.name: policy for policy in ALL_POLICIES}


@dataclass(frozen=True)
class Violation:
    """One reported violation."""

    policy: str
    urn: str
    message: str


def policy_resources(registrations: list[Registration]) -> list[PolicyResource]:
    """PolicyResources with props behind the engine's unknown-checking proxy and links resolved."""
    resources: dict[str, PolicyResource] = {}
    for r in registrations:
        opts = PolicyResourceOptions(r.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], r.parent or None)
        props = unknown_checking_proxy(unwrap(r.inputs))
        resources[r.urn] = PolicyResource(r.type, props, r.urn, r.name, opts, None, None, [], {})
    for r in registrations:
        resource = resources[r.urn]
        resource.parent = resources.get(r.parent)
        resource.dependencies = [resources[urn] for urn in r.dependencies if urn in resources]
        resource.property_dependencies = {
            key: [resources[urn] for urn in urns if urn in resources] for key, urns in r.property_dependencies.items()
        }
    return list(resources.values())


def evaluate(
    registrations: list[Registration],
    names: list[str] | None = None,
    config: dict[str, Any] | None = None,
    stack_tags: dict[str, str] | None = None,
) -> list[Violation]:
    """Violations of the named policies (default: all) with optional per-policy config and stack tags."""
    resources = policy_resources(registrations)
    found: list[Violation] = []
    for policy in ALL_POLICIES if names is None else [POLICIES[n] for n in names]:
        policy_config = (config or {}).get(policy.name)
        if isinstance(policy, ResourceValidationPolicy):
            for res in resources:
                args = ResourceValidationArgs(
                    res.resource_type, res.props, res.urn, res.name, res.opts, None, policy_config, stack_tags
                )
                policy.validate(args, lambda m, u=None, p=policy.name, r=res.urn: found.append(Violation(p, u or r, m)))
        else:
            policy.validate(
                StackValidationArgs(resources, policy_config, stack_tags),
                lambda m, u=None, p=policy.name: found.append(Violation(p, u or "", m)),
            )
    return found


def changed(
    registrations: list[Registration], resource_type: str, name: str | None = None, **inputs: Any
) -> list[Registration]:
    """A copy of the records where the first matching resource has some inputs replaced (None drops one)."""
    result = []
    done = False
    for r in registrations:
        if not done and r.type == resource_type and (name is None or r.name == name):
            new_inputs = copy.deepcopy(r.inputs)
            for key, value in inputs.items():
                if value is None:
                    new_inputs.pop(key, None)
                else:
                    new_inputs[key] = value
            r = dataclasses.replace(r, inputs=new_inputs)
            done = True
        result.append(r)
    assert done, f"no {resource_type} {name or ''} to change"
    return result


def without(registrations: list[Registration], resource_type: str, name: str | None = None) -> list[Registration]:
    """A copy of the records without the first matching resource."""
    match = next(r for r in registrations if r.type == resource_type and (name is None or r.name == name))
    return [r for r in registrations if r is not match]


def added(registrations: list[Registration], resource_type: str, name: str, **inputs: Any) -> Registration:
    """A new record in the same stack (no parent), for resources the program does not create today."""
    stack, project = registrations[0].urn.split("::")[1:3]
    return Registration(
        urn=f"urn:pulumi:{stack}::{project}::{resource_type}::{name}",
        type=resource_type,
        name=name,
        parent="",
        custom=True,
        protect=False,
        retain_on_delete=False,
        provider="",
        dependencies=[],
        inputs=inputs,
    )
