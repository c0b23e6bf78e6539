"""Every config key, given a bad value, is refused in words: no regex, no pydantic wording."""

from __future__ import annotations

import copy
import re
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from config import ConfigError, Settings, build_settings
from tests.support import REGION, minimal_raw

# A valid dev config that reaches every optional section: a created cluster, git-sync over
# HTTPS, an extra IAM statement and a user tag.
BASE: dict[str, Any] = minimal_raw(
    cluster={
        "mode": "create",
        "name": "data-test",
        "create": {"nodeGroup": {}, "adminRoleArns": ["arn:aws:iam::111122223333:role/airflow-deploy-dev"]},
    },
    dags={
        "source": "gitSync",
        "gitSync": {"repo": "https://github.com/acme/dags.git", "auth": "https", "username": "b"},
    },
    irsa={
        "extraStatements": {"worker": [{"sid": "A", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/*"]}]}
    },
    tags={"team": "data"},
)
SECRETS = {"gitHttpsToken": "offline-fake-token"}

# Wording that must never reach a user: regex syntax and pydantic's own sentences.
LEAKS = re.compile(
    r"\^|\$|\\d|\\w|\\s|\[a-z|\[A-Z|\[0-9|\(\?|\{\d+,|\.\*|should be|Input should|should match|"
    r"should have|valid string|valid integer|Value error|type=|pydantic|errors\.pydantic"
)


def _model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _model(inner[0]) if len(inner) == 1 else None
    return None


def leaves(model: type[BaseModel] = Settings, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """(path of aliases, annotation) of every leaf field, through lists and maps of models."""
    found = []
    for name, field in model.model_fields.items():
        key = (*path, field.alias or name)
        sub = _model(field.annotation)
        if key == ("irsa", "extraStatements"):
            statement = _model(typing.get_args(typing.get_args(field.annotation)[1])[0])
            assert statement is not None
            found += [(key, field.annotation), *leaves(statement, (*key, "worker", 0))]
        elif sub is not None:
            found += leaves(sub, key)
        elif key != ("awsRegion",):
            found.append((key, field.annotation))
    return found


LEAVES = leaves()


def bad_values(annotation: Any) -> list[Any]:
    """A wrong-type value and a few wrong-form values for one field."""
    origin = typing.get_origin(annotation)
    if origin is dict:
        return [["not", "a", "map"], {"": "x"}, {"aws:x": "y"}, {"k": "v" * 300}, {"nosuchrole": []}]
    if origin is list:
        return [{"not": "a list"}, [], ["#bad value#"], [{"x": 1}]]
    if annotation is int or int in typing.get_args(annotation):
        return [{"not": "a number"}, "lots", -1, 10**9, 2.5]
    if annotation is bool:
        return [{"not": "a bool"}, "maybe"]
    return [{"not": "text"}, ["x"], "#bad value#", "", 1.25]


def with_value(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    node: Any = raw
    for part in path[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    node[path[-1]] = value
    return raw


def problem_lines(path: tuple[Any, ...], value: Any) -> list[str]:
    try:
        build_settings(
            {**with_value(path, value), **SECRETS}, stack="dev", region=REGION, secret_keys=frozenset(SECRETS)
        )
    except ConfigError as error:
        return [str(problem) for problem in error.problems]
    return []


def test_the_base_config_is_valid_and_reaches_every_section():
    assert problem_lines(("tags", "team"), "data") == []
    assert len(LEAVES) > 80


@pytest.mark.parametrize(("path", "annotation"), LEAVES, ids=[".".join(map(str, p)) for p, _ in LEAVES])
def test_every_key_is_refused_in_words(path, annotation):
    dotted = re.sub(r"\.(\d+)", r"[\1]", ".".join(map(str, path)))
    lines = [line for value in bad_values(annotation) for line in problem_lines(path, value)]
    assert any(f"airflow-platform:{dotted}" in line for line in lines), lines
    leaked = [line for line in lines if LEAKS.search(line)]
    assert leaked == []


def test_a_bad_region_is_refused_in_words():
    with pytest.raises(ConfigError) as caught:
        build_settings(BASE, stack="dev", region="moon-base-1", secret_keys=frozenset())
    assert str(caught.value).endswith(
        'aws:region: given "moon-base-1"; expected an AWS region such as eu-west-1 (aws:region)'
    )
