"""Turn `Pulumi.<stack>.yaml` into the config the language host would hand the program.

Encrypted (`secure:`) values cannot be decrypted offline; they are replaced by fixed,
obviously fake values and still marked secret. A file that is not valid YAML (tabs, bad
indentation, unclosed brackets, a key given twice) raises `StackFileError`: one line
naming the file and the line.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from config import ConfigError
from config.masking import scrub_text
from config.settings import GIT_HTTPS_TOKEN, GIT_SSH_PRIVATE_KEY, OIDC_CLIENT_SECRET_KEY
from config.yaml_scalars import scalar_problems
from offline.cloud import FakeCluster

PROJECT_FILE = "Pulumi.yaml"
FAKE_SECRETS = {
    GIT_SSH_PRIVATE_KEY: (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb2ZmbGluZS1mYWtlLWtleQ==\n-----END OPENSSH PRIVATE KEY-----\n"
    ),
    GIT_HTTPS_TOKEN: "offline-fake-token",
    OIDC_CLIENT_SECRET_KEY: "offline-fake-oidc-client-secret-5f2c9e",
}


class StackFileError(ConfigError):
    """A project or stack file that is not valid YAML or not shaped as Pulumi expects."""

    def __init__(self, message: str):
        super().__init__([])
        self.args = (scrub_text(message),)

    def __str__(self) -> str:
        return str(self.args[0])


class _DuplicateKey(yaml.MarkedYAMLError):
    """A mapping that names the same key twice (PyYAML would keep the last one silently)."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of letting the later one win."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if first != key_node.start_mark.line + 1:
                raise _DuplicateKey(
                    problem=f"duplicate key {key!r} (first set on line {first}); each key may appear once",
                    problem_mark=key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


# PyYAML's wording -> what it means in a stack file.
_PLAIN_WORDS = (
    ("while parsing a flow sequence", "a [...] list"),
    ("while parsing a flow mapping", "a {...} map"),
    ("while scanning a quoted scalar", "a quoted string"),
    ("while scanning a simple key", "a key"),
    ("<stream end>", "the end of the file"),
    ("end of stream", "end of the file"),
    ("quoted scalar", "quoted string"),
    ("<block end>", "the end of the block"),
    ("'<block mapping start>'", "a more deeply indented key"),
)


def _plain(text: str) -> str:
    for raw, plain in _PLAIN_WORDS:
        text = text.replace(raw, plain)
    return text


def _yaml_problem(error: yaml.YAMLError) -> str:
    """One sentence for a YAML error, with where an unclosed bracket or quote was opened."""
    problem = getattr(error, "problem", None) or "not valid YAML"
    context = getattr(error, "context", None)
    problem_mark, context_mark = getattr(error, "problem_mark", None), getattr(error, "context_mark", None)
    if "\\t" in problem or "\t" in problem:
        return "a tab character; YAML indents with spaces only"
    if "<block end>" in problem or "mapping values are not allowed" in problem:
        return "bad indentation: this line does not line up with the keys above it"
    problem = _plain(problem)
    if context and not isinstance(error, _DuplicateKey):
        opened = ""
        if context_mark and problem_mark and context_mark.line != problem_mark.line:
            opened = f" (opened on line {context_mark.line + 1})"
        problem = f"{_plain(context)}{opened}: {problem}"
    return " ".join(problem.split())


@functools.lru_cache(maxsize=16)
def _parse_yaml(text: str) -> Any:
    """Parse once per distinct text (tests and `--stack all` read the same files many times)."""
    return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass


def _load_yaml(path: Path) -> dict[str, Any]:
    """One YAML document as a mapping, or StackFileError naming the file and line.

    An unquoted scalar whose meaning depends on the YAML reader (`yes`, `0123`) raises ConfigError
    with one line per such scalar, as the program does when Pulumi runs it.
    """
    text = path.read_text()
    try:
        document = copy.deepcopy(_parse_yaml(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise StackFileError(f"{path.name}{where}: invalid YAML: {_yaml_problem(error)}") from None
    ambiguous = scalar_problems(text, path.name)
    if ambiguous:
        raise ConfigError(ambiguous)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(f"{path.name}: expected a map of keys at the top level (e.g. config:)")
    if not isinstance(document.get("config") or {}, dict):
        raise StackFileError(f"{path.name}: expected config: to be a map of namespace:key entries")
    return document


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


def _full_key(project: str, key: Any) -> str:
    key = str(key)
    return key if ":" in key else f"{project}:{key}"


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
    project_doc = _load_yaml(directory / PROJECT_FILE)
    if not isinstance(project_doc.get("name"), str):
        raise StackFileError(f"{PROJECT_FILE}: expected name: <project name>")
    project = project_doc["name"]
    stack_doc = _load_yaml(directory / f"Pulumi.{stack}.yaml")

    merged: dict[str, Any] = {}
    for key, spec in (project_doc.get("config") or {}).items():
        if isinstance(spec, dict) and "default" in spec:
            merged[_full_key(project, key)] = spec["default"]
    for key, value in (stack_doc.get("config") or {}).items():
        merged[_full_key(project, key)] = value
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
