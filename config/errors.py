"""Config problems: one line each, naming the full key, the value given and what is allowed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from config.settings import PROJECT, SECRET_KEYS, Settings

# Settings fields that are not stored under the project namespace.
_FOREIGN_KEYS = {"awsRegion": "aws:region"}
_MISSING = object()


@dataclass(frozen=True)
class Problem:
    """One bad config value."""

    key: str  # dotted path below the namespace, e.g. "database.instanceClass"
    message: str  # what is allowed / what is wrong
    given: Any = _MISSING

    @property
    def has_given(self) -> bool:
        """Whether the problem quotes a given value."""
        return self.given is not _MISSING

    @property
    def full_key(self) -> str:
        head, _, rest = self.key.partition(".")
        if head in _FOREIGN_KEYS:
            return _FOREIGN_KEYS[head] + (f".{rest}" if rest else "")
        return f"{PROJECT}:{self.key}"

    def __str__(self) -> str:
        if self.given is _MISSING:
            return f"{self.full_key}: {self.message}"
        return f"{self.full_key}: given {_show(self.given)}; {self.message}"


class ConfigError(Exception):
    """Raised before any resource is registered when the stack config is invalid."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(
            f"invalid stack config ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n"
            + "\n".join(f"  {p}" for p in problems)
        )


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _field_at(loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """Walk the Settings model along ``loc`` (aliases); return (model class, field info) of the last part."""
    model: type[BaseModel] | None = Settings
    field = None
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        by_alias = {f.alias or name: f for name, f in model.model_fields.items()}
        field = by_alias.get(str(part))
        if field is None:
            return model, None
        model = _model_of(field.annotation)
    return model, field


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found:
            return found
    return None


def problems_from_validation(error: ValidationError) -> list[Problem]:
    """Translate pydantic errors into Problems, one per error."""
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        key = _dotted(loc)
        kind = item["type"]
        if kind == "missing":
            _, field = _field_at(loc)
            allowed = f" ({field.description})" if field and field.description else ""
            problems.append(Problem(key, f"required key is missing{allowed}"))
        elif kind == "extra_forbidden":
            model, _ = _field_at(loc[:-1])
            names = [f.alias or n for n, f in model.model_fields.items()] if model else []
            if len(loc) == 1:
                names += SECRET_KEYS
            names = sorted(n for n in names if n not in _FOREIGN_KEYS)
            problems.append(Problem(key, "unknown key; allowed here: " + ", ".join(names), item["input"]))
        elif kind == "value_error":
            message = str(item["ctx"]["error"]) if "ctx" in item else item["msg"]
            problems.append(Problem(key, message, item["input"]))
        else:
            _, field = _field_at(loc)
            allowed = f"; allowed: {field.description}" if field and field.description else ""
            message = item["msg"][0].lower() + item["msg"][1:]
            problems.append(Problem(key, message + allowed, item["input"]))
    return problems
