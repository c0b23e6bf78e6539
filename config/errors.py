"""Config problems: one line each, naming the full key, the value given and what is allowed.

Messages are sentences: pydantic's own wording and regular expressions never reach the
user, and nothing that is or looks like a secret is ever echoed (config/masking.py).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from config.masking import MASK, masked, scrub_text, secret_like_name
from config.settings import PROJECT, SECRET_KEYS, Settings

# Settings fields that are not stored under the project namespace.
_FOREIGN_KEYS = {"awsRegion": "aws:region"}
_MISSING = object()
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Problem:
    """One bad config value."""

    key: str  # dotted path below the namespace, e.g. "database.instanceClass"
    message: str  # what is allowed / what is wrong
    given: Any = _MISSING
    namespace: str | None = None  # another namespace than the project's (e.g. a misspelt one); "" for none

    @property
    def has_given(self) -> bool:
        """Whether the problem quotes a given value."""
        return self.given is not _MISSING

    @property
    def full_key(self) -> str:
        """The key as the stack file spells it, namespace included."""
        if self.namespace is not None:
            return f"{self.namespace}:{self.key}" if self.namespace else self.key
        head, _, rest = self.key.partition(".")
        if head in _FOREIGN_KEYS:
            return _FOREIGN_KEYS[head] + (f".{rest}" if rest else "")
        return f"{PROJECT}:{self.key}"

    def __str__(self) -> str:
        if self.given is _MISSING:
            return f"{self.full_key}: {self.message}"
        return f"{self.full_key}: given {_show(self.given)}; {self.message}"


def without_secrets(problem: Problem) -> Problem:
    """The problem with every secret-looking part masked: by key name and by value shape."""
    path = re.split(r"[.\[\]\"]+", problem.key)
    given = problem.given
    if problem.has_given and given != MASK:
        hidden = any(secret_like_name(part, SECRET_KEYS) for part in path if part)
        given = MASK if hidden else masked(given, SECRET_KEYS)
    return replace(problem, key=scrub_text(problem.key), message=scrub_text(problem.message), given=given)


class ConfigError(Exception):
    """Raised before any resource is registered when the stack config is invalid."""

    def __init__(self, problems: list[Problem]):
        self.problems = [without_secrets(p) for p in problems]
        count = len(self.problems)
        super().__init__(
            f"invalid stack config ({count} problem{'s' if count != 1 else ''}):\n"
            + "\n".join(f"  {p}" for p in self.problems)
        )


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        elif not out or _PLAIN_KEY.fullmatch(str(part)):
            out += ("." if out else "") + str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
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


def _aliases(model: type[BaseModel] | None) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


def unknown_key_message(name: str, allowed: list[str]) -> str:
    """'unknown key; did you mean X? allowed here: ...' for a key no model declares."""
    head = name.split(".", 1)[0]
    if "." in name and head in allowed:
        return (
            f"unknown key: nested keys live inside the {head} object; "
            f"set them with pulumi config set --path '{name}' VALUE"
        )
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown key; {hint}allowed here: " + ", ".join(allowed)


def _choices(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" as "a, b, c"."""
    return ", ".join(single or number for single, number in re.findall(r"'([^']*)'|(-?\d+)", expected))


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a map of keys"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    return "text"


_SINGULAR = {"items": "item", "entries": "entry", "characters": "character"}


def _count(number: Any, plural: str) -> str:
    return f"{number} {_SINGULAR[plural] if number == 1 else plural}"


def _sentence(kind: str, ctx: dict[str, Any], value: Any, model: type[BaseModel] | None) -> str:
    """What is allowed, in words, for one pydantic error type."""
    items = "entries" if ctx.get("field_type") == "Dictionary" else "items"
    if kind == "string_type" and isinstance(value, float):
        return (
            "YAML reads this unquoted value as a number and may drop digits (1.30 becomes 1.3); "
            'write it in quotes, e.g. "1.30"'
        )
    sentences = {
        "string_type": f"expected text, not {_kind_of(value)}",
        "int_type": f"expected a whole number, not {_kind_of(value)}",
        "int_parsing": "expected a whole number such as 30",
        "int_from_float": "expected a whole number, without a fraction",
        "float_type": "expected a number",
        "float_parsing": "expected a number",
        "bool_type": "expected true or false",
        "bool_parsing": "expected true or false",
        "list_type": "expected a list, e.g. [a, b] or one '- item' line per entry",
        "dict_type": "expected a map of keys, e.g. {key: value} or one 'key: value' line per entry",
        "model_type": "expected a map with the keys " + ", ".join(_aliases(model)),
        "model_attributes_type": "expected a map with the keys " + ", ".join(_aliases(model)),
        "too_short": f"expected at least {_count(ctx.get('min_length'), items)}",
        "too_long": f"expected at most {_count(ctx.get('max_length'), items)}",
        "string_too_short": f"expected at least {_count(ctx.get('min_length'), 'characters')}",
        "string_too_long": f"expected at most {_count(ctx.get('max_length'), 'characters')}",
        "greater_than_equal": f"expected at least {ctx.get('ge')}",
        "greater_than": f"expected more than {ctx.get('gt')}",
        "less_than_equal": f"expected at most {ctx.get('le')}",
        "less_than": f"expected less than {ctx.get('lt')}",
        "literal_error": "expected one of " + _choices(str(ctx.get("expected", ""))),
        "enum": "expected one of " + _choices(str(ctx.get("expected", ""))),
        "none_required": "expected no value here",
    }
    return sentences.get(kind, "not an allowed value here")


def problems_from_validation(error: ValidationError) -> list[Problem]:
    """Translate pydantic errors into Problems, one per error, in words."""
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        key = _dotted(loc)
        kind = item["type"]
        is_key = bool(loc) and loc[-1] == "[key]"
        if kind == "missing":
            _, field = _field_at(loc)
            allowed = f" ({field.description})" if field and field.description else ""
            problems.append(Problem(key, f"required key is missing{allowed}"))
        elif kind == "extra_forbidden":
            model, _ = _field_at(loc[:-1])
            names = _aliases(model)
            if len(loc) == 1:
                names += SECRET_KEYS
            names = sorted(n for n in names if n not in _FOREIGN_KEYS)
            problems.append(Problem(key, unknown_key_message(str(loc[-1]), names), item["input"]))
        elif kind in ("value_error", "assertion_error"):
            message = str(item["ctx"]["error"]) if "ctx" in item else "not an allowed value here"
            problems.append(Problem(key, message) if is_key else Problem(key, message, item["input"]))
        else:
            model, field = _field_at(loc)
            message = _sentence(kind, item.get("ctx", {}), item["input"], model)
            if is_key:
                problems.append(Problem(key, "key not allowed: " + message))
                continue
            allowed = f"; allowed: {field.description}" if field and field.description else ""
            problems.append(Problem(key, message + allowed, item["input"]))
    return problems
