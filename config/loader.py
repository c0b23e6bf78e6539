"""Read the stack config, merge the environment profile, validate, apply the rules.

`build_settings` is pure (tests call it with dicts); `load_settings` feeds it from the
Pulumi runtime. Either raises `ConfigError` before any resource exists.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.collisions import StackNames, accounts_of, claims, collision_problems, other_stacks
from config.errors import ConfigError, Problem, problems_from_validation
from config.profiles import ENVIRONMENTS, deep_merge, profile_defaults, stack_name_says_prod
from config.rules import check_identity_secrets, check_rules, check_secrets
from config.settings import PROJECT, SECRET_KEYS, Settings
from config.yaml_scalars import stack_file_problems


def build_settings(
    raw: Mapping[str, Any],
    *,
    stack: str,
    region: str | None,
    secret_keys: frozenset[str] = frozenset(),
) -> Settings:
    """Validate one stack's config.

    raw: top-level keys of the project namespace (without ``airflow-platform:``), values
    already parsed (objects as dicts). secret_keys: which of those keys Pulumi holds as
    secrets.
    """
    problems: list[Problem] = []
    plain = {k: v for k, v in raw.items() if k not in SECRET_KEYS}
    for key in sorted(SECRET_KEYS & raw.keys() - secret_keys):
        problems.append(
            Problem(
                key,
                f"must be set as a secret, not in plain text: remove it from the stack file and set it with "
                f"pulumi config set --secret {key}",
            )
        )
    if "awsRegion" in plain:
        problems.append(Problem("awsRegion", "unknown key; set the region as aws:region", plain.pop("awsRegion")))

    environment = plain.get("environment") or stack
    if environment not in ENVIRONMENTS:
        given_by = "" if plain.get("environment") else f" (defaulted from stack name {stack!r})"
        problems.append(Problem("environment", f"expected one of {', '.join(ENVIRONMENTS)}{given_by}", environment))
        raise ConfigError(_hide_secret_values(problems, secret_keys))
    if stack_name_says_prod(stack) and environment != "prod":
        problems.append(
            Problem(
                "environment",
                f"stack {stack!r} is named as a prod stack, so its environment must be prod (the policy pack "
                "applies the prod rules to it whatever this says); use a stack name without 'prod' for another "
                "environment",
                environment,
            )
        )

    merged = deep_merge(profile_defaults(environment), plain)
    merged["environment"] = environment
    merged.setdefault("instanceName", stack)
    if region is not None:
        merged["awsRegion"] = region
    defaulted = "instanceName" not in plain
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as error:
        # The rules (config/rules.py) need a whole valid config: they run once the fields are fixed.
        problems.extend(_from_stack_name(problems_from_validation(error), stack, defaulted))
        raise ConfigError(_hide_secret_values(problems, secret_keys)) from None
    problems.extend(_from_stack_name(check_rules(settings), stack, defaulted))
    problems.extend(check_secrets(settings, frozenset(SECRET_KEYS & raw.keys())))  # plain ones: reported above
    problems.extend(check_identity_secrets(settings, frozenset(SECRET_KEYS & raw.keys())))
    if problems:
        raise ConfigError(_hide_secret_values(problems, secret_keys))
    return settings


def _from_stack_name(problems: list[Problem], stack: str, defaulted: bool) -> list[Problem]:
    """Say so when a bad instanceName was not given but taken from the stack name, and how to choose one."""
    if not defaulted:
        return problems
    note = f" (defaulted from stack name {stack!r}; set airflow-platform:instanceName to choose another)"
    return [replace(p, message=p.message + note) if p.key == "instanceName" else p for p in problems]


def _hide_secret_values(problems: list[Problem], secret_keys: frozenset[str]) -> list[Problem]:
    """Never echo a value Pulumi holds as a secret, even under a misspelled key."""
    return [
        Problem(p.key, p.message, "[secret]") if p.key.split(".")[0].split("[")[0] in secret_keys and p.has_given else p
        for p in problems
    ]


def _parse(value: Any) -> Any:
    """Pulumi hands structured values over as JSON text; scalars stay strings."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# Namespaces this program reads: its own, the providers it uses, and Pulumi's own settings
# (e.g. pulumi:disable-default-providers).
KNOWN_NAMESPACES = (PROJECT, "aws", "eks", "kubernetes", "pulumi", "random", "tls")


def _project_keys() -> list[str]:
    names = [field.alias or name for name, field in Settings.model_fields.items()]
    return sorted({*names, *SECRET_KEYS} - {"awsRegion"})


def namespace_problems(keys: Iterable[str]) -> list[Problem]:
    """A problem for every key whose namespace the program does not read (a typo loses the value)."""
    problems = []
    known = ", ".join(KNOWN_NAMESPACES)
    for full in sorted(keys):
        namespace, colon, name = full.partition(":")
        if colon and namespace in KNOWN_NAMESPACES:
            continue
        if not colon:
            namespace, name = "", full
        closest = difflib.get_close_matches(namespace or PROJECT, KNOWN_NAMESPACES, n=1, cutoff=0.6)
        hint = ""
        if closest == [PROJECT]:
            keys_close = difflib.get_close_matches(name, _project_keys(), n=1, cutoff=0.6)
            hint = f"; did you mean {PROJECT}:{keys_close[0] if keys_close else name}?"
        elif closest:
            hint = f"; did you mean {closest[0]}:{name}?"
        what = f"unknown namespace {namespace}" if namespace else "a key without a namespace"
        message = f"{what}{hint} (this program reads only {known})"
        problems.append(Problem(name, message, namespace=namespace))
    return problems


def settings_from_flat_config(values: Mapping[str, Any], secret_keys: Iterable[str], stack: str) -> Settings:
    """Validate config given as Pulumi passes it: `namespace:key` -> JSON text or string."""
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix) :]: _parse(v) for k, v in values.items() if k.startswith(prefix)}
    secret = frozenset(k[len(prefix) :] for k in secret_keys if k.startswith(prefix))
    region = values.get("aws:region")
    foreign = namespace_problems(values.keys())
    try:
        settings = build_settings(
            raw, stack=stack, region=str(region) if region is not None else None, secret_keys=secret
        )
    except ConfigError as error:
        raise ConfigError(foreign + error.problems) from None
    if foreign:
        raise ConfigError(foreign)
    return settings


def check_other_stacks(settings: Settings, values: Mapping[str, Any], stack: str, directory: Path) -> None:
    """Refuse names another stack file in the directory also claims (config/collisions.py)."""
    this = StackNames(stack, claims(settings), accounts_of(values))
    problems = collision_problems(this, other_stacks(directory, stack))
    if problems:
        raise ConfigError(_from_stack_name(problems, stack, f"{PROJECT}:instanceName" not in values))


def project_directory() -> Path:
    """Where Pulumi.yaml and the stack files are: the SDK's root directory, else the working directory."""
    import pulumi

    root = pulumi.get_root_directory()
    if root and (Path(root) / "Pulumi.yaml").is_file():
        return Path(root)
    return Path.cwd()


def load_settings() -> Settings:
    """Validate the running stack's config (Pulumi program entry point), beside the other stack files."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    env_secrets = set(runtime_config.get_config_secret_keys_env())
    secret = [k for k in everything if runtime_config.is_config_secret(k) or k in env_secrets]
    stack = pulumi.get_stack()
    # Pulumi hands over values, not their spelling: `0123` arrives as 83. The stack file next to
    # Pulumi.yaml tells (none under the offline engine, whose reader checks the file itself).
    ambiguous = stack_file_problems(pulumi.get_root_directory(), stack)
    try:
        settings = settings_from_flat_config(everything, secret, stack)
    except ConfigError as error:
        raise ConfigError(ambiguous + error.problems) from None
    if ambiguous:
        raise ConfigError(ambiguous)
    check_other_stacks(settings, everything, stack, project_directory())
    return settings
