"""Generate the README's config reference from the models and the environment profiles.

    python -m config.reference                  # print it
    python -m config.reference --update-readme  # rewrite the section in README.md

A test keeps README.md in step with this output, so the reference cannot go stale.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from config.loader import build_settings
from config.profiles import ENVIRONMENTS
from config.settings import PROJECT, SECRET_KEYS, Settings

# The keys every stack file must set (no profile can guess them).
_REQUIRED_EXAMPLE = {
    "network": {
        "vpcId": "vpc-0a1b2c3d4e5f60789",
        "privateSubnetIds": ["subnet-0a1b2c3d4e5f60781", "subnet-0a1b2c3d4e5f60782"],
    },
    "cluster": {"mode": "existing", "name": "example"},
    "database": {"alarms": {"snsTopicArn": "arn:aws:sns:eu-west-1:111122223333:alerts"}},
    "frontDoor": {
        "clientCidrs": ["10.0.0.0/16"],
        "certificateArn": "arn:aws:acm:eu-west-1:111122223333:certificate/3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f",
    },
}
_REQUIRED_KEYS = {"network.vpcId", "network.privateSubnetIds", "cluster.mode", "cluster.name"}
_SHOWN_AS_EXAMPLE = {
    "database.alarms.snsTopicArn",
    "frontDoor.clientCidrs",
    "frontDoor.certificateArn",
}
# Prod needs a way in (SSO or a break-glass admin): the example gives it a break-glass admin.
_PROD_LOGIN_EXAMPLE = {"type": "password", "breakGlassAdmin": {"email": "airflow-admins@example.com"}}
# Prod keeps a DR copy by default: the example names a second region and a key there.
_PROD_DR_EXAMPLE = {
    "region": "eu-central-1",
    "kmsKeyArn": "arn:aws:kms:eu-central-1:111122223333:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
}
# DR (on in prod) needs the stack's own key too.
_PROD_KEY_EXAMPLE = {"kmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}
_SHOWN_AS_EXAMPLE_UNDER = ("airflow.auth.breakGlassAdmin.", "dr.region", "dr.kmsKeyArn")
# Prod requires the load balancer's own subnets (a rule); the other profiles leave them unset.
_PROD_SUBNETS_EXAMPLE = ["subnet-0a1b2c3d4e5f60791", "subnet-0a1b2c3d4e5f60792"]
_SHOWN_AS_EXAMPLE_IN_PROD = {"frontDoor.subnetIds"}
# Keys a profile's defaults make required in one environment.
_REQUIRED_IN = {("encryption.kmsKeyArn", "prod"): "**required** (dr.enabled)"}


def _example(environment: str) -> dict[str, Any]:
    if environment != "prod":
        return _REQUIRED_EXAMPLE
    return {
        **_REQUIRED_EXAMPLE,
        "airflow": {"auth": _PROD_LOGIN_EXAMPLE},
        "frontDoor": {**_REQUIRED_EXAMPLE["frontDoor"], "subnetIds": _PROD_SUBNETS_EXAMPLE},
        "dr": _PROD_DR_EXAMPLE,
        "encryption": _PROD_KEY_EXAMPLE,
    }


@dataclass(frozen=True)
class Row:
    """One documented key."""

    key: str
    kind: str
    description: str
    defaults: dict[str, str]


def _kind(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return " \\| ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return " \\| ".join(_kind(a) for a in inner) + " (optional)"
    if origin is typing.Annotated:
        return _kind(args[0])
    if origin in (list, tuple):
        return f"list of {_kind(args[0])}"
    if origin is dict:
        return f"map of {_kind(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return _submodel(inner[0])
    return None


def _lookup(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return PydanticUndefined
        data = data[part]
    return data


def _show(value: Any) -> str:
    if value is PydanticUndefined or value is None:
        return "unset"
    return "`" + json.dumps(value).replace("|", "\\|") + "`"


def reference_rows() -> list[Row]:
    """Every leaf key of the stack config with its per-environment default."""
    dumps = {
        env: build_settings(_example(env), stack=env, region="eu-west-1").model_dump(mode="json", by_alias=True)
        for env in ENVIRONMENTS
    }
    rows: list[Row] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            alias = field.alias or name
            if alias == "awsRegion":
                continue
            key = f"{prefix}{alias}"
            sub = _submodel(field.annotation)
            if sub is not None:
                walk(sub, f"{key}.")
                continue
            defaults = {}
            for env in ENVIRONMENTS:
                if key in _REQUIRED_KEYS:
                    defaults[env] = "**required**"
                elif (key, env) in _REQUIRED_IN:
                    defaults[env] = _REQUIRED_IN[key, env]
                elif key in _SHOWN_AS_EXAMPLE or key.startswith(_SHOWN_AS_EXAMPLE_UNDER):
                    defaults[env] = "set per stack"
                elif env == "prod" and key in _SHOWN_AS_EXAMPLE_IN_PROD:
                    defaults[env] = "**required**"
                else:
                    value = _lookup(dumps[env], key)
                    defaults[env] = _show(field.default if value is PydanticUndefined else value)
            rows.append(Row(key, _kind(field.annotation), field.description or "", defaults))

    walk(Settings, "")
    return rows


def render_markdown() -> str:
    """The reference table as Markdown."""
    lines = [
        f"All keys live under the `{PROJECT}:` namespace (e.g. `{PROJECT}:database.instanceClass`); "
        "`aws:region` is required too.",
        "",
        "| key | type | dev | uat | prod | what it is |",
        "|---|---|---|---|---|---|",
    ]
    for row in reference_rows():
        cells = [
            f"`{row.key}`",
            row.kind,
            *(row.defaults[e] for e in ENVIRONMENTS),
            row.description.replace("|", "\\|"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Secrets (set with `pulumi config set --secret <key>`, never in plain text):", ""]
    lines += [f"- `{PROJECT}:{key}`" for key in sorted(SECRET_KEYS)]
    return "\n".join(lines) + "\n"


START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def readme_section(readme: str) -> str:
    """The text between the reference markers of README.md."""
    return readme.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def update_readme(readme: str) -> str:
    """README.md with the reference section regenerated."""
    head, rest = readme.split(START, 1)
    tail = rest.split(END, 1)[1]
    return f"{head}{START}\n{render_markdown()}{END}{tail}"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    if "--update-readme" in sys.argv:
        path = Path(__file__).resolve().parent.parent / "README.md"
        path.write_text(update_readme(path.read_text()))
    else:
        print(render_markdown(), end="")
